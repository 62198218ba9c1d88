import { type Content, ContentSchema, MAX_ENVELOPE_BYTES } from '@sotto/shared-types';
import { SottoError } from '../errors.js';
import type { MessageView } from '../messenger-types.js';
import { PADDING_BLOCK, pad, unpad } from '../protocol/padding.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The largest padded plaintext sent in one envelope: the relay takes MAX_ENVELOPE_BYTES of ciphertext,
 * and libsignal adds its header, MAC and, on a prekey message, the PQXDH keys (about 1.7 KiB).
 */
export const MAX_PLAINTEXT_BYTES = MAX_ENVELOPE_BYTES - 4 * 1024;

/**
 * Content as JSON, or why it cannot be sent: it must match the contract and, padded, fit one envelope (a
 * text within MAX_TEXT_LENGTH characters can still exceed it when it is mostly escaped characters).
 */
function serialize(content: Content): { json: string } | { reason: string } {
  const parsed = ContentSchema.safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { reason: `it does not match the message contract (${issue?.path.join('.')}: ${issue?.message})` };
  }
  const json = JSON.stringify(parsed.data);
  const padded = Math.ceil((Buffer.byteLength(json) + 1) / PADDING_BLOCK) * PADDING_BLOCK;
  return padded > MAX_PLAINTEXT_BYTES ? { reason: 'it is too large for one message' } : { json };
}

/**
 * The JSON the outbox stores for `content`, checked before it is queued so the outbox holds no poison
 * (`invalid_argument` when it cannot be sent).
 */
export function sendableJson(content: Content): string {
  const result = serialize(content);
  if ('reason' in result) {
    throw new SottoError('invalid_argument', `cannot send this: ${result.reason}`);
  }
  return result.json;
}

/** Content → JSON → padded bytes, ready for libsignal. Unsendable content is `invalid_content`. */
export function encodeContent(content: Content): Uint8Array<ArrayBuffer> {
  const result = serialize(content);
  if ('reason' in result) {
    throw new SottoError('invalid_content', `cannot send this content: ${result.reason}`);
  }
  return pad(encoder.encode(result.json));
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

/**
 * One of our text messages as it was written (same id, time, quote and disappearing timer), to send it
 * again: after a failure (Composer.resend), or when its reader could not decrypt it (a resend request). The
 * same id means a copy that did arrive the first time is not shown twice.
 */
export function ownTextContent(message: MessageView, senderUsername: string): Content {
  const expires = message.expiresAt === null ? 0 : Math.round((message.expiresAt - message.sentAt) / 1000);
  const base = {
    id: message.id,
    body: message.body,
    sentAt: message.sentAt,
    senderUsername,
    ...(expires > 0 ? { expiresInSeconds: expires } : {}),
  };
  return message.quote ? { kind: 'reply', ...base, quote: message.quote } : { kind: 'text', ...base };
}
