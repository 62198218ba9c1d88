import { afterEach, describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { PassphraseSecretStore } from '../../src/core/secrets/passphrase-secret-store.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { getProfile } from '../../src/core/store/profile-queries.js';
import { downgradeToDatabaseSecret, openProfileDb, profileIdOf, tablesContaining } from './support/credentials.js';
import { tempDir } from './support/helpers.js';
import { MemoryRelay } from './support/memory-relay.js';

// Where the relay device secret lives: a keychain-like store keeps it (never the database); a
// passphrase profile (headless, no keychain) keeps it inside the encrypted database.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) {
    cleanup();
  }
});

function setup(secrets: MemorySecretStore | PassphraseSecretStore, dir = tempDir()) {
  cleanups.push(dir.remove);
  const relay = new MemoryRelay();
  const profile = new Profile(dir.path, { secretStore: secrets, relayFactory: () => relay.client() });
  return { dir: dir.path, relay, profile };
}

/** The relay accepts the device (the in-memory relay checks the device secret on every call). */
async function logsIn(profile: Profile): Promise<boolean> {
  const messenger = await profile.openMessenger();
  try {
    await messenger.connect({ timeoutMs: 5000 });
    await messenger.maintainKeys();
    return messenger.connectionState() === 'online';
  } finally {
    await messenger.close();
  }
}

describe('relay device credentials', () => {
  it('keychain-like store: the secret is in the store, in no table, and the profile logs in after restart', async () => {
    const secrets = new MemorySecretStore();
    const { dir, profile, relay } = setup(secrets);
    const { messenger } = await profile.registerMessenger({ relayUrl: 'memory://', username: 'carol' });
    await messenger.close();
    const accounts = secretAccounts(profileIdOf(dir));
    const secret = await secrets.get(accounts.deviceSecret);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const db = await openProfileDb(dir, secrets);
    expect(getProfile(db)?.deviceSecret).toBeNull();
    expect(tablesContaining(db, secret ?? 'x')).toEqual([]);
    db.close();
    const restarted = new Profile(dir, { secretStore: secrets, relayFactory: () => relay.client() });
    expect(await logsIn(restarted)).toBe(true);

    await restarted.wipe();
    expect(secrets.accounts()).toEqual([]);
  });

  it('moves a secret found in the database (an older profile) into the store on open', async () => {
    const secrets = new MemorySecretStore();
    const { dir, profile } = setup(secrets);
    const { messenger } = await profile.registerMessenger({ relayUrl: 'memory://', username: 'dave' });
    await messenger.close();
    const secret = await downgradeToDatabaseSecret(dir, secrets);
    const before = await openProfileDb(dir, secrets);
    expect(tablesContaining(before, secret)).toEqual(['profile']);
    before.close();

    expect(await logsIn(profile)).toBe(true);
    expect(await secrets.get(secretAccounts(profileIdOf(dir)).deviceSecret)).toBe(secret);
    const after = await openProfileDb(dir, secrets);
    expect(tablesContaining(after, secret)).toEqual([]);
    after.close();
    expect(await logsIn(profile)).toBe(true);
  });

  it('the recovery key restores the device secret too when the keychain lost everything', async () => {
    const secrets = new MemorySecretStore();
    const { dir, profile } = setup(secrets);
    const { messenger, recoveryKey } = await profile.registerMessenger({ relayUrl: 'memory://', username: 'erin' });
    await messenger.close();
    const accounts = secretAccounts(profileIdOf(dir));
    const secret = await secrets.get(accounts.deviceSecret);
    await secrets.delete(accounts.dbKey);
    await secrets.delete(accounts.deviceSecret);
    expect(await profile.state()).toBe('locked');
    const unlocked = await profile.unlockMessenger(recoveryKey);
    await unlocked.close();
    expect(await secrets.get(accounts.deviceSecret)).toBe(secret);
    expect(await logsIn(profile)).toBe(true);
  });

  it('a keychain profile moved to a server (passphrase, no keychain) opens there after one unlock, and from then on', async () => {
    const { dir, profile, relay } = setup(new MemorySecretStore());
    const { messenger, recoveryKey } = await profile.registerMessenger({ relayUrl: 'memory://', username: 'gina' });
    await messenger.close();
    const onServer = () =>
      new Profile(dir, {
        secretStore: new PassphraseSecretStore(dir, 'server passphrase'),
        relayFactory: () => relay.client(),
      });
    await expect(onServer().openMessenger()).rejects.toMatchObject({ code: 'locked' });
    await (await onServer().unlockMessenger(recoveryKey)).close();
    expect(await logsIn(onServer())).toBe(true);
    expect(await logsIn(onServer())).toBe(true);
  });

  it('passphrase profile (no keychain): the secret stays inside the encrypted database', async () => {
    const dir = tempDir();
    const secrets = new PassphraseSecretStore(dir.path, 'headless passphrase');
    const { profile } = setup(secrets, dir);
    const { messenger } = await profile.registerMessenger({ relayUrl: 'memory://', username: 'frank' });
    await messenger.close();
    const db = await openProfileDb(dir.path, secrets);
    const secret = getProfile(db)?.deviceSecret;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    db.close();
    expect(await logsIn(profile)).toBe(true);
    // Opened where the keychain is the default (SOTTO_DB_PASSPHRASE not set): it says to set it.
    const withoutPassphrase = new Profile(dir.path, { secretStore: new MemorySecretStore() });
    await expect(withoutPassphrase.openMessenger()).rejects.toMatchObject({
      code: 'locked',
      message: expect.stringContaining('set SOTTO_DB_PASSPHRASE'),
    });
  });
});
