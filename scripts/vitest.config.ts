import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Kept under scripts/ so the repository's top level stays as ARCHITECTURE.md lays it out.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['{shared-types,relay,desktop}/{src,test}/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/out/**'],
    pool: 'forks',
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
