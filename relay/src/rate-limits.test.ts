import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { randomRedisPrefix, TEST_REDIS_URL } from '../test/support/relay.js';
import { TcpProxy } from '../test/support/tcp-proxy.js';
import { type Env, loadEnv } from './env.js';
import { RelayError } from './errors.js';
import { type LimitName, RateLimits, SendBudget } from './rate-limits.js';

const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
afterAll(() => redis.disconnect());

const envWithSendLimit = (points: number): Env =>
  loadEnv({ RATE_SEND_POINTS: String(points), REDIS_PREFIX: randomRedisPrefix() });

/** Redis calls of a budget, each held until the test lets it through (and resolved once it has gone through). */
class GatedLimits extends RateLimits {
  readonly calls: (() => Promise<void>)[] = [];

  override consume(name: LimitName, key: string, points = 1): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.calls.push(async () => {
        await super.consume(name, key, points).then(resolve, reject);
        // The budget stores the points in the continuation of this call.
        await new Promise((r) => setImmediate(r));
      });
    });
  }
}

const settledNow = async (p: Promise<unknown>): Promise<boolean> => {
  let settled = false;
  void p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return settled;
};

describe('SendBudget', () => {
  it('takes the next chunk from Redis ahead of need, so a busy socket never waits for it', async () => {
    const gated = new GatedLimits(envWithSendLimit(1600), redis);
    const budget = new SendBudget(gated, 'device', Date.now);
    const first = budget.take();
    expect(await settledNow(first)).toBe(false);
    await gated.calls.shift()?.();
    await first;
    // 16 points prepaid: the next sends spend them; once fewer than half are left the next chunk is asked for.
    for (let i = 2; i <= 16; i++) {
      expect(await settledNow(budget.take())).toBe(true);
    }
    expect(gated.calls).toHaveLength(1);
    await gated.calls.shift()?.();
    for (let i = 17; i <= 24; i++) {
      expect(await settledNow(budget.take())).toBe(true);
    }
  });

  it('never lets a socket send more than the limit, however far ahead it takes', async () => {
    const budget = new SendBudget(new RateLimits(envWithSendLimit(1600), redis), 'device', Date.now);
    let sent = 0;
    let refused: unknown;
    for (let i = 0; i < 1700 && !refused; i++) {
      try {
        await budget.take();
        sent += 1;
      } catch (err) {
        refused = err;
      }
    }
    expect(sent).toBeLessThanOrEqual(1600);
    expect(sent).toBeGreaterThanOrEqual(1600 - 23);
    expect(refused).toBeInstanceOf(RelayError);
    expect((refused as RelayError).status).toBe(429);
  });

  it('spends a small limit exactly, one point at a time', async () => {
    const budget = new SendBudget(new RateLimits(envWithSendLimit(5), redis), 'device', Date.now);
    for (let i = 0; i < 5; i++) {
      await budget.take();
    }
    await expect(budget.take()).rejects.toMatchObject({ status: 429 });
  });
});

describe('RateLimits', () => {
  it('falls back to the in-memory limiter when Redis holds a call without answering', async () => {
    const proxy = await TcpProxy.start(Number(new URL(TEST_REDIS_URL).port || 6379));
    const stalled = new Redis(`redis://127.0.0.1:${proxy.port}`, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    try {
      await new Promise((resolve) => stalled.once('ready', resolve));
      const limits = new RateLimits(envWithSendLimit(2), stalled);
      proxy.delayMs = 60_000;
      const started = Date.now();
      const outcome = (p: Promise<unknown>) =>
        Promise.race([
          p.then(
            () => 'taken',
            (err: unknown) => (err instanceof RelayError ? err.status : 'failed'),
          ),
          new Promise((r) => setTimeout(() => r('no answer'), 3000)),
        ]);
      expect(await outcome(limits.consume('send', 'device'))).toBe('taken');
      expect(Date.now() - started).toBeLessThan(2500);
      // The fallback still limits.
      expect(await outcome(limits.consume('send', 'device'))).toBe('taken');
      expect(await outcome(limits.consume('send', 'device'))).toBe(429);
    } finally {
      stalled.disconnect();
      await proxy.cut();
    }
  });
});
