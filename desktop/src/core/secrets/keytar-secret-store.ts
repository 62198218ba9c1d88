import { createRequire } from 'node:module';
import { SottoError } from '../errors.js';
import type { SecretStore } from './secret-store.js';

export const KEYCHAIN_SERVICE = 'Sotto';

type Keytar = typeof import('keytar');

/**
 * The OS keychain (Secret Service, macOS Keychain, Windows Credential Vault): service `Sotto`, one entry
 * per profile and kind of secret (the database key, the relay device secret).
 */
export class KeytarSecretStore implements SecretStore {
  readonly kind = 'keychain';
  readonly deviceCredentials = 'secret_store';
  #keytar: Keytar | undefined;

  #load(): Keytar {
    if (!this.#keytar) {
      try {
        // keytar is a native CommonJS module: load it lazily so headless machines can use a passphrase instead.
        this.#keytar = createRequire(import.meta.url)('keytar') as Keytar;
      } catch (cause) {
        throw new SottoError('no_secret_store', 'the OS keychain module could not be loaded', { cause });
      }
    }
    return this.#keytar;
  }

  async #call<T>(fn: (keytar: Keytar) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#load());
    } catch (cause) {
      if (cause instanceof SottoError) {
        throw cause;
      }
      throw new SottoError(
        'no_secret_store',
        'no OS keychain answered (no Secret Service on D-Bus?): unlock your keyring, or set SOTTO_DB_PASSPHRASE to use a passphrase instead',
        { cause },
      );
    }
  }

  get(account: string): Promise<string | null> {
    return this.#call((k) => k.getPassword(KEYCHAIN_SERVICE, account));
  }

  set(account: string, secret: string): Promise<void> {
    return this.#call((k) => k.setPassword(KEYCHAIN_SERVICE, account, secret));
  }

  delete(account: string): Promise<boolean> {
    return this.#call((k) => k.deletePassword(KEYCHAIN_SERVICE, account));
  }
}
