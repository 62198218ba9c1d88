/**
 * Catch-up only (a quicker loop than `npm run bench:core` while tuning the receive path):
 * `BENCH_CATCHUP=10000 BENCH_ROUNDS=2 node --import tsx --conditions source desktop/bench/catchup-bench.ts`.
 * Each round queues BENCH_CATCHUP messages for an offline profile, then a fresh process opens it and
 * drains the queue. BENCH_CPU_PROF=DIR writes a V8 CPU profile of each catch-up process there.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Profile } from '../src/core/profile.js';
import { PassphraseSecretStore } from '../src/core/secrets/passphrase-secret-store.js';
import { REPO_ROOT, startRelay } from '../test/integration/support/relay-process.js';

const COUNT = Number(process.env.BENCH_CATCHUP ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const PROF_DIR = process.env.BENCH_CPU_PROF;
const PASSPHRASE = 'catch-up bench passphrase';

function catchUp(dir: string): Promise<string> {
  const args = [
    ...(PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : []),
    '--import',
    'tsx',
    '--conditions',
    'source',
    'desktop/bench/catchup-child.ts',
    dir,
    PASSPHRASE,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`))));
  });
}

const root = mkdtempSync(join(tmpdir(), 'sotto-catchup-'));
const relay = await startRelay();
try {
  const suffix = randomBytes(3).toString('hex');
  const make = (name: string) => {
    const dir = join(root, name);
    return new Profile(dir, { secretStore: new PassphraseSecretStore(dir, PASSPHRASE) });
  };
  const alice = (await make('alice').registerMessenger({ relayUrl: relay.url, username: `alice_${suffix}` })).messenger;
  const bob = await make('bob').registerMessenger({ relayUrl: relay.url, username: `bob_${suffix}` });
  await bob.messenger.close();
  const conv = await alice.startConversation(`bob_${suffix}`);
  const body = 'x'.repeat(200);
  for (let round = 0; round < ROUNDS; round++) {
    const sendStart = performance.now();
    for (let i = 0; i < COUNT; i++) {
      await alice.sendText(conv.id, `queued ${i} ${body}`);
    }
    for (let i = 0; i < 100_000 && alice.pendingOutgoing() > 0; i++) {
      await alice.flushOutgoing();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const sendSeconds = (performance.now() - sendStart) / 1000;
    const result = await catchUp(join(root, 'bob'));
    console.log(`round ${round}: queued ${COUNT} in ${sendSeconds.toFixed(1)} s; catch-up ${result}`);
  }
  await alice.close();
} finally {
  await relay.stop();
  rmSync(root, { recursive: true, force: true });
}
process.exit(0);
