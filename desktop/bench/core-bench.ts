/**
 * `npm run bench:core`: throughput of the messenger core (not a test). Prints one line per figure
 * and ends with one JSON line holding all of them. Sizes can be lowered with BENCH_* variables.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Profile } from '../src/core/profile.js';
import { MemorySecretStore } from '../src/core/secrets/secret-store.js';
import { startRelay } from '../test/integration/support/relay-process.js';
import { pureTsPairsPerSecond } from './pure-ts-signal.js';
import { rawLibsignalPairsPerSecond } from './raw-libsignal.js';
import { coldOpenMs, fillMessages, percentile, searchP95, sessionSetupsPerSecond } from './store-bench.js';

const size = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const E2E = size('BENCH_E2E', 2000);
const CATCHUP = size('BENCH_CATCHUP', 10_000);
const ROWS = size('BENCH_ROWS', 1_000_000);
const SESSIONS = size('BENCH_SESSIONS', 100);
const SEND_WINDOW = size('BENCH_SEND_WINDOW', 64);

const figures: Record<string, number> = {};
const report = (key: string, value: number, label: string) => {
  figures[key] = Math.round(value * 100) / 100;
  console.log(`${label}: ${figures[key]}`);
};

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error('bench step timed out');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function relayFigures(dir: string): Promise<void> {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    relay = await startRelay();
  } catch {
    console.log('(Postgres/Redis unavailable: using the embedded relay)');
    relay = await startRelay({ embedded: true });
  }
  try {
    const suffix = randomBytes(3).toString('hex');
    const profiles = {
      alice: new Profile(join(dir, 'alice'), { secretStore: new MemorySecretStore() }),
      bob: new Profile(join(dir, 'bob'), { secretStore: new MemorySecretStore() }),
    };
    const alice = (await profiles.alice.registerMessenger({ relayUrl: relay.url, username: `alice_${suffix}` }))
      .messenger;
    const bob = (await profiles.bob.registerMessenger({ relayUrl: relay.url, username: `bob_${suffix}` })).messenger;
    await bob.connect();
    await alice.connect();
    const conv = await alice.startConversation(`bob_${suffix}`);
    await alice.sendText(conv.id, 'warm-up');
    let received = 0;
    bob.on((event) => {
      if (event.type === 'message') {
        received += 1;
      }
    });
    await until(() => bob.listConversations().length === 1, 30_000);
    received = 0;
    const body = 'x'.repeat(200);
    // As a person typing: each send awaited before the next.
    let start = performance.now();
    for (let i = 0; i < E2E; i++) {
      await alice.sendText(conv.id, body);
    }
    await until(() => received >= E2E, 300_000);
    report(
      'e2eSequentialMessagesPerSecond',
      E2E / ((performance.now() - start) / 1000),
      `1:1 encrypt → relay → decrypt → committed (${E2E} msgs, one send at a time), msgs/s`,
    );
    // As a bot or a paste of many messages: up to SEND_WINDOW sends outstanding (each still awaited).
    received = 0;
    start = performance.now();
    const outstanding = new Set<Promise<unknown>>();
    for (let i = 0; i < E2E; i++) {
      const send: Promise<unknown> = alice.sendText(conv.id, body).finally(() => outstanding.delete(send));
      outstanding.add(send);
      if (outstanding.size >= SEND_WINDOW) {
        await Promise.race(outstanding);
      }
    }
    await Promise.all(outstanding);
    await until(() => received >= E2E, 300_000);
    report(
      'e2eMessagesPerSecond',
      E2E / ((performance.now() - start) / 1000),
      `1:1 encrypt → relay → decrypt → committed (${E2E} msgs, ${SEND_WINDOW} sends outstanding), msgs/s`,
    );

    // Catch-up: bob is offline while the messages queue up on the relay, then reconnects.
    await bob.close();
    const sendStart = performance.now();
    for (let i = 0; i < CATCHUP; i++) {
      await alice.sendText(conv.id, `queued ${i} ${body}`);
    }
    await until(() => alice.pendingOutgoing() === 0, 900_000);
    report(
      'sendOnlyMessagesPerSecond',
      CATCHUP / ((performance.now() - sendStart) / 1000),
      `encrypt → relay accepted (${CATCHUP} msgs), msgs/s`,
    );
    await alice.close();
    const catchStart = performance.now();
    const catchCpu = process.cpuUsage();
    const reopened = await profiles.bob.openMessenger();
    await reopened.connect({ timeoutMs: 600_000 });
    await reopened.whenDrained();
    report(
      'catchupSeconds',
      (performance.now() - catchStart) / 1000,
      `catch-up of ${CATCHUP} queued messages (open → drained), s`,
    );
    const cpu = process.cpuUsage(catchCpu);
    report('catchupClientCpuSeconds', (cpu.user + cpu.system) / 1e6, 'same, CPU time of the client process, s');
    const count = reopened.history(reopened.listConversations()[0]?.id ?? '', { limit: 1 }).messages.length;
    if (count === 0) {
      throw new Error('catch-up stored nothing');
    }
    await reopened.close();
  } finally {
    await relay.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-bench-'));
  // The machine may be shared: the load average says how much the figures are worth.
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`);
  report('loadAverageAtStart', loadavg()[0] ?? 0, 'load average (1 min) at start');
  try {
    report(
      'sessionSetupsPerSecond',
      await sessionSetupsPerSecond(dir, SESSIONS),
      'session setups (PQXDH, both ends, SQLite stores)/s',
    );
    report(
      'rawLibsignalPairsPerSecond',
      await rawLibsignalPairsPerSecond(3000),
      'raw libsignal in memory, encrypt+decrypt pairs/s',
    );
    const pure = await pureTsPairsPerSecond(300);
    report('pureTsPairsPerSecond', pure.pairsPerSecond, '@privacyresearch/libsignal-protocol-typescript, pairs/s');
    report('pureTsSessionMs', pure.sessionMs, '@privacyresearch session setup, ms');
    await relayFigures(dir);
    const key = randomBytes(32);
    const path = join(dir, 'big.db');
    const start = performance.now();
    fillMessages(path, key, ROWS);
    report('fillSeconds', (performance.now() - start) / 1000, `stored ${ROWS} messages (with FTS) in s`);
    const search = searchP95(path, key, 40);
    report(
      'ftsSearchP95Ms',
      search.p95,
      `FTS search over ${ROWS} messages, newest first, LIMIT 50 (${search.hits} hits), p95 ms`,
    );
    const opens = Array.from({ length: 5 }, () => coldOpenMs(path, key));
    report('coldOpenFirstMs', opens[0] ?? 0, `open profile with ${ROWS} messages → first page, first open, ms`);
    report('coldOpenMedianMs', percentile(opens, 50), 'same, median of 5, ms');
    if (figures.e2eMessagesPerSecond && figures.rawLibsignalPairsPerSecond) {
      report(
        'e2eVsRawLibsignal',
        figures.e2eMessagesPerSecond / figures.rawLibsignalPairsPerSecond,
        'end to end ÷ raw libsignal',
      );
    }
    if (figures.e2eMessagesPerSecond && figures.pureTsPairsPerSecond) {
      report(
        'e2eVsPureTs',
        figures.e2eMessagesPerSecond / figures.pureTsPairsPerSecond,
        'end to end ÷ pure-TypeScript Signal',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('loadAverageAtEnd', loadavg()[0] ?? 0, 'load average (1 min) at end');
  console.log(JSON.stringify(figures));
}

await main();
process.exit(0);
