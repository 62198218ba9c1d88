import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Every way the relay is started, with the Node flags it must carry: production (`npm run relay`, the
 * package's start script, the container) and what measures or tests it (bench:relay, the desktop integration
 * tests). Node takes these flags only on its command line, so each launch line spells them out.
 */
const LAUNCH_LINES = [
  'package.json',
  'relay/package.json',
  'relay/Dockerfile',
  'relay/bench/relay-bench.ts',
  'desktop/test/integration/support/relay-process.ts',
];

describe('relay launch lines', () => {
  it('all start the relay with the same young-generation size, so benches and tests measure what runs in production', async () => {
    const sizes = await Promise.all(
      LAUNCH_LINES.map(async (file) => {
        const text = await readFile(join(ROOT, file), 'utf8');
        return [...text.matchAll(/--max-semi-space-size=(\d+)/g)].map((m) => `${file}: ${m[1]}`);
      }),
    );
    for (const [i, found] of sizes.entries()) {
      expect(found, `${LAUNCH_LINES[i]} starts the relay without --max-semi-space-size`).toHaveLength(1);
    }
    expect(new Set(sizes.flat().map((s) => s.split(': ')[1])).size, sizes.flat().join(', ')).toBe(1);
  });
});
