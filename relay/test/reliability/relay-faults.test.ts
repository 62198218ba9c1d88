import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDevice } from '../support/client.js';
import { freePort, PrivateRedis } from '../support/private-redis.js';
import { type BurstResult, type Pair, runBurst } from './support/burst.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { PrivatePostgres } from './support/private-postgres.js';
import { pick, recordFigures } from './support/profile.js';
import { RelayProcess } from './support/relay-process.js';
import { sleep } from './support/sequential-sender.js';

const PAIRS = pick(10, 20);
const PER_SENDER = 100;
const POSTGRES_DOWN_MS = pick(2000, 8000);
const REDIS_DOWN_MS = pick(3000, 10_000);
const CATCH_UP_MS = 30_000;

let pg: PrivatePostgres;
let redis: PrivateRedis;
const relays: RelayProcess[] = [];
const ports: number[] = [];
let pairs: Pair[] = [];
const results: Record<string, BurstResult> = {};

const relayEnv = {
  LOG_LEVEL: 'warn',
  FALLBACK_POLL_MS: '500',
  WS_HEARTBEAT_MS: '2000',
  DATABASE_POOL_SIZE: '6',
};
const startRelay = (i: number) =>
  RelayProcess.start({
    databaseUrl: pg.url,
    redisUrl: redis.url,
    redisPrefix: 'faults:',
    env: relayEnv,
    port: ports[i] as number,
  });

beforeAll(async () => {
  pg = await PrivatePostgres.start();
  redis = await PrivateRedis.start();
  ports.push(await freePort(), await freePort());
  // Both instances start together: the migration lock lets one migrate while the other waits.
  relays.push(...(await Promise.all([startRelay(0), startRelay(1)])));
  const url = relays[0]?.url as string;
  pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    pairs.push({ sender: await registerDevice(url), receiver: await registerDevice(url) });
  }
}, 120_000);

afterAll(async () => {
  const totals = { lost: 0, duplicated: 0, reordered: 0, server_errors: 0 };
  const figures: Record<string, Record<string, number | boolean | string>> = {};
  for (const [name, r] of Object.entries(results)) {
    totals.lost += r.lost;
    totals.duplicated += r.duplicated;
    totals.reordered += r.reordered;
    totals.server_errors += r.sends.serverErrors;
    figures[name] = {
      accepted: r.accepted,
      delivered: r.delivered,
      lost: r.lost,
      duplicated: r.duplicated,
      reordered: r.reordered,
      redelivered: r.redelivered,
      ambiguous_resends: r.ambiguousResends,
      leftovers_from_earlier_bursts: r.leftovers,
      send_503s: r.sends.unavailable,
      send_network_errors: r.sends.networkErrors,
      send_5xx_other: r.sends.serverErrors,
      reconnects: r.reconnects,
      recovery_ms: r.recoveryMs,
      caught_up: r.caughtUp,
      ...(r.reorderExamples.length ? { reorder_examples: r.reorderExamples.join(' | ') } : {}),
    };
  }
  recordFigures('relay-faults', { ...totals, messages: PAIRS * PER_SENDER, ...figures });
  await Promise.all(relays.map((r) => r.kill('SIGKILL')));
  await redis?.stop();
  await pg?.destroy();
}, 60_000);

const both = () => relays.map((r) => r.url);
const bothWs = () => relays.map((r) => r.wsUrl);
const rotate = <T>(list: T[], by: number) => [...list.slice(by % list.length), ...list.slice(0, by % list.length)];

function expectClean(r: BurstResult): void {
  expect(r.unsent).toBe(0);
  expect(r.accepted).toBe(PAIRS * PER_SENDER);
  expect(r.lost).toBe(0);
  expect(r.duplicated).toBe(0);
  expect(r.reordered).toBe(0);
  expect(r.sends.serverErrors).toBe(0);
  expect(r.sends.rejected).toBe(0);
  expect(r.caughtUp).toBe(true);
}

describe('relay-level faults: 2 instances on a private Postgres and Redis, exactly-once receivers', () => {
  it('Postgres restarted mid-burst: sends get 503 meanwhile, everything accepted is delivered once, in order', async () => {
    results.postgres_restart = await runBurst({
      pairs,
      messagesPerSender: PER_SENDER,
      spreadMs: POSTGRES_DOWN_MS + pick(2000, 3000),
      senderUrls: (i) => rotate(both(), i),
      // Receivers on the other instance than their sender: delivery crosses Redis.
      receiverUrls: (i) => rotate(bothWs(), i + 1),
      sendDeadlineMs: 90_000,
      catchUpMs: CATCH_UP_MS,
      fault: async () => {
        await pg.stop('immediate');
        await sleep(POSTGRES_DOWN_MS);
        await pg.start();
      },
    });
    expectClean(results.postgres_restart);
    expect(results.postgres_restart.sends.unavailable).toBeGreaterThan(0);
    expect(relays.every((r) => r.alive)).toBe(true);
  }, 180_000);

  it('Redis stopped mid-burst: delivery falls back to Postgres polling and nothing is lost', async () => {
    results.redis_stop = await runBurst({
      pairs,
      messagesPerSender: PER_SENDER,
      spreadMs: REDIS_DOWN_MS + pick(2000, 3000),
      senderUrls: (i) => rotate(both(), i),
      receiverUrls: (i) => rotate(bothWs(), i + 1),
      sendDeadlineMs: 90_000,
      catchUpMs: CATCH_UP_MS,
      fault: async () => {
        await redis.stop();
        await sleep(REDIS_DOWN_MS);
        await redis.start();
      },
    });
    expectClean(results.redis_stop);
    expect(relays.every((r) => r.alive)).toBe(true);
  }, 180_000);

  it('one instance SIGKILLed mid-burst: its clients move to the other, nothing is lost or shown twice', async () => {
    results.relay_sigkill = await runBurst({
      pairs,
      messagesPerSender: PER_SENDER,
      spreadMs: pick(3000, 4000),
      senderUrls: (i) => rotate(both(), i),
      receiverUrls: (i) => rotate(bothWs(), i + 1),
      sendDeadlineMs: 90_000,
      catchUpMs: CATCH_UP_MS,
      fault: async () => {
        await relays[1]?.kill('SIGKILL');
      },
    });
    expectClean(results.relay_sigkill);
    expect(results.relay_sigkill.reconnects).toBeGreaterThan(0);
    relays[1] = await startRelay(1);
  }, 180_000);

  it('a network that delays, cuts, blackholes and refuses connections: nothing lost, shown twice or reordered', async () => {
    const proxies = await Promise.all(relays.map((r) => ChaosProxy.start(r.port)));
    try {
      results.network_chaos = await runBurst({
        pairs,
        messagesPerSender: PER_SENDER,
        spreadMs: pick(7500, 9000),
        senderUrls: (i) =>
          rotate(
            proxies.map((p) => p.url),
            i,
          ),
        receiverUrls: (i) =>
          rotate(
            proxies.map((p) => p.wsUrl),
            i + 1,
          ),
        dropBeforeAck: 0.02,
        deadAfterMs: 2500,
        sendDeadlineMs: 120_000,
        catchUpMs: CATCH_UP_MS,
        fault: async () => {
          const all = (f: (p: ChaosProxy) => void) => {
            for (const p of proxies) {
              f(p);
            }
          };
          all((p) => {
            p.mode = { kind: 'delay', ms: 150, jitterMs: 150 };
          });
          await sleep(1500);
          for (let i = 0; i < 4; i++) {
            all((p) => p.cutSome(0.5));
            await sleep(400);
          }
          all((p) => {
            p.mode = { kind: 'blackhole' };
          });
          await sleep(3000);
          all((p) => {
            p.mode = { kind: 'refuse' };
            p.cutAll();
          });
          await sleep(1000);
          all((p) => {
            p.mode = { kind: 'pass' };
          });
        },
      });
    } finally {
      await Promise.all(proxies.map((p) => p.close()));
    }
    expectClean(results.network_chaos);
    expect(results.network_chaos.redelivered).toBeGreaterThan(0);
  }, 240_000);
});
