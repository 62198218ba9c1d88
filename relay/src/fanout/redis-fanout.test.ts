import type { Socket } from 'node:net';
import type { Envelope } from '@sotto/shared-types';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { randomRedisPrefix, TEST_REDIS_URL } from '../../test/support/relay.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { createLogger } from '../logger.js';
import type { FanoutEvent } from './fanout.js';
import { RedisFanout } from './redis-fanout.js';

const fanouts: RedisFanout[] = [];
afterEach(async () => {
  await Promise.all(fanouts.splice(0).map((f) => f.close()));
});

function start(prefix: string, url = TEST_REDIS_URL): RedisFanout {
  const fanout = new RedisFanout(url, prefix, createLogger('silent'));
  fanouts.push(fanout);
  return fanout;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(check(), what).toBe(true);
}

const bob = { accountId: '00000000-0000-4000-8000-00000000b0b0', deviceId: 1 };

function mail(id: number): FanoutEvent {
  const envelope: Envelope = {
    guid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    type: 'whisper',
    sourceAccountId: '00000000-0000-4000-8000-00000000a11c',
    sourceDeviceId: 1,
    destinationDeviceId: 1,
    clientTimestamp: id,
    serverTimestamp: id,
    content: 'AAAA',
  };
  return { kind: 'mail', queued: { id, envelope } };
}

describe('RedisFanout', () => {
  it('hands a copy that waited for its barrier over before a copy another instance published after it, in the same read', async () => {
    const prefix = randomRedisPrefix();
    const here = start(prefix);
    const there = start(prefix);
    const received: number[] = [];
    here.subscribe(bob, (event) => {
      if (event.kind === 'mail' && event.queued) {
        received.push(event.queued.id);
      }
    });
    await until(() => here.healthy() && there.healthy() && here.trustsCopies(bob, here.stamp()), 'subscribed');

    // The subscriber falls behind: what Redis sends it now waits in its socket, to be read at once.
    const stream = (here as unknown as { subscriber: Redis }).subscriber.stream as Socket;
    stream.pause();
    // Alice's first message is sent on this instance (Bob's): its copy waits for the barrier, and her send is
    // answered once the barrier is in Redis. Then she sends her second message on the other instance.
    const first = here.orderPoint();
    expect(first).toBeDefined();
    await here.publish(bob, mail(1), first);
    await there.publish(bob, mail(2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([]);
    stream.resume();

    await until(() => received.length === 2, 'both copies');
    expect(received).toEqual([1, 2]);
  });

  it('gives up a barrier whose Redis stopped answering, so the sends behind it go on', async () => {
    const redis = new URL(TEST_REDIS_URL);
    const proxy = await TcpProxy.start(Number(redis.port || 6379), redis.hostname);
    const here = start(randomRedisPrefix(), `redis://127.0.0.1:${proxy.port}`);
    await until(() => here.healthy(), 'connected');
    // The connection stays open, but nothing comes back (a stalled network).
    proxy.delayMs = 60_000;
    const point = here.orderPoint();
    expect(point).toBeDefined();
    const started = performance.now();
    const passed = new Promise<boolean>((resolve) => point?.whenPassed(resolve));

    await point?.recorded;
    expect(await passed).toBe(false);
    expect(performance.now() - started).toBeLessThan(4000);
    await proxy.cut();
  });
});
