import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoreContext } from '../sync/core-context.js';
import { ExpirySweeper, KeyUpkeep } from './upkeep.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An upkeep whose runs the test finishes by hand. */
function manualUpkeep() {
  const finishers: (() => void)[] = [];
  let runs = 0;
  const upkeep = () => {
    runs += 1;
    return new Promise<void>((resolve) => finishers.push(resolve));
  };
  return { upkeep, runs: () => runs, finishRun: () => finishers.shift()?.() };
}

describe('key upkeep scheduling', () => {
  it('runs every interval while connected, and not while offline', async () => {
    vi.useFakeTimers();
    let connected = true;
    let runs = 0;
    const keyUpkeep = new KeyUpkeep(
      async () => {
        runs += 1;
      },
      () => connected,
      1000,
    );
    keyUpkeep.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    connected = false;
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    await keyUpkeep.stop();
    connected = true;
    await vi.advanceTimersByTimeAsync(3000);
    await keyUpkeep.request(); // asked after close: nothing runs against a closed database
    expect(runs).toBe(3);
  });

  it('runs once more after the run in progress however often it is asked meanwhile', async () => {
    const { upkeep, runs, finishRun } = manualUpkeep();
    const keyUpkeep = new KeyUpkeep(upkeep, () => true);
    const first = keyUpkeep.request();
    const asked = [keyUpkeep.request(), keyUpkeep.request(), keyUpkeep.request()];
    expect(runs()).toBe(1);
    finishRun();
    await vi.waitFor(() => expect(runs()).toBe(2));
    finishRun();
    await Promise.all([first, ...asked]);
    expect(runs()).toBe(2);
  });

  it('logs a failed run instead of rejecting, and runs again when asked', async () => {
    let runs = 0;
    const keyUpkeep = new KeyUpkeep(
      async () => {
        runs += 1;
        throw new Error('relay unreachable');
      },
      () => true,
    );
    await expect(keyUpkeep.request()).resolves.toBeUndefined();
    await expect(keyUpkeep.request()).resolves.toBeUndefined();
    expect(runs).toBe(2);
  });
});

describe('expiry sweeper', () => {
  it('sweeps again after a sweep whose transaction failed', async () => {
    vi.useFakeTimers();
    let sweeps = 0;
    // Only what a sweep touches: its transaction (the first fails, as behind another process's write lock)
    // and the next-expiry query (nothing expires: the next sweep is the once-a-minute one).
    const ctx = {
      now: () => Date.now(),
      tx: async () => {
        sweeps += 1;
        if (sweeps === 1) {
          throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        }
      },
      db: { prepare: () => ({ get: () => ({ at: null }) }) },
    } as unknown as CoreContext;
    const sweeper = new ExpirySweeper(ctx);
    sweeper.schedule(0);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sweeps).toBeGreaterThan(2); // swept again, and kept sweeping after that
    sweeper.stop();
    const stopped = sweeps;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sweeps).toBe(stopped);
  });
});
