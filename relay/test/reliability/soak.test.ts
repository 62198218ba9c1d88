import { beforeAll, describe, expect, it } from 'vitest';
import { registerDevice, type TestDevice } from '../support/client.js';
import { ExactlyOnceReceiver } from './support/exactly-once-receiver.js';
import { pool } from './support/fuzz-runner.js';
import { evaluate } from './support/ledger.js';
import { isFull, pick, recordFigures } from './support/profile.js';
import { useRelayProcess } from './support/relay-fixture.js';
import { SequentialSender, sleep } from './support/sequential-sender.js';
import { mib } from './support/stats.js';

const CLIENTS = pick(40, 200);
const DURATION_MS = pick(12_000, 600_000);
const WARM_UP_MS = pick(4000, 120_000);
/** Each client sends to the next one in a ring, one message per interval. */
const INTERVAL_MS = pick(500, 2000);
const SAMPLE_MS = pick(1000, 5000);

const clients: TestDevice[] = [];

const fx = useRelayProcess({ env: { LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '8' } });

beforeAll(async () => {
  const made = Array.from({ length: CLIENTS }, () => undefined);
  await pool(made, 8, async () => {
    clients.push(await registerDevice(fx.relay.url));
  });
}, 300_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe('soak', () => {
  it(
    `${CLIENTS} clients for ${DURATION_MS / 1000} s: everything delivered once and in order, memory and fds flat after warm-up`,
    async () => {
      const receivers = clients.map((c) => new ExactlyOnceReceiver(c, { urls: [fx.relay.wsUrl] }));
      for (const r of receivers) {
        r.start();
      }
      const senders = clients.map(
        (c, i) => new SequentialSender(c, clients[(i + 1) % clients.length] as TestDevice, { urls: [fx.relay.url] }),
      );
      const started = Date.now();
      const deadline = started + DURATION_MS;
      const samples: { at: number; rss: number; sockets: number; otherFds: number }[] = [];
      const sampler = setInterval(() => {
        if (fx.relay.alive) {
          const fds = fx.relay.fds();
          samples.push({ at: Date.now() - started, rss: fx.relay.rss(), sockets: fds.sockets, otherFds: fds.other });
        }
      }, SAMPLE_MS);
      // Staggered starts, then one message per interval per client until the deadline.
      await Promise.all(
        senders.map(async (s, i) => {
          await sleep((i * INTERVAL_MS) / senders.length);
          await s.run(Math.ceil(DURATION_MS / INTERVAL_MS), deadline, INTERVAL_MS);
        }),
      );
      clearInterval(sampler);
      const caughtUp = (
        await Promise.all(
          receivers.map((r, i) => {
            const from = senders[(i - 1 + senders.length) % senders.length];
            return r.waitForAll(from?.accepted.values() ?? [], 30_000);
          }),
        )
      ).every(Boolean);
      for (const r of receivers) {
        r.stop();
      }
      const ledger = evaluate(senders, receivers);
      const warm = samples.filter((s) => s.at >= WARM_UP_MS);
      const head = warm.slice(0, 3);
      const tail = warm.slice(-3);
      const rssWarm = median(head.map((s) => s.rss));
      const rssEnd = median(tail.map((s) => s.rss));
      const socketsWarm = median(head.map((s) => s.sockets));
      const socketsEnd = median(tail.map((s) => s.sockets));
      const otherFdsWarm = median(head.map((s) => s.otherFds));
      const otherFdsEnd = median(tail.map((s) => s.otherFds));
      const growth = rssWarm > 0 ? (rssEnd - rssWarm) / rssWarm : 0;
      recordFigures('soak', {
        clients: CLIENTS,
        duration_s: DURATION_MS / 1000,
        messages: ledger.accepted,
        lost: ledger.lost,
        duplicated: ledger.duplicated,
        reordered: ledger.reordered,
        server_errors: senders.reduce((n, s) => n + s.stats.serverErrors, 0),
        rss_mib_after_warm_up: mib(rssWarm),
        rss_mib_end: mib(rssEnd),
        rss_growth_pct: Math.round(growth * 1000) / 10,
        sockets_after_warm_up: socketsWarm,
        sockets_end: socketsEnd,
        other_fds_after_warm_up: otherFdsWarm,
        other_fds_end: otherFdsEnd,
        reconnects: receivers.reduce((n, r) => n + Math.max(0, r.connects - 1), 0),
      });
      expect(caughtUp).toBe(true);
      expect(ledger.accepted).toBeGreaterThan(CLIENTS * 5);
      expect(ledger.lost).toBe(0);
      expect(ledger.duplicated).toBe(0);
      expect(ledger.reordered).toBe(0);
      expect(senders.every((s) => s.stats.serverErrors === 0 && s.stats.rejected === 0)).toBe(true);
      expect(fx.relay.alive).toBe(true);
      expect(warm.length).toBeGreaterThanOrEqual(3);
      // Files, pipes and event fds do not move under steady load. Sockets do: each sender's HTTP keep-alive
      // connection closes when idle and reopens with its next send (full runs saw 276 → 257 and 252 → 264
      // descriptors in all). A leak grows with the work done (60,000 messages in a full run), so 10 % is room
      // for that churn and still catches one socket left open per 1,000 messages.
      expect(otherFdsEnd - otherFdsWarm).toBeLessThanOrEqual(5);
      expect(socketsEnd - socketsWarm).toBeLessThanOrEqual(Math.max(pick(20, 10), Math.ceil(socketsWarm * 0.1)));
      if (isFull) {
        // Memory is judged on the 10-minute run only: a 20-second run is still warming up.
        expect(growth).toBeLessThan(0.1);
      }
    },
    DURATION_MS + 120_000,
  );
});
