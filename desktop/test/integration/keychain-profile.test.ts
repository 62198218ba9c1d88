import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { KeytarSecretStore } from '../../src/core/secrets/keytar-secret-store.js';
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
});
