import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SottoError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { unwrapKey, type WrappedKey, WrappedKeySchema, wrapKey } from './key-wrap.js';

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

export function writeRecoveryFile(path: string, dbKey: Uint8Array, recoveryKey: string): void {
  const wrapped = wrapKey(dbKey, normalizeRecoveryKey(recoveryKey), LABEL);
  writeFileAtomic(path, `${JSON.stringify(wrapped, null, 2)}\n`);
}

export function readRecoveryFile(path: string, recoveryKey: string): Buffer {
  if (!existsSync(path)) {
    throw new SottoError('no_profile', 'this profile has no recovery file');
  }
  const wrapped: WrappedKey = WrappedKeySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  return unwrapKey(wrapped, normalizeRecoveryKey(recoveryKey), LABEL);
}
