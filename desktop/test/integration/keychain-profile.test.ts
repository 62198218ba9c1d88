import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { KeytarSecretStore } from '../../src/core/secrets/keytar-secret-store.js';
import { getProfile } from '../../src/core/store/profile-queries.js';
import { downgradeToDatabaseSecret, openProfileDb, profileIdOf, tablesContaining } from './support/credentials.js';
import { tempDir } from './support/helpers.js';
import { MemoryRelay } from './support/memory-relay.js';

// Real Secret Service (gnome-keyring on a private D-Bus session, as `npm test` provides).
describe('profile key in the OS keychain', () => {
  it.runIf(Boolean(process.env.DBUS_SESSION_BUS_ADDRESS))(
    'ready → locked when the keychain loses the entry → unlock with the recovery key puts it back',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      const relay = new MemoryRelay();
      const keychain = new KeytarSecretStore();
      const profile = new Profile(dir.path, { secretStore: keychain, relayFactory: () => relay.client() });
      try {
        expect(await profile.state()).toBe('none');
        const { messenger, recoveryKey } = await profile.registerMessenger({
          relayUrl: 'memory://',
          username: 'keyring_user',
        });
        await messenger.close();
        expect(await profile.state()).toBe('ready');
        const { profileId } = JSON.parse(readFileSync(join(dir.path, 'profile.json'), 'utf8')) as { profileId: string };
        const account = `profile:${profileId}`;
        const stored = await keychain.get(account);
        expect(stored).toMatch(/^[A-Za-z0-9+/]{43}=$/);

        await keychain.delete(account); // e.g. a reinstalled keyring
        expect(await profile.state()).toBe('locked');
        await expect(profile.openMessenger()).rejects.toMatchObject({ code: 'locked' });

        const unlocked = await profile.unlockMessenger(recoveryKey);
        expect(unlocked.profile().username).toBe('keyring_user');
        await unlocked.close();
        expect(await keychain.get(account)).toBe(stored);
        expect(await profile.state()).toBe('ready');
        await profile.wipe();
        expect(await profile.state()).toBe('none');
        expect(await keychain.get(account)).toBeNull();
      } finally {
        dir.remove();
      }
    },
  );

  it.runIf(Boolean(process.env.DBUS_SESSION_BUS_ADDRESS))(
    'keeps the relay device secret in the keychain, in no table, moves an old one there, logs in after restart',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      const relay = new MemoryRelay();
      const keychain = new KeytarSecretStore();
      const open = () => new Profile(dir.path, { secretStore: keychain, relayFactory: () => relay.client() });
      const logsIn = async () => {
        const messenger = await open().openMessenger();
        try {
          await messenger.connect({ timeoutMs: 5000 });
          await messenger.maintainKeys(); // authenticated relay calls: fails on a wrong device secret
          return messenger.connectionState();
        } finally {
          await messenger.close();
        }
      };
      try {
        const { messenger } = await open().registerMessenger({ relayUrl: 'memory://', username: 'keyring_dev' });
        await messenger.close();
        const accounts = secretAccounts(profileIdOf(dir.path));
        expect(accounts.deviceSecret).not.toBe(accounts.dbKey);
        const secret = (await keychain.get(accounts.deviceSecret)) ?? '';
        expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const db = await openProfileDb(dir.path, keychain);
        expect(getProfile(db)?.deviceSecret).toBeNull();
        expect(tablesContaining(db, secret)).toEqual([]);
        db.close();
        expect(await logsIn()).toBe('online'); // a new Profile, as after a restart

        // A profile written by the previous version: secret in the database, none in the keychain.
        await downgradeToDatabaseSecret(dir.path, keychain);
        expect(await keychain.get(accounts.deviceSecret)).toBeNull();
        expect(await logsIn()).toBe('online');
        expect(await keychain.get(accounts.deviceSecret)).toBe(secret);
        const migrated = await openProfileDb(dir.path, keychain);
        expect(tablesContaining(migrated, secret)).toEqual([]);
        migrated.close();

        await open().wipe();
        expect(await keychain.get(accounts.deviceSecret)).toBeNull();
        expect(await keychain.get(accounts.dbKey)).toBeNull();
      } finally {
        dir.remove();
      }
    },
  );
});
