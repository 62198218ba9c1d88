import { writeFile } from 'node:fs/promises';
import { app, type BrowserWindow, clipboard, dialog } from 'electron';
import type { Handlers } from './dispatch.js';
import type { OpenRequests } from './open-requests.js';
import { openExternal } from './security.js';
import type { SettingsStore } from './settings-store.js';

export type AppHandlers = Pick<
  Handlers,
  | 'app:info'
  | 'app:open-external'
  | 'app:copy-text'
  | 'app:save-text'
  | 'app:focus-conversation'
  | 'app:take-open-request'
  | 'settings:get'
  | 'settings:set'
>;

export interface AppHandlerOptions {
  settings: SettingsStore;
  window: () => BrowserWindow | null;
  setFocusedConversation: (conversationId: string | null) => void;
  openRequests: OpenRequests;
}

/** The Electron-side channels: app info, links, the save dialog, focus, open requests, settings. */
export function createAppHandlers(options: AppHandlerOptions): AppHandlers {
  return {
    'app:info': () => ({ version: app.getVersion(), platform: process.platform }),
    'app:open-external': async ({ url }) => {
      await openExternal(url);
    },
    'app:copy-text': ({ text }) => clipboard.writeText(text),
    'app:save-text': async ({ suggestedName, text }) => {
      const window = options.window();
      const dialogOptions = { defaultPath: suggestedName, filters: [{ name: 'Text', extensions: ['txt'] }] };
      const result = window
        ? await dialog.showSaveDialog(window, dialogOptions)
        : await dialog.showSaveDialog(dialogOptions);
      if (result.canceled || !result.filePath) {
        return { saved: false };
      }
      await writeFile(result.filePath, text, { mode: 0o600 });
      return { saved: true };
    },
    'app:focus-conversation': ({ conversationId }) => options.setFocusedConversation(conversationId),
    'app:take-open-request': () => options.openRequests.take(),
    'settings:get': () => options.settings.get(),
    'settings:set': (patch) => options.settings.update(patch),
  };
}
