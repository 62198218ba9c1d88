import { KeytarSecretStore } from './keytar-secret-store.js';
import { PassphraseSecretStore } from './passphrase-secret-store.js';
import type { SecretStore } from './secret-store.js';

/** SOTTO_DB_PASSPHRASE set → passphrase-wrapped key in the profile folder; otherwise the OS keychain. */
export function defaultSecretStore(profileDir: string, env: NodeJS.ProcessEnv = process.env): SecretStore {
  const passphrase = env.SOTTO_DB_PASSPHRASE;
  if (passphrase) {
    return new PassphraseSecretStore(profileDir, passphrase);
  }
  return new KeytarSecretStore();
}
