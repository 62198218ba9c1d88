import { randomBytes } from 'node:crypto';
import type { TokenResponse } from '@sotto/shared-types';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevice, api, registerDevice, SocketClient, sendTo, target } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { generateKeys } from '../support/keys.js';
import { PrivateRedis } from '../support/private-redis.js';
import { type CanaryHit, CanaryScanner } from './support/canaries.js';
import { recordFigures } from './support/profile.js';
import { RelayProcess } from './support/relay-process.js';

let db: TestDatabase;
let redis: PrivateRedis;
let relays: RelayProcess[] = [];
const logLines: string[] = [];
const redisTraffic: string[] = [];
let monitor: Redis | undefined;
let monitorClient: Redis | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await PrivateRedis.start();
  monitorClient = new Redis(redis.url);
  monitor = await monitorClient.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    redisTraffic.push(args.join(' '));
  });
  const start = () =>
    RelayProcess.start({
      databaseUrl: db.url,
      redisUrl: redis.url,
      redisPrefix: 'canary:',
      // The most verbose logs: whatever the relay would ever print.
      env: { LOG_LEVEL: 'trace' },
      onLine: (line) => logLines.push(line),
    });
  relays = await Promise.all([start(), start()]);
}, 60_000);
afterAll(async () => {
  monitor?.disconnect();
  monitorClient?.disconnect();
  await Promise.all(relays.map((r) => r.stop()));
  await redis?.stop();
  await db?.drop();
});

async function dumpTables(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
    const parts: string[] = [];
    for (const { name } of tables) {
      // unsafe: identifiers cannot be parameters; the names come from information_schema.
      const rows = await sql.unsafe(`SELECT * FROM "${name}"`);
      for (const row of rows) {
        // bytea both as hex and as base64 text, so an encoded secret shows up either way.
        parts.push(
          `${name}: ${JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? `${v.toString('hex')} ${v.toString('base64')}` : typeof v === 'bigint' ? String(v) : v))}`,
        );
      }
    }
    return parts.join('\n');
  } finally {
    await sql.end();
  }
}

describe('secrets at rest on the relay side', () => {
  it('keeps device secrets, access and refresh tokens out of Postgres, Redis traffic and logs (trace level)', async () => {
    const [one, two] = relays as [RelayProcess, RelayProcess];
    const scanner = new CanaryScanner();
    const alice = await registerDevice(one.url);
    const bob = await registerDevice(two.url);
    const bob2 = await addDevice({ ...bob, baseUrl: two.url });
    const keys = generateKeys(5);
    await api(one.url, 'PUT', '/v1/keys', { token: alice.accessToken, body: keys.upload });
    const refreshed = await api<TokenResponse>(one.url, 'POST', '/v1/auth/token', {
      body: { grant: 'refresh_token', refreshToken: alice.refreshToken },
    });
    // A reuse, a failed login and a bad token: the paths that log warnings.
    await api(two.url, 'POST', '/v1/auth/token', {
      body: { grant: 'refresh_token', refreshToken: alice.refreshToken },
    });
    await api(two.url, 'POST', '/v1/auth/token', {
      body: { grant: 'device_secret', accountId: bob.accountId, deviceId: 1, deviceSecret: alice.deviceSecret },
    });
    await api(one.url, 'GET', '/v1/accounts/me', { token: `${bob.accessToken}x` });
    const socket = await SocketClient.open(two.wsUrl, { authFrame: bob2.accessToken });
    await socket.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
    const fresh = await registerDevice(one.url);
    for (let i = 0; i < 5; i++) {
      await sendTo(fresh, { accountId: bob.accountId, devices: [bob, bob2] });
    }
    await sendTo(fresh, target(alice), randomBytes(40).toString('base64'), { online: true });
    await socket.waitForEnvelopes(5);
    socket.ack(socket.envelopes().map((e) => e.guid));
    socket.close();
    for (const [who, d] of Object.entries({ alice, bob, bob2, fresh })) {
      scanner.add(`${who} device secret`, d.deviceSecret);
      scanner.add(`${who} access token`, d.accessToken);
      scanner.add(`${who} refresh token`, d.refreshToken);
    }
    scanner.add('rotated access token', refreshed.body.accessToken);
    scanner.add('rotated refresh token', refreshed.body.refreshToken);
    await new Promise((r) => setTimeout(r, 500));

    const hits: CanaryHit[] = [
      ...scanner.scan('postgres', await dumpTables(db.url)),
      ...scanner.scan('redis traffic', redisTraffic.join('\n')),
      ...scanner.scan('relay logs', logLines.join('\n')),
    ];
    recordFigures('at-rest-relay', {
      canaries: scanner.size,
      canary_hits: hits.length,
      redis_commands_scanned: redisTraffic.length,
      log_lines_scanned: logLines.length,
    });
    expect(redisTraffic.length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(20);
    expect(hits).toEqual([]);
  });
});
