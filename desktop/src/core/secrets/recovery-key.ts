import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { SottoError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { SealedSecretSchema, unwrapKeyAndExtras, WrappedKeySchema, wrapKey } from './key-wrap.js';

/** Crockford base32: no I, L, O, U, so a code read aloud or retyped survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RECOVERY_BYTES = 20; // 160 bits → 32 characters → 8 groups of 4
const LABEL = 'sotto-recovery-v1';

function toBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += ALPHABET[(value << (5 - bits)) & 31];
  }
  return out;
}

/** A fresh recovery key, formatted `ABCD-EFGH-…` (8 groups of 4). Shown once; never stored in clear. */
export function generateRecoveryKey(): string {
  return (toBase32(randomBytes(RECOVERY_BYTES)).match(/.{4}/g) ?? []).join('-');
}

/** Accepts any spacing, dashes and case; maps the look-alikes Crockford allows (O→0, I/L→1). */
export function normalizeRecoveryKey(input: string): string {
  const cleaned = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (cleaned.length !== 32 || [...cleaned].some((c) => !ALPHABET.includes(c))) {
    throw new SottoError('invalid_recovery_key', 'a recovery key is 32 characters in 8 groups of 4');
  }
  return cleaned;
}

const RecoveryFileSchema = WrappedKeySchema.extend({
  /** Sealed under the same recovery-derived key: `deviceSecret` (the relay device secret, keychain profiles). */
  extras: z.record(z.string(), SealedSecretSchema).optional(),
});

export interface Recovered {
  dbKey: Buffer;
  /** The relay device secret, when the recovery file holds it (profiles that keep it in the keychain). */
  deviceSecret: string | undefined;
}

/** Wraps the database key (and the device secret, if given) under the recovery key, in one file. */
export function writeRecoveryFile(path: string, dbKey: Uint8Array, recoveryKey: string, deviceSecret?: string): void {
  const extras: Record<string, Uint8Array> =
    deviceSecret === undefined ? {} : { deviceSecret: Buffer.from(deviceSecret, 'utf8') };
  const wrapped = wrapKey(dbKey, normalizeRecoveryKey(recoveryKey), LABEL, extras);
  writeFileAtomic(path, `${JSON.stringify(wrapped, null, 2)}\n`);
}

export function readRecovery(path: string, recoveryKey: string): Recovered {
  if (!existsSync(path)) {
    throw new SottoError('no_profile', 'this profile has no recovery file');
  }
  const file = RecoveryFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  const opened = unwrapKeyAndExtras(file, file.extras ?? {}, normalizeRecoveryKey(recoveryKey), LABEL);
  return { dbKey: opened.key, deviceSecret: opened.extras.deviceSecret?.toString('utf8') };
}

export function readRecoveryFile(path: string, recoveryKey: string): Buffer {
  return readRecovery(path, recoveryKey).dbKey;
}
