import { CloseCode } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { api, registerDevice, SocketClient, sendTo, target } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { PrivateRedis } from '../support/private-redis.js';
import { startTestRelay, type TestRelay } from '../support/relay.js';

let db: TestDatabase;
let redis: PrivateRedis;
let one: TestRelay;
let two: TestRelay;
interface LogLine {
  level: string;
  msg: string;
}
/** What instance one logs. */
const oneLog: LogLine[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await PrivateRedis.start();
  // Short heartbeats: while Redis is down, revocations and takeovers are checked at each one.
  const env = { FALLBACK_POLL_MS: '500', WS_HEARTBEAT_MS: '300' };
  const destination = { write: (line: string) => void oneLog.push(JSON.parse(line) as LogLine) };
  one = await startTestRelay({
    databaseUrl: db.url,
    redisUrl: redis.url,
    redisPrefix: 'rd:',
    env,
    logger: createLogger('info', destination),
  });
  two = await startTestRelay({ databaseUrl: db.url, redisUrl: redis.url, redisPrefix: 'rd:', env });
});
afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
  await redis?.stop();
  await db?.drop();
});

describe('when Redis goes down', () => {
  it('still delivers across instances within 5 s, loses nothing, and resumes when Redis returns', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);

    await redis.stop();
    const down = await sendTo(alice, target(bob));
    expect(down.status).toBe(200);
    await socket.waitForEnvelopes(1, 5000);
    expect(socket.envelopes()[0]?.guid).toBe(down.body.messages[0]?.guid);
    const ready = await api<{ checks: Record<string, string> }>(one.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toBe('down');
    // The operator is told what is wrong, what it costs and what to check (at the instance's next poll, which
    // may come after the other instance already delivered).
    const warning = () => oneLog.find((line) => line.level === 'warn' && line.msg.startsWith('Redis '))?.msg;
    await expect.poll(warning, { timeout: 3000 }).toBeDefined();
    expect(warning()).toMatch(
      new RegExp(
        `^Redis (connect ECONNREFUSED 127\\.0\\.0\\.1:${new URL(redis.url).port}|Connection is closed\\.|not connected \\(\\w+\\)): ` +
          'until it is back, each instance finds new mail by polling Postgres every 500 ms \\(messages arrive later, none is lost\\); check REDIS_URL and that Redis is running$',
      ),
    );

    await redis.start();
    // Wait (bounded) until both instances are healthy again, then expect live delivery through Redis.
    for (let i = 0; i < 50 && !(one.relay.services.fanout.healthy() && two.relay.services.fanout.healthy()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(two.relay.services.fanout.healthy()).toBe(true);
    const up = await sendTo(alice, target(bob));
    await socket.waitForEnvelopes(2, 5000);
    expect(socket.envelopes()[1]?.guid).toBe(up.body.messages[0]?.guid);
    expect((await api(one.url, 'GET', '/readyz')).status).toBe(200);
    socket.close();
  });

  it('closes the older socket of a device on the other instance with connectedElsewhere', async () => {
    const bob = await registerDevice(one.url);
    const older = await SocketClient.connect(one.wsUrl, bob.accessToken);
    await redis.stop();
    try {
      const newer = await SocketClient.connect(two.wsUrl, bob.accessToken);
      // Not through Redis: the older socket learns it from Postgres at a heartbeat.
      expect(await older.waitClosed(5000)).toBe(CloseCode.connectedElsewhere);
      const alice = await registerDevice(two.url);
      const sent = await sendTo(alice, target(bob));
      await newer.waitForEnvelopes(1, 5000);
      expect(newer.envelopes().map((e) => e.guid)).toEqual([sent.body.messages[0]?.guid]);
      expect(newer.closeCode).toBeUndefined();
      newer.close();
    } finally {
      await redis.start();
    }
  });

  it('keeps the order of a sender who alternates between the instances while Redis is down', async () => {
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const socket = await SocketClient.connect(two.wsUrl, bob.accessToken);
    await redis.stop();
    try {
      const guids: string[] = [];
      for (let i = 0; i < 20; i++) {
        // Each answer is awaited: instance 2's own commits must not overtake instance 1's, which it only
        // learns about from its Postgres poll.
        const sent = await sendTo({ ...alice, baseUrl: i % 2 === 0 ? one.url : two.url }, target(bob));
        expect(sent.status).toBe(200);
        guids.push(sent.body.messages[0]?.guid as string);
      }
      await socket.waitForEnvelopes(20, 10_000);
      expect(socket.envelopes().map((e) => e.guid)).toEqual(guids);
    } finally {
      await redis.start();
      socket.close();
    }
  });
});
