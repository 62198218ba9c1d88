import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  BENCH_METRICS_TOKEN,
  cpuMs,
  cpuSplitMs,
  freePort,
  JsonChild,
  machineTicks,
  out,
  percentile,
  pidsByCommand,
  readWriteCalls,
  relayRuntime,
  round,
  rssKib,
  runtimeDuring,
  sleep,
  withTimeout,
  wsMasking,
} from './bench-support.js';
import { insertCeiling, insertDeleteCeiling, pubsubCeiling, vacuumEnvelopes } from './ceilings.js';
import type { LoadConfig, LoadDevice, LoadResult, RunCommand, Transport } from './load-worker.js';
import { describePhase, type PhaseFigures, report } from './report.js';
import { type BenchDatabase, type BenchDevice, createBenchDatabase, seedDevices } from './seed.js';

/**
 * `npm run bench:relay`: relay throughput and latency on real Postgres + Redis (1, then 2 instances,
 * each its own process), the raw INSERT and pub/sub ceilings in the same run, p99 at half of peak load,
 * and the RSS cost of idle authenticated sockets. Not a test: prints figures, ending with one JSON line.
 */

const program = new Command('relay-bench')
  .option('--devices <n>', 'simulated devices sending 1:1 envelopes (in pairs)', (v) => Number(v), 200)
  .option(
    '--inflight <n>',
    'sends outstanding per device at peak (closed loop; 8 saturates the relay)',
    (v) => Number(v),
    8,
  )
  .option('--duration <s>', 'measured seconds per load phase', (v) => Number(v), 10)
  .option('--warmup <s>', 'unmeasured seconds before each load phase', (v) => Number(v), 2)
  .option('--load-workers <n>', 'load-generator processes', (v) => Number(v), 2)
  .option('--idle-sockets <n>', 'idle authenticated sockets on one instance (0 skips)', (v) => Number(v), 19_000)
  .option('--idle-workers <n>', 'processes holding the idle sockets', (v) => Number(v), 4)
  .option('--content-bytes <n>', 'envelope ciphertext size', (v) => Number(v), 300)
  .option('--redis-url <url>', 'Redis', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379')
  .option(
    '--rate <n>',
    'messages/s of the half-load phase instead of half of peak (lets it run without the peak phase, e.g. to profile it)',
    (v) => Number(v),
  )
  .option('--time-limit <s>', 'abort the whole run after this many seconds', (v) => Number(v), 600)
  .option(
    '--phases <list>',
    'phases to run, comma-separated: peak (1 instance), quarter and half (load as a share of peak), http, two (2 instances)',
    'peak,quarter,half,http,two',
  )
  .parse();

interface Options {
  devices: number;
  inflight: number;
  duration: number;
  warmup: number;
  loadWorkers: number;
  idleSockets: number;
  idleWorkers: number;
  contentBytes: number;
  redisUrl: string;
  timeLimit: number;
  phases: string;
  rate?: number;
}
const opts = program.opts<Options>();
if (opts.devices < 2 || opts.devices % 2 !== 0) {
  throw new Error('--devices must be an even number ≥ 2');
}

const children = new Set<JsonChild>();
let workDir = '';
let db: BenchDatabase | undefined;
const redisPrefix = `sotto-bench-${randomBytes(6).toString('hex')}:`;

interface RelayProcess {
  child: JsonChild;
  url: string;
  wsUrl: string;
}

async function startRelay(databaseUrl: string): Promise<RelayProcess> {
  const port = await freePort();
  const child = JsonChild.spawn(
    'relay/src/server.ts',
    [],
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: opts.redisUrl,
      REDIS_PREFIX: redisPrefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SOTTO_DATA_DIR: join(workDir, `relay-${port}`),
      RATE_SEND_POINTS: '100000000',
      RATE_PREKEY_POINTS: '100000000',
      RATE_TOKEN_POINTS: '100000000',
      SHUTDOWN_GRACE_MS: '2000',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
    },
    [
      ...(process.env.BENCH_RELAY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_RELAY_CPU_PROF}`] : []),
      // As `npm run relay`, `npm start -w @sotto/relay` and the container run it.
      '--max-semi-space-size=64',
      // More Node flags for the relay processes only (e.g. other GC settings), space-separated.
      ...(process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
  );
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  await withTimeout(
    'relay start',
    60_000,
    (async () => {
      for (;;) {
        if (child.exited) {
          throw new Error(`relay exited: ${child.stderr}`);
        }
        try {
          if ((await fetch(`${url}/healthz`)).ok) {
            return;
          }
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
    })(),
  );
  return { child, url, wsUrl: `ws://127.0.0.1:${port}/v1/ws` };
}

async function stop(child: JsonChild): Promise<void> {
  await child.kill();
  children.delete(child);
}

/** CPU used so far by each group of processes, in ms; and the relays' kernel time and read/write calls, the machine's ticks. */
function cpuSnapshot(relays: JsonChild[], workers: JsonChild[]) {
  const sum = (pids: number[], of: (pid: number) => number = cpuMs) => pids.reduce((a, pid) => a + of(pid), 0);
  const relayPids = relays.map((r) => r.child.pid as number);
  // Each relay's /proc/PID/stat read once: its total and its kernel part from the same moment.
  const relayCpu = relayPids.map(cpuSplitMs);
  return {
    relay: relayCpu.reduce((a, c) => a + c.user + c.system, 0),
    postgres: sum(pidsByCommand('postgres')),
    redis: sum(pidsByCommand('redis-server')),
    load: sum(workers.map((w) => w.child.pid as number)),
    relayKernel: relayCpu.reduce((a, c) => a + c.system, 0),
    relayCalls: sum(relayPids, readWriteCalls),
    machine: machineTicks(),
  };
}

/** Load workers for `devices` (pairs 2k, 2k+1 talk to each other; with 2 instances each pair spans both). */
async function startLoad(relays: RelayProcess[], devices: BenchDevice[]): Promise<JsonChild[]> {
  const workers: JsonChild[] = [];
  const pairs = devices.length / 2;
  const perWorker = Math.ceil(pairs / opts.loadWorkers);
  for (let w = 0; w < opts.loadWorkers; w++) {
    const mine: LoadDevice[] = [];
    for (let p = w * perWorker; p < Math.min(pairs, (w + 1) * perWorker); p++) {
      for (const side of [0, 1]) {
        const d = devices[2 * p + side] as BenchDevice;
        const relay = relays[side % relays.length] as RelayProcess;
        mine.push({
          accountId: d.accountId,
          registrationId: d.registrationId,
          token: d.token,
          baseUrl: relay.url,
          wsUrl: relay.wsUrl,
          partner: mine.length + (side === 0 ? 1 : -1),
        });
      }
    }
    if (mine.length === 0) {
      continue;
    }
    const file = join(workDir, `load-${w}-${Date.now()}.json`);
    await writeFile(file, JSON.stringify({ devices: mine, contentBytes: opts.contentBytes } satisfies LoadConfig));
    const child = JsonChild.spawn('relay/bench/load-worker.ts', [file]);
    children.add(child);
    workers.push(child);
  }
  await Promise.all(workers.map((w) => w.next('ready', 60_000)));
  return workers;
}

async function runPhase(
  relays: RelayProcess[],
  workers: JsonChild[],
  cmd: Omit<RunCommand, 'type'>,
): Promise<PhaseFigures> {
  await vacuumEnvelopes((db as BenchDatabase).sql);
  for (const w of workers) {
    w.send({ type: 'run', ...cmd });
  }
  const budget = cmd.warmupMs + cmd.durationMs + cmd.drainMs + 30_000;
  const pending = Promise.all(workers.map((w) => w.next<LoadResult>('result', budget)));
  await sleep(cmd.warmupMs);
  const runtimeBefore = await Promise.all(relays.map((r) => relayRuntime(r.url)));
  const cpuBefore = cpuSnapshot(
    relays.map((r) => r.child),
    workers,
  );
  await sleep(cmd.durationMs);
  const cpuAfter = cpuSnapshot(
    relays.map((r) => r.child),
    workers,
  );
  const runtimeAfter = await Promise.all(relays.map((r) => relayRuntime(r.url)));
  const results = await pending;
  const latencies = results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const sendErrors: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.sendErrors)) {
      sendErrors[k] = (sendErrors[k] ?? 0) + v;
    }
  }
  const deliveredInWindow = results.reduce((a, r) => a + r.deliveredInWindow, 0);
  // Acked envelopes are deleted: the queues must be empty again.
  let queueLeft = -1;
  for (let i = 0; i < 50; i++) {
    const [row] = await (db as BenchDatabase).sql<{ n: number }[]>`SELECT count(*)::int AS n FROM envelopes`;
    queueLeft = row?.n ?? 0;
    if (queueLeft === 0) {
      break;
    }
    await sleep(100);
  }
  const perMessage = (key: Exclude<keyof typeof cpuAfter, 'machine'>, scale = 1000) =>
    ((cpuAfter[key] - cpuBefore[key]) * scale) / Math.max(1, deliveredInWindow);
  return {
    cpuUs: {
      relay: perMessage('relay'),
      postgres: perMessage('postgres'),
      redis: perMessage('redis'),
      load: perMessage('load'),
    },
    relayKernelUs: perMessage('relayKernel'),
    relayCalls: perMessage('relayCalls', 1),
    machineBusyPct:
      (100 * (cpuAfter.machine.busy - cpuBefore.machine.busy)) /
      Math.max(1, cpuAfter.machine.total - cpuBefore.machine.total),
    relayRuntime: runtimeDuring(runtimeBefore, runtimeAfter),
    messagesPerS: deliveredInWindow / (cmd.durationMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    meanToAccept: results.reduce((a, r) => a + r.toAcceptMsSum, 0) / Math.max(1, latencies.length),
    meanAcceptToDelivery: results.reduce((a, r) => a + r.acceptToDeliveryMsSum, 0) / Math.max(1, latencies.length),
    sent: results.reduce((a, r) => a + r.sent, 0),
    delivered: results.reduce((a, r) => a + r.deliveredTotal, 0),
    undelivered: results.reduce((a, r) => a + r.undelivered, 0),
    unanswered: results.reduce((a, r) => a + r.unanswered, 0),
    unansweredSamples: results.flatMap((r) => r.unansweredSamples),
    duplicates: results.reduce((a, r) => a + r.duplicates, 0),
    sendErrors,
    queueLeft,
  };
}

const peakCmd = (transport: Transport = 'ws'): Omit<RunCommand, 'type'> => ({
  transport,
  mode: 'closed',
  inflight: opts.inflight,
  ratePerDevice: 0,
  warmupMs: opts.warmup * 1000,
  durationMs: opts.duration * 1000,
  drainMs: 15_000,
});

/** Idle authenticated sockets on one fresh instance: RSS before, after a warm-up 1,000, and after all. */
async function idleSockets(
  devices: BenchDevice[],
): Promise<{ perSocketKib: number; perSocketTotalKib: number; open: number }> {
  const relay = await startRelay((db as BenchDatabase).url);
  const workers: JsonChild[] = [];
  try {
    const per = Math.ceil(devices.length / opts.idleWorkers);
    for (let w = 0; w < opts.idleWorkers; w++) {
      const tokens = devices.slice(w * per, (w + 1) * per).map((d) => d.token);
      const file = join(workDir, `idle-${w}.json`);
      await writeFile(file, JSON.stringify({ wsUrl: relay.wsUrl, tokens, concurrency: 50 }));
      const child = JsonChild.spawn('relay/bench/idle-worker.ts', [file]);
      children.add(child);
      workers.push(child);
    }
    await Promise.all(workers.map((w) => w.next('ready', 60_000)));
    await sleep(2000);
    const rss0 = rssKib(relay.child.child.pid as number);
    const warm = Math.min(1000, Math.floor(devices.length / 4));
    const warmPer = Math.ceil(warm / workers.length);
    for (const w of workers) {
      w.send({ type: 'connect', count: warmPer });
    }
    let open = (await Promise.all(workers.map((w) => w.next<{ open: number }>('connected', 120_000)))).reduce(
      (a, r) => a + r.open,
      0,
    );
    await sleep(2000);
    const rss1 = rssKib(relay.child.child.pid as number);
    const open1 = open;
    for (const w of workers) {
      w.send({ type: 'connect', count: per });
    }
    const done = await Promise.all(workers.map((w) => w.next<{ open: number; failed: number }>('connected', 300_000)));
    open = done.reduce((a, r) => a + r.open, 0);
    const failed = done.reduce((a, r) => a + r.failed, 0);
    await sleep(3000);
    const rss2 = rssKib(relay.child.child.pid as number);
    out(
      `idle sockets: relay RSS ${round(rss0 / 1024)} MiB with none, ${round(rss1 / 1024)} MiB with ${open1}, ` +
        `${round(rss2 / 1024)} MiB with ${open} (${failed} failed to connect)`,
    );
    return {
      perSocketKib: (rss2 - rss1) / Math.max(1, open - open1),
      perSocketTotalKib: (rss2 - rss0) / Math.max(1, open),
      open,
    };
  } finally {
    await Promise.all(workers.map((w) => stop(w)));
    await stop(relay.child);
  }
}

async function main(): Promise<void> {
  workDir = await mkdtemp(join(tmpdir(), 'sotto-relay-bench-'));
  const cpu = cpus();
  out(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ws masking ${wsMasking()}`,
  );
  out(
    `devices ${opts.devices} (${opts.devices / 2} pairs, ${opts.inflight} send(s) in flight each, as socket send frames unless noted), ${opts.contentBytes}-byte envelopes, ` +
      `${opts.warmup}+${opts.duration} s per phase, ${opts.loadWorkers} load processes`,
  );
  db = await createBenchDatabase();
  const all = await seedDevices(db.sql, 2 * opts.devices + opts.idleSockets);
  const devices = all.slice(0, opts.devices);
  // The ceilings write to devices that never connect: rows for the load's devices were delivered (and counted
  // in the next phase) by a connected relay, which also competed with the ceiling it was measured against.
  const ceilingDevices = all.slice(opts.devices, 2 * opts.devices);
  const idle = all.slice(2 * opts.devices);

  // This machine's speed drifts (the INSERT ceiling has moved from 52,000 to 28,000 rows/s within one run):
  // each peak is compared with the INSERT ceilings measured just before and just after it (their mean).
  const insertRuns: number[] = [];
  const insertDeleteRuns: number[] = [];
  const pubsubRuns: number[] = [];
  const measureCeilings = async (when: string): Promise<number> => {
    const sql = (db as BenchDatabase).sql;
    const insert = await insertCeiling(sql, ceilingDevices, opts.contentBytes, { ms: 3000 });
    const insertDelete = await insertDeleteCeiling(sql, ceilingDevices, opts.contentBytes, { ms: 3000 });
    const pubsub = await pubsubCeiling(opts.redisUrl, redisPrefix, ceilingDevices, opts.contentBytes, { ms: 3000 });
    insertRuns.push(insert);
    insertDeleteRuns.push(insertDelete);
    pubsubRuns.push(pubsub);
    out(
      `ceilings ${when.padEnd(25)} raw batched INSERT (100 rows, 4 in flight) ${round(insert, 0)} rows/s, ` +
        `INSERT then ack DELETE ${round(insertDelete, 0)} rows/s, ` +
        `raw Redis pub/sub (64 PUBLISH in flight) ${round(pubsub, 0)} msgs/s`,
    );
    return insert;
  };
  const beforePeak1 = await measureCeilings('(before)');
  let afterPeak1 = Number.NaN;

  const phases = new Set(opts.phases.split(',').map((p) => p.trim()));
  const skipped: PhaseFigures = {
    messagesPerS: Number.NaN,
    p50: Number.NaN,
    p99: Number.NaN,
    meanToAccept: Number.NaN,
    meanAcceptToDelivery: Number.NaN,
    sent: 0,
    delivered: 0,
    undelivered: 0,
    unanswered: 0,
    unansweredSamples: [],
    duplicates: 0,
    sendErrors: {},
    queueLeft: 0,
    cpuUs: { relay: Number.NaN, postgres: Number.NaN, redis: Number.NaN, load: Number.NaN },
    relayKernelUs: Number.NaN,
    relayCalls: Number.NaN,
    machineBusyPct: Number.NaN,
    relayRuntime: {
      minorMs: Number.NaN,
      minorPauses: Number.NaN,
      majorMs: Number.NaN,
      majorPauses: Number.NaN,
      lagMaxMs: Number.NaN,
    },
  };
  let peak1 = skipped;
  let quarter = skipped;
  let half = skipped;
  let peakHttp = skipped;
  let peak2 = skipped;
  if (phases.has('peak') || phases.has('http') || opts.rate !== undefined) {
    const one = await startRelay((db as BenchDatabase).url);
    const workers = await startLoad([one], devices);
    if (phases.has('peak')) {
      peak1 = await runPhase([one], workers, peakCmd());
      describePhase('1 instance, peak', peak1);
      afterPeak1 = await measureCeilings('(after 1-instance peak)');
    }
    for (const [name, share] of [
      ['quarter', 0.25],
      ['half', 0.5],
    ] as const) {
      const fixed = name === 'half' ? opts.rate : undefined;
      if (phases.has(name) && (phases.has('peak') || fixed !== undefined)) {
        const rate = fixed ?? peak1.messagesPerS * share;
        const figures = await runPhase([one], workers, {
          ...peakCmd(),
          mode: 'open',
          ratePerDevice: rate / opts.devices,
        });
        describePhase(`1 instance, ${name} load (${round(rate, 0)}/s)`, figures);
        if (name === 'half') {
          half = figures;
        } else {
          quarter = figures;
        }
      }
    }
    if (phases.has('http')) {
      peakHttp = await runPhase([one], workers, peakCmd('http'));
      describePhase('1 instance, peak, sends as HTTP PUT', peakHttp);
    }
    await Promise.all(workers.map((w) => stop(w)));
    await stop(one.child);
  }
  const beforePeak2 = await measureCeilings('(before 2 instances)');
  if (phases.has('two')) {
    const pair = [await startRelay((db as BenchDatabase).url), await startRelay((db as BenchDatabase).url)];
    const workers = await startLoad(pair, devices);
    peak2 = await runPhase(pair, workers, peakCmd());
    describePhase('2 instances, peak (pairs span both)', peak2);
    await Promise.all(workers.map((w) => stop(w)));
    await Promise.all(pair.map((r) => stop(r.child)));
  }
  const afterPeak2 = await measureCeilings('(after)');
  const median = (runs: number[]) =>
    percentile(
      [...runs].sort((a, b) => a - b),
      50,
    );
  const ceilingInsert = median(insertRuns);
  const ceilingInsertDelete = median(insertDeleteRuns);
  const ceilingPubsub = median(pubsubRuns);
  out(
    `ceilings, median: INSERT ${round(ceilingInsert, 0)} rows/s, INSERT then ack DELETE ${round(ceilingInsertDelete, 0)} rows/s, ` +
      `pub/sub ${round(ceilingPubsub, 0)} msgs/s`,
  );

  let idleFigures = { perSocketKib: Number.NaN, perSocketTotalKib: Number.NaN, open: 0 };
  if (idle.length > 0) {
    idleFigures = await idleSockets(idle);
  }

  report({
    devices: opts.devices,
    peak1,
    quarter,
    half,
    peakHttp,
    peak2,
    insertRuns,
    ceilingInsert,
    ceilingInsertDelete,
    ceilingAroundPeak1: (beforePeak1 + afterPeak1) / 2,
    ceilingAroundPeak2: (beforePeak2 + afterPeak2) / 2,
    ceilingPubsub,
    idle: idleFigures,
  });
}

async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => c.kill().catch(() => undefined)));
  await db?.drop().catch(() => undefined);
  if (workDir) {
    await rm(workDir, { recursive: true, force: true });
  }
}

const deadline = setTimeout(() => {
  process.stderr.write(`bench: time limit of ${opts.timeLimit} s reached; aborting\n`);
  void cleanup().finally(() => process.exit(1));
}, opts.timeLimit * 1000);
deadline.unref();

main()
  .then(cleanup, async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => clearTimeout(deadline));
