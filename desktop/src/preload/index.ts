import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { type EventChannel, eventChannelNames, invokeChannelNames, type SottoApi } from '../ipc/contract.js';

// Built from the contract's channel lists: one `invoke` per channel, `on` for pushes. Nothing else.
const invoke = Object.fromEntries(
  invokeChannelNames.map((channel) => [channel, (input?: unknown) => ipcRenderer.invoke(channel, input)]),
);

function on(channel: EventChannel, listener: (payload: unknown) => void): () => void {
  if (!eventChannelNames.includes(channel)) {
    throw new Error(`unknown event channel ${String(channel)}`);
  }
  const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

const api = { ...invoke, on } as SottoApi;

contextBridge.exposeInMainWorld('sotto', api);
