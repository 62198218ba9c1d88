import { app } from 'electron';
import electronUpdater from 'electron-updater';
import { log, toLogFormat } from './log.js';

/**
 * Checks the `publish` URL from electron-builder.yml (baked into app-update.yml at packaging).
 * Only in packaged builds: never in dev, never when SOTTO_DISABLE_UPDATES is set.
 */
export function startAutoUpdates(): void {
  if (!app.isPackaged || process.env.SOTTO_DISABLE_UPDATES) {
    return;
  }
  const { autoUpdater } = electronUpdater;
  autoUpdater.autoDownload = true;
  autoUpdater.autoInstallOnAppQuit = true;
  autoUpdater.on('error', (err) => log.warn('update check failed', { err: toLogFormat(err) }));
  autoUpdater.on('update-downloaded', (info) => log.info('update downloaded', { version: info.version }));
  autoUpdater
    .checkForUpdatesAndNotify()
    .catch((err: unknown) => log.warn('update check failed', { err: toLogFormat(err) }));
}
