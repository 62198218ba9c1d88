import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './features/app/App.js';

const container = document.getElementById('root');
if (!container) {
  throw new Error('index.html is missing #root');
}
createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
