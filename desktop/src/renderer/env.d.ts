import type { SottoApi } from '../ipc/contract.js';

declare global {
  interface Window {
    /** The preload bridge, built from the IPC contract (ipc/contract.ts). */
    sotto: SottoApi;
  }
}
