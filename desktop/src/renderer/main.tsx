import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './features/app/App.js';
import { initI18n } from './i18n/index.js';
import './styles.css';

async function start(): Promise<void> {
  const container = document.getElementById('root');
  if (!container) {
    throw new Error('index.html is missing #root');
  }
  await initI18n();
  createRoot(container).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
