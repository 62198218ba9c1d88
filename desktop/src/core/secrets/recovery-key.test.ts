import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SottoError } from '../errors.js';
import { generateRecoveryKey, normalizeRecoveryKey, readRecoveryFile, writeRecoveryFile } from './recovery-key.js';

const dir = mkdtempSync(join(tmpdir(), 'sotto-recovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recovery key', () => {
  it('is a grouped code of 8 × 4 characters, different every time', () => {
    const a = generateRecoveryKey();
    expect(a).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(generateRecoveryKey()).not.toBe(a);
  });

  it('accepts sloppy typing: case, spaces, look-alike letters', () => {
    const key = generateRecoveryKey();
    const sloppy = key.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    expect(normalizeRecoveryKey(sloppy)).toBe(key.replace(/-/g, ''));
    expect(() => normalizeRecoveryKey('too-short')).toThrow(SottoError);
  });

  it('wraps the database key (AES-256-GCM under scrypt); only the right code unwraps it', () => {
    const dbKey = randomBytes(32);
    const code = generateRecoveryKey();
    const file = join(dir, 'recovery.json');
    writeRecoveryFile(file, dbKey, code);
    const stored = readFileSync(file, 'utf8');
    expect(stored).not.toContain(dbKey.toString('base64'));
    expect(stored).not.toContain(dbKey.toString('hex'));
    expect(JSON.parse(stored)).toMatchObject({ cipher: 'aes-256-gcm', kdf: { name: 'scrypt' } });
    expect(readRecoveryFile(file, code).equals(dbKey)).toBe(true);
    let caught: unknown;
    try {
      readRecoveryFile(file, generateRecoveryKey());
    } catch (error) {
      caught = error;
    }
    expect(SottoError.is(caught, 'invalid_recovery_key')).toBe(true);
  });
});
