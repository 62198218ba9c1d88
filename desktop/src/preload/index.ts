import { contextBridge, ipcRenderer } from 'electron';
import { type InvokeChannel, invokeChannels, type SottoApi } from '../ipc/contract.js';

const api = Object.fromEntries(
  (Object.keys(invokeChannels) as InvokeChannel[]).map((channel) => [
    channel,
    (input: unknown) => ipcRenderer.invoke(channel, input),
  ]),
) as SottoApi;

contextBridge.exposeInMainWorld('sotto', api);
