/**
 * Pads plaintext to a multiple of BLOCK bytes before encryption so ciphertext lengths reveal only a
 * coarse size class: content, then 0x80, then zeros (ISO/IEC 7816-4), as Signal does.
 */
export const PADDING_BLOCK = 256;

export function pad(plaintext: Uint8Array, block = PADDING_BLOCK): Uint8Array<ArrayBuffer> {
  const size = Math.ceil((plaintext.byteLength + 1) / block) * block;
  const out = new Uint8Array(size);
  out.set(plaintext);
  out[plaintext.byteLength] = 0x80;
  return out;
}

export function unpad(padded: Uint8Array): Uint8Array<ArrayBuffer> {
  for (let i = padded.byteLength - 1; i >= 0; i--) {
    const byte = padded[i];
    if (byte === 0x80) {
      return padded.slice(0, i) as Uint8Array<ArrayBuffer>;
    }
    if (byte !== 0) {
      break;
    }
  }
  throw new Error('invalid padding');
}
