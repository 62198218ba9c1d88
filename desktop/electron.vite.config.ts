import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

const sourceConditions = { resolve: { conditions: ['source', 'import', 'module', 'default'] } };

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
    plugins: [react()],
    build: {
      rollupOptions: { input: { index: resolve(import.meta.dirname, 'src/renderer/index.html') } },
    },
  },
});
