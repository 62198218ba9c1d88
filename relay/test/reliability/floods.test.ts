import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  newDeviceSecret,
  registerDevice,
  SocketClient,
  type TestDevice,
  uniqueUsername,
} from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { generateKeys } from '../support/keys.js';
import { randomRedisPrefix, TEST_REDIS_URL } from '../support/relay.js';
import { pool } from './support/fuzz-runner.js';
import { pick, recordFigures } from './support/profile.js';
import { RelayProcess } from './support/relay-process.js';
import { quantile } from './support/stats.js';

const LIMITS = {
  RATE_REGISTER_POINTS: '5',
  RATE_TOKEN_POINTS: '20',
  RATE_PREKEY_POINTS: '30',
  RATE_SEND_POINTS: '300',
  RATE_UPLOAD_POINTS: '10',
};
const ATTACKER_IP = '198.51.100.66';
const VICTIM_IP = '203.0.113.7';
/** Requests per flood: past each limit above, several times over in the full profile. */
const FLOOD_REQUESTS: Record<string, number> = {
  registration: pick(40, 400),
  token: pick(60, 600),
  prekey_fetch: pick(80, 800),
  send: pick(400, 2000),
  upload: pick(40, 400),
};
/** The victim's own traffic stays inside its limits (sends per device, bundle fetches per account). */
const VICTIM_OPS = pick(40, 100);

let db: TestDatabase;
let relay: RelayProcess;
let strict: RelayProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  const common = { databaseUrl: db.url, redisUrl: TEST_REDIS_URL };
  // Behind a reverse proxy (TRUST_PROXY): clients are told apart by X-Forwarded-For.
  relay = await RelayProcess.start({
    ...common,
    redisPrefix: randomRedisPrefix(),
    env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'true', ...LIMITS },
  });
  // Not behind a proxy: a forged X-Forwarded-For must not buy a fresh bucket.
  strict = await RelayProcess.start({
    ...common,
    redisPrefix: randomRedisPrefix(),
    env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'false', RATE_REGISTER_POINTS: '3', RATE_TOKEN_POINTS: '5' },
  });
}, 60_000);
afterAll(async () => {
  await relay?.stop();
  await strict?.stop();
  await db?.drop();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });

/** Registers through the victim's address (the attacker's bucket is about to be emptied). */
async function victimDevice(): Promise<TestDevice> {
  const username = uniqueUsername('v');
  const deviceSecret = newDeviceSecret();
  const registrationId = 1 + Math.floor(Math.random() * 16000);
  const r = await api<{ accountId: string }>(relay.url, 'POST', '/v1/accounts', {
    body: { username, deviceSecret, registrationId },
    headers: from(VICTIM_IP),
  });
  expect(r.status).toBe(200);
  const t = await api<{ accessToken: string; refreshToken: string }>(relay.url, 'POST', '/v1/auth/token', {
    body: { grant: 'device_secret', accountId: r.body.accountId, deviceId: 1, deviceSecret },
    headers: from(VICTIM_IP),
  });
  return {
    baseUrl: relay.url,
    accountId: r.body.accountId,
    deviceId: 1,
    username,
    deviceSecret,
    registrationId,
    accessToken: t.body.accessToken,
    refreshToken: t.body.refreshToken,
  };
}

interface VictimRun {
  latencies: number[];
  failures: string[];
}

/** The victim's ordinary traffic: send, see it delivered on the socket, fetch a bundle, refresh its login. */
async function victimTraffic(
  alice: TestDevice,
  bob: TestDevice,
  socket: SocketClient,
  ops: number,
): Promise<VictimRun> {
  const run: VictimRun = { latencies: [], failures: [] };
  for (let i = 0; i < ops; i++) {
    const started = performance.now();
    const sent = await api<{ messages: { guid: string }[] }>(relay.url, 'PUT', `/v1/messages/${bob.accountId}`, {
      token: alice.accessToken,
      headers: from(VICTIM_IP),
      body: {
        timestamp: Date.now(),
        messages: [
          { destinationDeviceId: 1, destinationRegistrationId: bob.registrationId, type: 'whisper', content: 'AAAA' },
        ],
      },
    });
    if (sent.status !== 200) {
      run.failures.push(`send ${sent.status}`);
      continue;
    }
    const guid = sent.body.messages[0]?.guid;
    await socket.waitFor((f) => f.some((x) => x.type === 'envelope' && x.envelope.guid === guid), 10_000);
    run.latencies.push(performance.now() - started);
    socket.ack([guid as string]);
    if (i % 10 === 0) {
      const bundle = await api(relay.url, 'GET', `/v1/keys/${bob.accountId}/1`, { token: alice.accessToken });
      if (bundle.status !== 200) {
        run.failures.push(`bundle ${bundle.status}`);
      }
    }
  }
  return run;
}

describe('floods from one address or account', () => {
  it('answer 429 with Retry-After while another user\u2019s traffic goes on', async () => {
    const alice = await victimDevice();
    const bob = await victimDevice();
    await api(relay.url, 'PUT', '/v1/keys', { token: bob.accessToken, body: generateKeys(100).upload });
    const socket = await SocketClient.connect(relay.wsUrl, bob.accessToken);
    const before = await victimTraffic(alice, bob, socket, VICTIM_OPS);

    // The attacker: its own accounts, registered before its address is throttled.
    const mallory = await registerDevice(relay.url);
    const sink = await registerDevice(relay.url);
    const floods: Record<string, () => Promise<Response>> = {
      registration: () =>
        fetch(`${relay.url}/v1/accounts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...from(ATTACKER_IP) },
          body: JSON.stringify({ username: uniqueUsername('f'), deviceSecret: newDeviceSecret(), registrationId: 3 }),
        }),
      token: () =>
        fetch(`${relay.url}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...from(ATTACKER_IP) },
          body: JSON.stringify({ grant: 'refresh_token', refreshToken: randomBytes(32).toString('base64url') }),
        }),
      prekey_fetch: () =>
        fetch(`${relay.url}/v1/keys/${bob.accountId}/1`, {
          headers: { authorization: `Bearer ${mallory.accessToken}`, ...from(ATTACKER_IP) },
        }),
      send: () =>
        fetch(`${relay.url}/v1/messages/${sink.accountId}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${mallory.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            timestamp: Date.now(),
            messages: [
              {
                destinationDeviceId: 1,
                destinationRegistrationId: sink.registrationId,
                type: 'whisper',
                content: 'AAAA',
              },
            ],
          }),
        }),
      upload: () =>
        fetch(`${relay.url}/v1/attachments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${mallory.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ size: 10, sha256: createHash('sha256').update(randomBytes(8)).digest('hex') }),
        }),
    };
    const tally: Record<string, Record<string, number>> = {};
    const retryAfterMissing: string[] = [];
    const flooding = pool(
      Object.entries(floods).flatMap(([name, make]) =>
        Array.from({ length: FLOOD_REQUESTS[name] ?? 0 }, () => [name, make] as const),
      ),
      16,
      async ([name, make]) => {
        const res = await make();
        await res.arrayBuffer();
        const t = tally[name] ?? {};
        tally[name] = t;
        t[res.status] = (t[res.status] ?? 0) + 1;
        if (res.status === 429 && !/^\d+$/.test(res.headers.get('retry-after') ?? '')) {
          retryAfterMissing.push(name);
        }
      },
    );
    const during = await victimTraffic(alice, bob, socket, VICTIM_OPS);
    await flooding;
    socket.close();
    const bobKeys = await api<{ preKeys: number }>(relay.url, 'GET', '/v1/keys/count', { token: bob.accessToken });

    const limited = (name: string) => tally[name]?.['429'] ?? 0;
    const serverErrors = Object.values(tally)
      .flatMap((t) => Object.entries(t))
      .filter(([status]) => Number(status) >= 500)
      .reduce((n, [, c]) => n + c, 0);
    recordFigures('floods', {
      flood_requests: Object.values(FLOOD_REQUESTS).reduce((a, b) => a + b, 0),
      flood_429s: Object.keys(floods).reduce((n, k) => n + limited(k), 0),
      server_errors: serverErrors,
      victim_failures: before.failures.length + during.failures.length,
      victim_p50_ms_before: quantile(before.latencies, 0.5),
      victim_p99_ms_before: quantile(before.latencies, 0.99),
      victim_p50_ms_during: quantile(during.latencies, 0.5),
      victim_p99_ms_during: quantile(during.latencies, 0.99),
      victim_prekeys_left_of_100: bobKeys.body.preKeys,
      statuses: Object.fromEntries(Object.entries(tally).map(([k, v]) => [k, JSON.stringify(v)])),
    });
    for (const name of Object.keys(floods)) {
      expect(limited(name), name).toBeGreaterThan(0);
    }
    expect(retryAfterMissing).toEqual([]);
    expect(serverErrors).toBe(0);
    expect([...before.failures, ...during.failures]).toEqual([]);
    expect(during.latencies).toHaveLength(VICTIM_OPS);
    // The prekey limit bounds how many of the victim's one-time keys one account can drain.
    expect(bobKeys.body.preKeys).toBeGreaterThanOrEqual(
      100 - Number(LIMITS.RATE_PREKEY_POINTS) - 2 * Math.ceil(VICTIM_OPS / 10),
    );
  });

  it('ignores a forged X-Forwarded-For when not behind a proxy (one bucket per real address)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${strict.url}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.0.${i}` },
        body: JSON.stringify({ grant: 'refresh_token', refreshToken: randomBytes(32).toString('base64url') }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
  });
});
