import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const sourceConditions = { resolve: { conditions: ['source', 'import', 'module', 'default'] } };

/**
 * Dev server only: React Refresh injects an inline preamble and HMR talks over a WebSocket, so the
 * CSP meta is relaxed for `electron-vite dev`. Production builds keep index.html's strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'sotto-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws://localhost:* ws://127.0.0.1:*"),
  };
}

export default defineConfig({
  main: {
    ...sourceConditions,
    build: {
      // Workspace packages are bundled; native modules (libsignal, SQLite, keytar) stay external.
      externalizeDeps: { exclude: ['@sotto/shared-types'] },
      rollupOptions: { input: { index: resolve(import.meta.dirname, 'src/main/index.ts') } },
    },
  },
  preload: {
    ...sourceConditions,
    build: {
      // A sandboxed preload may only require('electron'): bundle everything else, emit CommonJS.
      externalizeDeps: false,
      isolatedEntries: true,
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'src/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...sourceConditions,
    root: resolve(import.meta.dirname, 'src/renderer'),
    plugins: [react(), devCsp()],
    build: {
      // Everything is local (file://): no module preload polyfill fetches, no remote chunks.
      modulePreload: false,
      chunkSizeWarningLimit: 1500,
      rollupOptions: { input: { index: resolve(import.meta.dirname, 'src/renderer/index.html') } },
    },
  },
});
