import { join } from 'node:path';
import { BrowserWindow } from 'electron';
import { hardenContents } from './security.js';

export function rendererUrl(): { kind: 'url' | 'file'; target: string } {
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl && /^http:\/\/(localhost|127\.0\.0\.1):\d+\/?$/.test(devUrl)) {
    return { kind: 'url', target: devUrl };
  }
  return { kind: 'file', target: join(import.meta.dirname, '../renderer/index.html') };
}

/** The one app window. Its web preferences stay a literal here so reviewers and scanners see them. */
export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 640,
    minHeight: 480,
    show: false,
    title: 'Sotto',
    backgroundColor: '#1b1d23',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: true,
      disableBlinkFeatures: 'Auxclick',
    },
  });
  hardenContents(window.webContents);
  window.once('ready-to-show', () => window.show());
  const target = rendererUrl();
  if (target.kind === 'url') {
    void window.loadURL(target.target);
  } else {
    void window.loadFile(target.target);
  }
  return window;
}
