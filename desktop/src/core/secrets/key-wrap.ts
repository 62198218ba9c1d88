import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { SottoError } from '../errors.js';

/** scrypt cost: 2^15 × 8 × 1 (32 MiB, ~100 ms here). Stored with each wrap so it can be raised later. */
const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

export const WrappedKeySchema = z.object({
  version: z.literal(1),
  kdf: z.object({
    name: z.literal('scrypt'),
    N: z.int().min(1024),
    r: z.int().min(1),
    p: z.int().min(1),
    salt: z.base64(),
  }),
  cipher: z.literal('aes-256-gcm'),
  iv: z.base64(),
  tag: z.base64(),
  ciphertext: z.base64(),
});
export type WrappedKey = z.infer<typeof WrappedKeySchema>;

/** A further secret sealed under the same derived key as a `WrappedKey` (one scrypt run opens both). */
export const SealedSecretSchema = z.object({ iv: z.base64(), tag: z.base64(), ciphertext: z.base64() });
export type SealedSecret = z.infer<typeof SealedSecretSchema>;

function derive(secret: Uint8Array | string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(secret, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r });
}

function seal(kek: Buffer, data: Uint8Array, label: string): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(label));
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

function open(kek: Buffer, sealed: SealedSecret, label: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(label));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
}

/**
 * AES-256-GCM under a key derived from `secret` with scrypt; the wrapped key is bound to `label`.
 * `extras` are sealed under the same derived key, each bound to `label:name`.
 */
export function wrapKey(
  key: Uint8Array,
  secret: Uint8Array | string,
  label: string,
  extras: Record<string, Uint8Array> = {},
): WrappedKey & { extras?: Record<string, SealedSecret> } {
  const salt = randomBytes(16);
  const kek = derive(secret, salt, DEFAULT_KDF);
  const sealedExtras: Record<string, SealedSecret> = {};
  for (const [name, value] of Object.entries(extras)) {
    sealedExtras[name] = seal(kek, value, `${label}:${name}`);
  }
  return {
    version: 1,
    kdf: { name: 'scrypt', ...DEFAULT_KDF, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm',
    ...seal(kek, key, label),
    ...(Object.keys(sealedExtras).length > 0 ? { extras: sealedExtras } : {}),
  };
}

/** Like `unwrapKey`, and opens the named extras sealed with it (missing ones are left out). */
export function unwrapKeyAndExtras(
  wrapped: WrappedKey,
  extras: Record<string, SealedSecret>,
  secret: Uint8Array | string,
  label: string,
): { key: Buffer; extras: Record<string, Buffer> } {
  const kek = derive(secret, Buffer.from(wrapped.kdf.salt, 'base64'), wrapped.kdf);
  try {
    const key = open(kek, wrapped, label);
    const opened: Record<string, Buffer> = {};
    for (const [name, sealed] of Object.entries(extras)) {
      opened[name] = open(kek, sealed, `${label}:${name}`);
    }
    return { key, extras: opened };
  } catch (cause) {
    throw new SottoError('invalid_recovery_key', 'the recovery key is wrong', { cause });
  }
}

/** Throws `invalid_recovery_key` (or the given code) when the secret is wrong. */
export function unwrapKey(
  wrapped: WrappedKey,
  secret: Uint8Array | string,
  label: string,
  code: 'invalid_recovery_key' | 'wrong_key' = 'invalid_recovery_key',
): Buffer {
  const kek = derive(secret, Buffer.from(wrapped.kdf.salt, 'base64'), wrapped.kdf);
  try {
    return open(kek, wrapped, label);
  } catch (cause) {
    throw new SottoError(code, code === 'wrong_key' ? 'the passphrase is wrong' : 'the recovery key is wrong', {
      cause,
    });
  }
}
