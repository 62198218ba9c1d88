import { app, type BrowserWindow, ipcMain } from 'electron';
import { type ChannelInput, type ChannelOutput, type InvokeChannel, invokeChannels } from '../ipc/contract.js';

type Handlers = { [C in InvokeChannel]: (input: ChannelInput<C>) => Promise<ChannelOutput<C>> };

const handlers: Handlers = {
  'app:info': async () => ({ version: app.getVersion(), platform: process.platform }),
};

/** Registers every channel: checks the sender is one of our windows, validates input, wraps the result. */
export function registerIpcHandlers(windows: () => BrowserWindow[]): void {
  for (const channel of Object.keys(invokeChannels) as InvokeChannel[]) {
    ipcMain.handle(channel, async (event, raw: unknown) => {
      const fromOurWindow = windows().some((w) => w.webContents.id === event.sender.id);
      if (!fromOurWindow || event.senderFrame !== event.sender.mainFrame) {
        return { ok: false, error: { code: 'forbidden', message: 'unknown sender' } };
      }
      const parsed = invokeChannels[channel].input.safeParse(raw);
      if (!parsed.success) {
        return { ok: false, error: { code: 'bad_request', message: parsed.error.message } };
      }
      try {
        const handler = handlers[channel] as (input: unknown) => Promise<unknown>;
        return { ok: true, value: await handler(parsed.data) };
      } catch (err) {
        return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
      }
    });
  }
}
