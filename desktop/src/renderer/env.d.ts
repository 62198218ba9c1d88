import type { SottoApi } from '../ipc/contract.js';

declare global {
  interface Window {
    sotto: SottoApi;
  }
}
