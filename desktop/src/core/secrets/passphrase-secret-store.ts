import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SottoError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { unwrapKey, WrappedKeySchema, wrapKey } from './key-wrap.js';
import type { SecretStore } from './secret-store.js';

const LABEL = 'sotto-passphrase-v1';
export const PASSPHRASE_FILE = 'db-key.passphrase.json';

/**
 * For machines without a keychain: the random database key is wrapped under a key derived from an
 * explicit passphrase (SOTTO_DB_PASSPHRASE) with scrypt and kept in the profile folder. It holds that one
 * key only; the relay device credentials stay inside the encrypted database.
 */
export class PassphraseSecretStore implements SecretStore {
  readonly kind = 'passphrase';
  readonly deviceCredentials = 'database';

  constructor(
    private readonly profileDir: string,
    private readonly passphrase: string,
  ) {
    if (passphrase.length < 8) {
      throw new SottoError('invalid_argument', 'SOTTO_DB_PASSPHRASE must be at least 8 characters');
    }
  }

  #file(): string {
    return join(this.profileDir, PASSPHRASE_FILE);
  }

  async get(_account: string): Promise<string | null> {
    if (!existsSync(this.#file())) {
      return null;
    }
    const wrapped = WrappedKeySchema.parse(JSON.parse(readFileSync(this.#file(), 'utf8')));
    return unwrapKey(wrapped, this.passphrase, LABEL, 'wrong_key').toString('base64');
  }

  async set(_account: string, secret: string): Promise<void> {
    writeFileAtomic(
      this.#file(),
      `${JSON.stringify(wrapKey(Buffer.from(secret, 'base64'), this.passphrase, LABEL), null, 2)}\n`,
    );
  }

  async delete(_account: string): Promise<boolean> {
    const existed = existsSync(this.#file());
    rmSync(this.#file(), { force: true });
    return existed;
  }
}
