import type { IpcMainInvokeEvent, WebContents } from 'electron';
import { ipcMain } from 'electron';
import { invokeChannelNames } from '../ipc/contract.js';
import { createDispatcher, type Handlers } from './dispatch.js';

/** True when the message comes from the main frame of one of our own windows. */
export function isTrustedSender(event: IpcMainInvokeEvent, ours: () => readonly WebContents[]): boolean {
  const fromOurWindow = ours().some((contents) => contents.id === event.sender.id);
  return fromOurWindow && event.senderFrame != null && event.senderFrame === event.sender.mainFrame;
}

/** The one registration helper: checks the sender frame, validates input, wraps the result. */
export function registerIpcHandlers(handlers: Handlers, ours: () => readonly WebContents[]): () => void {
  const dispatch = createDispatcher(handlers);
  for (const channel of invokeChannelNames) {
    ipcMain.handle(channel, async (event, raw: unknown) => {
      if (!isTrustedSender(event, ours)) {
        return { ok: false, error: { code: 'forbidden', message: 'unknown sender' } };
      }
      return dispatch(channel, raw);
    });
  }
  return () => {
    for (const channel of invokeChannelNames) {
      ipcMain.removeHandler(channel);
    }
  };
}
