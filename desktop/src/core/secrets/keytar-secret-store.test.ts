import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeytarSecretStore } from './keytar-secret-store.js';

// Needs a Secret Service on D-Bus: `npm test` starts a private session with an unlocked gnome-keyring.
describe('keytar secret store (real Secret Service)', () => {
  it.runIf(Boolean(process.env.DBUS_SESSION_BUS_ADDRESS))(
    'stores, reads and deletes one entry per profile',
    async () => {
      const store = new KeytarSecretStore();
      const account = `profile:test-${randomUUID()}`;
      const other = `profile:test-${randomUUID()}`;
      expect(await store.get(account)).toBeNull();
      await store.set(account, 'c2VjcmV0LWtleQ==');
      await store.set(other, 'b3RoZXI=');
      expect(await store.get(account)).toBe('c2VjcmV0LWtleQ==');
      expect(await store.get(other)).toBe('b3RoZXI=');
      expect(await store.delete(account)).toBe(true);
      expect(await store.get(account)).toBeNull();
      expect(await store.delete(other)).toBe(true);
    },
  );
});
