import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const prebuilt = ['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64'].includes(
  `${process.platform}-${process.arch}`,
);

/**
 * Every frame a client sends is masked and the relay unmasks it; `ws` does that in a JavaScript byte loop
 * unless bufferutil loads. With it, the relay spends about a fifth less CPU per message (bench:relay).
 * bufferutil's install script is off (allowScripts), so this guards that its shipped build still loads.
 */
describe.runIf(prebuilt && !process.env.WS_NO_BUFFER_UTIL)('ws frame masking', () => {
  it('uses bufferutil native code, as ws resolves it from the relay', () => {
    const wsRequire = createRequire(require.resolve('ws'));
    const { mask, unmask } = wsRequire('bufferutil') as { mask: () => void; unmask: () => void };
    expect(String(mask)).toContain('[native code]');
    expect(String(unmask)).toContain('[native code]');
  });
});
