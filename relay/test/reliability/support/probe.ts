import { randomBytes } from 'node:crypto';

/**
 * The opaque "ciphertext" of relay-level tests: who sent it and its place in the conversation, padded
 * with random bytes. The relay never looks inside; the receivers use it to find losses and reordering.
 */
export function encodeProbe(sender: string, seq: number, padBytes = 64): string {
  const body = JSON.stringify({ s: sender, n: seq, p: randomBytes(padBytes).toString('base64') });
  return Buffer.from(body).toString('base64');
}

export function decodeProbe(content: string): { sender: string; seq: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(content, 'base64').toString()) as { s?: unknown; n?: unknown };
    if (typeof parsed.s === 'string' && typeof parsed.n === 'number') {
      return { sender: parsed.s, seq: parsed.n };
    }
  } catch {
    // not a probe
  }
  return undefined;
}
