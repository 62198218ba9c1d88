import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PADDING_BLOCK, pad, unpad } from './padding.js';

describe('padding', () => {
  it('round-trips and always lands on a block boundary', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const padded = pad(data);
        expect(padded.byteLength % PADDING_BLOCK).toBe(0);
        expect(padded.byteLength).toBeGreaterThan(data.byteLength);
        expect(Buffer.from(unpad(padded)).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it('hides the exact length inside a block', () => {
    expect(pad(new Uint8Array(10)).byteLength).toBe(pad(new Uint8Array(200)).byteLength);
  });

  it('rejects bytes without a padding marker', () => {
    expect(() => unpad(new Uint8Array([1, 2, 0, 0]))).toThrow(/padding/);
  });
});
