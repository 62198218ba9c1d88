import { type Content, ContentSchema } from '@sotto/shared-types';
import { SottoError } from '../errors.js';
import { pad, unpad } from '../protocol/padding.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Content → JSON → padded bytes, ready for libsignal. */
export function encodeContent(content: Content): Uint8Array<ArrayBuffer> {
  return pad(encoder.encode(JSON.stringify(ContentSchema.parse(content))));
}

/** Decrypted bytes → validated Content. */
export function decodeContent(padded: Uint8Array): Content {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(unpad(padded)));
  } catch (cause) {
    throw new SottoError('invalid_content', 'decrypted content is not padded JSON', { cause });
  }
  const parsed = ContentSchema.safeParse(json);
  if (!parsed.success) {
    throw new SottoError('invalid_content', 'decrypted content does not match the contract', { cause: parsed.error });
  }
  return parsed.data;
}

export function contentTimestamp(content: Content): number {
  return 'sentAt' in content ? content.sentAt : content.at;
}
