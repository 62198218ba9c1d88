import { SottoError } from './errors.js';
import type { SecretStore } from './secrets/secret-store.js';
import { getProfile, setDeviceSecret } from './store/profile-queries.js';
import type { WritableDB } from './store/sql.js';

/**
 * Where a profile's secrets are filed in its SecretStore (service `Sotto` in the OS keychain): one
 * account name per profile and kind of secret.
 */
export const secretAccounts = (profileId: string) => ({
  /** The 256-bit database key (base64). */
  dbKey: `profile:${profileId}`,
  /** The relay device secret, when the store keeps device credentials (`deviceCredentials: 'secret_store'`). */
  deviceSecret: `device-secret:${profileId}`,
});

/** Files a new profile's device secret where its secret store says (called at registration). */
export async function storeDeviceSecret(
  db: WritableDB,
  secrets: SecretStore,
  profileId: string,
  deviceSecret: string,
): Promise<void> {
  if (secrets.deviceCredentials === 'database') {
    setDeviceSecret(db, deviceSecret);
    return;
  }
  await secrets.set(secretAccounts(profileId).deviceSecret, deviceSecret);
  setDeviceSecret(db, null);
}

/**
 * The device secret of an opened profile database. With a keychain, a secret still found in the database
 * (a profile created before it moved) is copied into the keychain, read back, and only then removed from
 * the database: a crash in between leaves it in both places and the next open finishes the move.
 * `fallback` (from the recovery file) is put back into the keychain when the keychain lost it.
 */
export async function loadDeviceSecret(
  db: WritableDB,
  secrets: SecretStore,
  profileId: string,
  fallback?: string,
): Promise<string> {
  const row = getProfile(db);
  if (!row) {
    throw new SottoError('no_profile', 'this database holds no registered profile');
  }
  if (secrets.deviceCredentials === 'database') {
    if (row.deviceSecret !== null) {
      return row.deviceSecret;
    }
    if (!fallback) {
      throw new SottoError(
        'locked',
        'this profile keeps its relay device secret in the OS keychain: open it where that keychain is available, or unlock it here with your recovery key',
      );
    }
    // A keychain profile unlocked where there is none (a server with SOTTO_DB_PASSPHRASE): the secret the
    // recovery key restored is kept in the database from now on, or every later open would be locked again.
    db.transaction(() => setDeviceSecret(db, fallback))();
    return fallback;
  }
  const account = secretAccounts(profileId).deviceSecret;
  if (row.deviceSecret !== null) {
    await secrets.set(account, row.deviceSecret);
    if ((await secrets.get(account)) !== row.deviceSecret) {
      throw new SottoError('no_secret_store', 'the keychain did not keep the relay device secret');
    }
    db.transaction(() => setDeviceSecret(db, null))();
    return row.deviceSecret;
  }
  const stored = await secrets.get(account);
  if (stored) {
    return stored;
  }
  if (fallback) {
    await secrets.set(account, fallback);
    return fallback;
  }
  throw new SottoError(
    'locked',
    'the relay device secret is not in the keychain: unlock with your recovery key (profiles created before it moved there must be registered again)',
  );
}

/** Removes every keychain entry of a profile (wipe). */
export async function deleteProfileSecrets(secrets: SecretStore, profileId: string): Promise<void> {
  const accounts = secretAccounts(profileId);
  await secrets.delete(accounts.dbKey).catch(() => false);
  if (secrets.deviceCredentials === 'secret_store') {
    await secrets.delete(accounts.deviceSecret).catch(() => false);
  }
}
