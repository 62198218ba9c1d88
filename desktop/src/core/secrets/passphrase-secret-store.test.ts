import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SottoError } from '../errors.js';
import { defaultSecretStore } from './default-secret-store.js';
import { PASSPHRASE_FILE, PassphraseSecretStore } from './passphrase-secret-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sotto-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('passphrase secret store', () => {
  it('keeps the random key wrapped under the passphrase, never in clear', async () => {
    const store = new PassphraseSecretStore(dir, 'correct horse battery');
    const key = randomBytes(32).toString('base64');
    expect(await store.get('p')).toBeNull();
    await store.set('p', key);
    expect(readFileSync(join(dir, PASSPHRASE_FILE), 'utf8')).not.toContain(key);
    expect(await store.get('p')).toBe(key);
    let caught: unknown;
    try {
      await new PassphraseSecretStore(dir, 'wrong horse battery').get('p');
    } catch (error) {
      caught = error;
    }
    expect(SottoError.is(caught, 'wrong_key')).toBe(true);
    expect(await store.delete('p')).toBe(true);
    expect(await store.get('p')).toBeNull();
  });

  it('is picked when SOTTO_DB_PASSPHRASE is set, the keychain otherwise', () => {
    expect(defaultSecretStore(dir, { SOTTO_DB_PASSPHRASE: 'long enough pass' }).kind).toBe('passphrase');
    expect(defaultSecretStore(dir, {}).kind).toBe('keychain');
    expect(() => defaultSecretStore(dir, { SOTTO_DB_PASSPHRASE: 'short' })).toThrow(/at least 8/);
  });
});
