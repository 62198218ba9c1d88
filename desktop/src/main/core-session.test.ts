import { describe, expect, it } from 'vitest';
import type { MessengerApi, ProfileApi, ProfileInfo } from '../core/messenger-types.js';
import { CoreSession } from './core-session.js';

const INFO: ProfileInfo = { accountId: 'a1', username: 'alice', deviceId: 1, relayUrl: 'http://127.0.0.1:1' };

/** A profile whose opens resolve when the test says, counting the cores it opened and how many connect. */
function slowProfile() {
  const opened: { connected: boolean; closed: boolean }[] = [];
  const waiting: (() => void)[] = [];
  const core = (): Promise<MessengerApi> =>
    new Promise((resolve) => {
      waiting.push(() => {
        const state = { connected: false, closed: false };
        opened.push(state);
        resolve({
          on: () => () => {},
          connect: async () => {
            state.connected = true;
            return true;
          },
          profile: () => INFO,
          signOut: async () => {},
          close: async () => {
            state.closed = true;
          },
        } as unknown as MessengerApi);
      });
    });
  const profile = {
    state: async () => 'ready',
    open: core,
    unlock: core,
    register: async () => ({ messenger: await core(), recoveryKey: 'k' }),
    wipe: async () => {},
  } as unknown as ProfileApi;
  const release = () => {
    for (const open of waiting.splice(0)) {
      open();
    }
  };
  return { profile, opened, release };
}

describe('the core session', () => {
  it('opens one core when the window asks twice at once (StrictMode in development, a reload during an open)', async () => {
    const { profile, opened, release } = slowProfile();
    const session = new CoreSession({ profile, onEvent: () => {}, onProgress: () => {} });
    const first = session.handlers['profile:open'](undefined as never);
    const second = session.handlers['profile:open'](undefined as never);
    const unlocked = session.handlers['profile:unlock']({ recoveryKey: 'x' });
    release();
    expect(await Promise.all([first, second, unlocked])).toEqual([INFO, INFO, INFO]);
    expect(opened).toEqual([{ connected: true, closed: false }]);
    // Asked again once open: the same core.
    expect(await session.handlers['profile:open'](undefined as never)).toEqual(INFO);
    expect(opened).toHaveLength(1);
  });

  it('says when its core closed (a wipe), so the unread badge is recounted to nothing', async () => {
    const { profile, opened, release } = slowProfile();
    let closed = 0;
    const session = new CoreSession({ profile, onEvent: () => {}, onProgress: () => {}, onClosed: () => closed++ });
    const open = session.handlers['profile:open'](undefined as never);
    release();
    await open;
    expect(closed).toBe(0);
    await session.handlers['profile:wipe'](undefined as never);
    expect(opened[0]?.closed).toBe(true);
    expect(closed).toBe(1);
    expect(session.messenger).toBeNull();
  });

  it('refuses a registration while an open is under way', async () => {
    const { profile, opened, release } = slowProfile();
    const session = new CoreSession({ profile, onEvent: () => {}, onProgress: () => {} });
    const open = session.handlers['profile:open'](undefined as never);
    await expect(
      session.handlers['profile:register']({ relayUrl: 'http://127.0.0.1:1', username: 'alice' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    release();
    await open;
    expect(opened).toHaveLength(1);
  });
});
