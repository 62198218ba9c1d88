import { afterAll, beforeAll } from 'vitest';
import type { Messenger } from '../../../src/core/messenger.js';
import { Profile } from '../../../src/core/profile.js';
import { MemorySecretStore } from '../../../src/core/secrets/secret-store.js';
import { tempDir } from './helpers.js';
import { type RelayProcess, startRelay } from './relay-process.js';

/** A username no other test run on the same relay has. */
export const uniq = (name: string) => `${name}_${Math.random().toString(36).slice(2, 8)}`;

/** People on a test relay, each in a temporary profile; `closeAll` closes them and removes the profiles. */
export class TestUsers {
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  constructor(private readonly relayUrl: () => string) {}

  /** Also done by `closeAll`, in reverse order with everything else. */
  onClose(cleanup: () => Promise<void> | void): void {
    this.#cleanups.push(cleanup);
  }

  async make(username: string, relayUrl = this.relayUrl()): Promise<{ profile: Profile; messenger: Messenger }> {
    const dir = tempDir();
    const profile = new Profile(dir.path, { secretStore: new MemorySecretStore() });
    const { messenger } = await profile.registerMessenger({ relayUrl, username });
    this.onClose(async () => {
      await messenger.close();
      dir.remove();
    });
    return { profile, messenger };
  }

  /** A registered, connected user with its username and account id. */
  async connected(name: string) {
    const username = uniq(name);
    const { profile, messenger } = await this.make(username);
    await messenger.connect();
    const user = { profile, messenger, username, accountId: messenger.profile().accountId };
    this.onClose(() => user.messenger.close()); // the reopened one, when a test replaces it
    return user;
  }

  async closeAll(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      await cleanup();
    }
  }
}

/**
 * For a test file: a relay on real Postgres + Redis started before its tests, and the users registered on it;
 * after them the users are closed and removed, then the relay stops. `relay` is there once the tests run.
 */
export function relayAndUsers(): { readonly relay: RelayProcess; readonly users: TestUsers } {
  let relay: RelayProcess | undefined;
  const current = (): RelayProcess => {
    if (!relay) {
      throw new Error('the relay starts in beforeAll');
    }
    return relay;
  };
  const users = new TestUsers(() => current().url);
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(async () => {
    await users.closeAll();
    await relay?.stop();
  });
  return {
    get relay() {
      return current();
    },
    users,
  };
}
