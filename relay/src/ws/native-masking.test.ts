import { describe, expect, it } from 'vitest';
import { NATIVE_MASKING, wsMasking } from '../../test/support/ws-masking.js';

const prebuilt = ['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64'].includes(
  `${process.platform}-${process.arch}`,
);

/**
 * Every frame a client sends is masked and the relay unmasks it; `ws` does that in a JavaScript byte loop
 * unless bufferutil loads. bufferutil's install script is off (allowScripts), so this guards that its
 * shipped build still loads.
 */
describe.runIf(prebuilt && !process.env.WS_NO_BUFFER_UTIL)('ws frame masking', () => {
  it('uses bufferutil native code, as ws resolves it from the relay', () => {
    expect(wsMasking()).toBe(NATIVE_MASKING);
  });
});
