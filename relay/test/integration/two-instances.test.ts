import { once } from 'node:events';
import { CloseCode } from '@sotto/shared-types';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisFanout } from '../../src/fanout/redis-fanout.js';
import { addDevice, api, registerDevice, SocketClient, sendTo, type TestDevice, target } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { randomRedisPrefix, startTestRelay, TEST_REDIS_URL, type TestRelay } from '../support/relay.js';
import { TcpProxy } from '../support/tcp-proxy.js';

let db: TestDatabase;
let one: TestRelay;
let two: TestRelay;
let redisPrefix: string;
const env = { FALLBACK_POLL_MS: '300' };

beforeAll(async () => {
  db = await createTestDatabase();
  redisPrefix = randomRedisPrefix();
  // Started together: the migration lock makes one of them migrate and the other wait.
  [one, two] = await Promise.all([
    startTestRelay({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix, env }),
    startTestRelay({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix, env }),
  ]);
});
afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
  await db?.drop();
});

/** A third instance that reaches Redis through a proxy the test can slow down or cut. */
async function behindRedisProxy(moreEnv: Record<string, string> = {}) {
  const proxy = await TcpProxy.start(Number(new URL(TEST_REDIS_URL).port || 6379));
  const relay = await startTestRelay({
    databaseUrl: db.url,
    redisUrl: `redis://127.0.0.1:${proxy.port}`,
    redisPrefix,
    env: { ...env, ...moreEnv },
  });
  return { proxy, relay };
}

/** `from` sends `to` one message, which reaches `socket` (to's, with nothing on it yet) in time: its guid. */
async function sendAndReceive(from: TestDevice, to: TestDevice, socket: SocketClient, timeoutMs?: number) {
  const sent = await sendTo(from, target(to));
  expect(sent.status).toBe(200);
  await socket.waitForEnvelopes(1, timeoutMs);
  const guid = sent.body.messages[0]?.guid as string;
  expect(socket.envelopes()[0]?.guid).toBe(guid);
  return guid;
}

/** Bob's device as seen through instance 2. */
const via = (d: TestDevice, relay: TestRelay): TestDevice => ({ ...d, baseUrl: relay.url });

describe('two relay instances on one Postgres and one Redis', () => {
  it('delivers live from A on instance 1 to B on instance 2, and acked envelopes are gone', async () => {
    const alice = await registerDevice(one.url);
    const bob = via(await registerDevice(one.url), two);
    const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    const guid = await sendAndReceive(alice, bob, socket);
    socket.ack([guid]);
    await socket.sync();
    socket.close();
    const again = await SocketClient.connect(one.wsUrl, bob.accessToken);
    expect(again.envelopes()).toEqual([]);
    again.close();
  });

  it('delivers what was sent while B was away when B reconnects, and redelivers unacked envelopes', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const first = await SocketClient.connect(two.wsUrl, bob.accessToken);
    first.close();
    await first.closed;
    const guids = [];
    for (let i = 0; i < 3; i++) {
      guids.push((await sendTo(alice, target(bob))).body.messages[0]?.guid);
    }
    const back = await SocketClient.connect(two.wsUrl, bob.accessToken);
    expect(back.envelopes().map((e) => e.guid)).toEqual(guids);
    back.ack([guids[0] as string]);
    await back.sync();
    back.close();
    await back.closed;
    const later = await SocketClient.connect(one.wsUrl, bob.accessToken);
    expect(later.envelopes().map((e) => e.guid)).toEqual(guids.slice(1));
    later.close();
  });

  it('closes the socket on the other instance with connectedElsewhere', async () => {
    const bob = await registerDevice(one.url);
    const onOne = await SocketClient.connect(one.wsUrl, bob.accessToken);
    const onTwo = await SocketClient.connect(two.wsUrl, bob.accessToken);
    expect(await onOne.waitClosed()).toBe(CloseCode.connectedElsewhere);
    expect(onTwo.closeCode).toBeUndefined();
    onTwo.close();
  });

  it('closes a revoked device\u2019s socket on the other instance', async () => {
    const owner = await registerDevice(one.url);
    const socket = await SocketClient.connect(two.wsUrl, owner.accessToken);
    const reuse = async () =>
      api(one.url, 'POST', '/v1/auth/token', { body: { grant: 'refresh_token', refreshToken: owner.refreshToken } });
    expect((await reuse()).status).toBe(200);
    expect((await reuse()).status).toBe(401);
    expect(await socket.waitClosed()).toBe(CloseCode.revoked);
  });

  it('closes a removed device\u2019s socket on the other instance when the revoke was lost in Redis', async () => {
    const owner = await registerDevice(one.url);
    const second = via(await addDevice(owner), two);
    const socket = await SocketClient.connect(two.wsUrl, second.accessToken);
    // Instance 1 cannot publish while its command connection is down: the revoke never reaches instance 2.
    const commands = (one.relay.services.fanout as RedisFanout).commands;
    const closed = once(commands, 'close');
    commands.disconnect();
    await closed;
    const removed = await api(one.url, 'DELETE', `/v1/devices/${second.deviceId}`, { token: owner.accessToken });
    expect(removed.status).toBe(204);
    expect(socket.closeCode).toBeUndefined();
    // Back with a new epoch: instance 2 resyncs and asks Postgres about its sockets.
    const ready = once(commands, 'ready');
    void commands.connect();
    await ready;
    expect(await socket.waitClosed(5000)).toBe(CloseCode.revoked);
  });

  it('answers 409 on instance 1 at once when a device was added through instance 2', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(one.url);
    const socket = await SocketClient.connect(one.wsUrl, alice.accessToken);
    // Instance 1 now knows bob's device list.
    expect((await socket.send(target(bob))).type).toBe('send_result');
    await addDevice(via(bob, two));
    const refused = await socket.send(target(bob));
    expect(refused.type === 'send_error' && refused.body.error.missingDevices).toEqual([2]);
    socket.close();
  });

  it('delivers sends made on the socket to a device on the other instance', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const aliceSocket = await SocketClient.connect(one.wsUrl, alice.accessToken);
    const bobSocket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    const results = await Promise.all(Array.from({ length: 20 }, () => aliceSocket.send(target(bob))));
    await bobSocket.waitForEnvelopes(20);
    expect(new Set(bobSocket.envelopes().map((e) => e.guid))).toEqual(
      new Set(results.map((r) => (r.type === 'send_result' ? r.body.messages[0]?.guid : r.type))),
    );
    aliceSocket.close();
    bobSocket.close();
  });

  it('sends a burst for one device on the other instance through Redis in fewer messages than envelopes', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const bobSocket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    const aliceSocket = await SocketClient.connect(one.wsUrl, alice.accessToken);
    // What crosses Redis on bob's channel: each message is "<instance>.<epoch> <one event or an array>".
    const listener = new Redis(TEST_REDIS_URL);
    const published: string[] = [];
    listener.on('message', (_channel: string, message: string) => published.push(message));
    await listener.subscribe(`${redisPrefix}dev:${bob.accountId}:${bob.deviceId}`);
    const results = await Promise.all(Array.from({ length: 20 }, () => aliceSocket.send(target(bob))));
    await bobSocket.waitForEnvelopes(20);
    expect(new Set(bobSocket.envelopes().map((e) => e.guid))).toEqual(
      new Set(results.map((r) => (r.type === 'send_result' ? r.body.messages[0]?.guid : r.type))),
    );
    const events = published.flatMap((message) => {
      const parsed = JSON.parse(message.slice(message.indexOf(' ') + 1)) as unknown;
      return Array.isArray(parsed) ? parsed : [parsed];
    });
    expect(events).toHaveLength(20);
    expect(published.length).toBeLessThan(20);
    listener.disconnect();
    aliceSocket.close();
    bobSocket.close();
  });

  it('keeps the order of a sender who alternates between the instances, live to the receiver', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    const guids: string[] = [];
    for (let i = 0; i < 200; i++) {
      // Every answer is awaited before the next send: the sender has a definite order.
      const sent = await sendTo(via(alice, i % 2 === 0 ? one : two), target(bob));
      guids.push(sent.body.messages[0]?.guid as string);
      if (i % 20 === 19) {
        socket.ack(socket.envelopes().map((e) => e.guid));
      }
    }
    await socket.waitForEnvelopes(200);
    expect(socket.envelopes().map((e) => e.guid)).toEqual(guids);
    socket.close();
  });

  it('keeps the order when the sending instance lost its Redis connection for a moment (its doorbell failed)', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    const send = async () => (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;
    const guids = [await send()];
    await socket.waitForEnvelopes(1);
    // Instance 1's command connection is cut (as a Redis failover or a network blip would) while instance 2
    // stays subscribed: the doorbell of the next send is lost, and the copies after the reconnect arrive.
    const commands = (one.relay.services.fanout as RedisFanout).commands;
    const killer = new Redis(TEST_REDIS_URL);
    try {
      const id = await commands.client('ID');
      const closed = once(commands, 'close');
      await killer.client('KILL', 'ID', String(id));
      await closed;
      guids.push(await send());
      await once(commands, 'ready');
      for (let i = 0; i < 5; i++) {
        guids.push(await send());
      }
      await socket.waitForEnvelopes(guids.length);
      expect(socket.envelopes().map((e) => e.guid)).toEqual(guids);
    } finally {
      killer.disconnect();
      socket.close();
    }
  });

  it('keeps exactly one of two sockets a device opens at once on two instances', async () => {
    const bob = await registerDevice(one.url);
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const sockets = await Promise.all([
        SocketClient.open(one.wsUrl, { token: bob.accessToken }),
        SocketClient.open(two.wsUrl, { token: bob.accessToken }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const open = sockets.filter((s) => s.closeCode === undefined).length;
      outcomes.push(open === 1 ? 'one open' : `${open} open`);
      for (const s of sockets) {
        s.close();
      }
      await Promise.all(sockets.map((s) => s.closed));
    }
    // Before, each closed on the other's takeover: both closed in about half the rounds.
    expect(outcomes).toEqual(Array(10).fill('one open'));
  });

  it('delivers a message sent while the recipient’s subscription was on its way to a distant Redis', async () => {
    // Instance "far" is 300 ms from Redis each way, and its safety-net poll is too slow to matter here.
    const { proxy, relay: far } = await behindRedisProxy({ FALLBACK_POLL_MS: '60000' });
    try {
      const alice = await registerDevice(one.url);
      const bob = await registerDevice(far.url);
      proxy.delayMs = 300;
      // Bob's queue is read (empty) as he connects, while his channel's SUBSCRIBE is still travelling: the
      // doorbell of alice's message, committed now, reaches Redis before the subscription does.
      const socket = await SocketClient.connect(far.wsUrl, bob.accessToken);
      await sendAndReceive(alice, bob, socket, 3000);
      socket.close();
    } finally {
      proxy.delayMs = 0;
      await far.close();
      await proxy.cut();
    }
  });

  it('delivers within two polls when the sending instance alone lost Redis and stays cut off', async () => {
    const { proxy, relay: cutOff } = await behindRedisProxy();
    try {
      const alice = await registerDevice(cutOff.url);
      const bob = await registerDevice(two.url);
      const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);
      await proxy.cut();
      for (let i = 0; i < 100 && cutOff.relay.services.fanout.healthy(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(cutOff.relay.services.fanout.healthy()).toBe(false);
      // Its doorbell cannot reach Redis, and instance 2 never noticed anything: its safety net rings bob.
      await sendAndReceive(alice, bob, socket, 3000);
      socket.close();
    } finally {
      await cutOff.close();
    }
  });
});
