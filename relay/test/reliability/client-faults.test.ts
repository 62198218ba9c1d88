import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { PrivateRedis } from '../support/private-redis.js';
import { CanaryScanner } from './support/canaries.js';
import { cli, finished, inspectDatabase, jsonLines, spawnCli } from './support/cli-client.js';
import { pick, recordFigures } from './support/profile.js';
import { RelayProcess } from './support/relay-process.js';
import { sleep } from './support/sequential-sender.js';

const KILLS = pick(20, 200);
/** How often (in kills) the database is opened and integrity-checked between kills. */
const CHECK_EVERY = pick(4, 5);
const CANARY = `canary${randomBytes(9).toString('hex')}`;

let db: TestDatabase;
let redis: PrivateRedis;
let relay: RelayProcess;
let home: string;
const logLines: string[] = [];
const redisTraffic: string[] = [];
let monitorClient: Redis | undefined;
let monitor: Redis | undefined;
const figures: Record<string, number> = {};
const examples: Record<string, string> = {};

interface Shown {
  from: string;
  text: string;
  kind: string;
  id: string;
  sentAt: number;
}

const profile = (name: string) => join(home, name);

/** Every file of a profile folder (database, WAL, SHM, profile and key files) scanned for the plaintext canary. */
function scanProfile(name: string): { files: number; walBytes: number; hits: string[] } {
  const scanner = new CanaryScanner();
  scanner.add('message plaintext', CANARY);
  const hits: string[] = [];
  let files = 0;
  let walBytes = 0;
  for (const file of readdirSync(profile(name))) {
    files += 1;
    const bytes = readFileSync(join(profile(name), file));
    if (file.endsWith('-wal')) {
      walBytes += bytes.length;
    }
    for (const text of [bytes.toString('latin1'), bytes.toString('utf16le')]) {
      hits.push(...scanner.scan(`${name}/${file}`, text).map((h) => h.where));
    }
  }
  return { files, walBytes, hits };
}

async function register(name: string, username: string): Promise<void> {
  const r = await cli(profile(name), ['register', '--relay', relay.url, '--username', username]);
  if (r.code !== 0) {
    throw new Error(`register ${username} failed: ${r.stderr}`);
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'sotto-clients-'));
  db = await createTestDatabase();
  redis = await PrivateRedis.start();
  monitorClient = new Redis(redis.url);
  monitor = await monitorClient.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    redisTraffic.push(args.join(' '));
  });
  relay = await RelayProcess.start({
    databaseUrl: db.url,
    redisUrl: redis.url,
    redisPrefix: 'clients:',
    env: { LOG_LEVEL: 'debug' },
    onLine: (line) => logLines.push(line),
  });
}, 60_000);
afterAll(async () => {
  recordFigures('client-faults', { ...figures, ...examples });
  monitor?.disconnect();
  monitorClient?.disconnect();
  await relay?.stop();
  await redis?.stop();
  await db?.drop();
  if (home) {
    rmSync(home, { recursive: true, force: true });
  }
});

const suffix = randomBytes(3).toString('hex');
const ALICE = `alice_${suffix}`;
const BOB = `bob_${suffix}`;

describe('client-side faults with the sotto CLI as child processes', () => {
  it(
    `${KILLS} random SIGKILLs of a receiving client under load: database intact, nothing lost or shown twice, next message decrypts`,
    async () => {
      await register('alice', ALICE);
      await register('bob', BOB);
      // Load: Alice sends numbered messages, one process after another, for as long as Bob is being killed.
      const sent: number[] = [];
      let sending = true;
      let sendFailures = 0;
      const sendFailureExamples: string[] = [];
      const earlyExits: string[] = [];
      const sender = (async () => {
        for (let n = 1; sending && n < 100_000; n++) {
          const r = await cli(profile('alice'), ['send', BOB, `m${n} ${CANARY}`]);
          if (r.code === 0) {
            sent.push(n);
          } else {
            sendFailures += 1;
            if (sendFailureExamples.length < 3) {
              sendFailureExamples.push(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
            }
          }
        }
      })();
      const integrity: string[] = [];
      let kills = 0;
      let killedOnDisplay = 0;
      for (let k = 0; k < KILLS; k++) {
        // Every other kill at a random moment (starting, connecting, decrypting, committing, acking); the others
        // the instant a message is displayed, i.e. after its commit and before (or while) it is acked.
        const child = spawnCli(profile('bob'), ['receive', '--timeout', '60', '--json']);
        const done = finished(child, 60_000);
        if (k % 2 === 0) {
          await sleep(100 + Math.random() * pick(600, 1200));
        } else {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pick(1500, 3000));
            child.stdout?.on('data', (d: Buffer) => {
              if (d.toString().includes('{')) {
                clearTimeout(timer);
                killedOnDisplay += 1;
                resolve();
              }
            });
          });
        }
        child.kill('SIGKILL');
        const run = await done;
        if (run.signal === 'SIGKILL') {
          kills += 1;
        } else if (earlyExits.length < 5) {
          // It ended by itself before the kill: how?
          earlyExits.push(`exit ${run.code}: ${run.stderr.trim().slice(0, 300)}`);
        }
        if ((k + 1) % CHECK_EVERY === 0 || k === KILLS - 1) {
          const inspected = await inspectDatabase(profile('bob'));
          integrity.push(inspected.integrity);
        }
      }
      sending = false;
      await sender;
      // Right after a SIGKILL the WAL (and SHM) are still on disk, unmerged: scan them now.
      const afterKill = scanProfile('bob');
      figures.wal_bytes_scanned_after_kill = afterKill.walBytes;
      figures.canary_hits = (figures.canary_hits ?? 0) + afterKill.hits.length;
      expect(afterKill.hits).toEqual([]);
      // Catch up with a receiver that is left to finish, then one more message must decrypt.
      const catchUp = await cli(profile('bob'), ['receive', '--timeout', '2', '--json'], { timeoutMs: 120_000 });
      const last = await cli(profile('alice'), ['send', BOB, `last ${CANARY}`]);
      const lastRun = await cli(profile('bob'), ['receive', '--timeout', '2', '--json'], { timeoutMs: 60_000 });
      const history = await cli(profile('bob'), ['history', ALICE, '--json', '--limit', '100000']);
      const shown = jsonLines<Shown>(history.stdout);
      const numbers = shown.flatMap((m) => (m.kind === 'text' ? [/^m(\d+) /.exec(m.text)?.[1]] : [])).map(Number);
      const counts = new Map<number, number>();
      for (const n of numbers) {
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      const lost = sent.filter((n) => !counts.has(n)).length;
      const duplicated = [...counts.values()].reduce((d, c) => d + (c - 1), 0);
      let reordered = 0;
      numbers.reduce((top, n) => {
        if (n < top) {
          reordered += 1;
        }
        return Math.max(top, n);
      }, 0);
      const decryptionErrors = shown.filter((m) => m.kind === 'decryption_error').length;
      const final = await inspectDatabase(profile('bob'));
      Object.assign(figures, {
        kills,
        kills_right_after_display: killedOnDisplay,
        messages_sent: sent.length,
        send_failures: sendFailures,
        lost,
        duplicated,
        reordered,
        decryption_errors: decryptionErrors,
        integrity_checks: integrity.length + 1,
        integrity_failures: [...integrity, final.integrity].filter((r) => r !== 'ok').length,
      });
      Object.assign(examples, {
        ...(sendFailureExamples.length ? { send_failure_examples: sendFailureExamples.join(' | ') } : {}),
        ...(earlyExits.length ? { receiver_early_exits: earlyExits.join(' | ') } : {}),
      });
      expect(earlyExits).toEqual([]);
      expect(kills).toBe(KILLS);
      expect(sent.length).toBeGreaterThan(5);
      expect([...integrity, final.integrity].filter((r) => r !== 'ok')).toEqual([]);
      expect(catchUp.code).toBe(0);
      expect(last.code).toBe(0);
      expect(jsonLines<Shown>(lastRun.stdout).map((m) => m.text)).toEqual([`last ${CANARY}`]);
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
      expect(reordered).toBe(0);
      expect(decryptionErrors).toBe(0);
      expect(final.wrongKey).toBe('wrong_key');
    },
    pick(240_000, 1_200_000),
  );

  it('clocks 5 minutes ahead and behind (faketime): delivered both ways, once, in order', async () => {
    const carol = `carol_${suffix}`;
    const dave = `dave_${suffix}`;
    await register('carol', carol);
    await register('dave', dave);
    const ahead = { faketime: '+5m' };
    const behind = { faketime: '-5m' };
    const results: number[] = [];
    for (let i = 1; i <= 2; i++) {
      results.push((await cli(profile('carol'), ['send', dave, `ahead${i} ${CANARY}`], ahead)).code ?? -1);
    }
    const atDave = await cli(profile('dave'), ['receive', '--timeout', '1', '--json'], behind);
    for (let i = 1; i <= 2; i++) {
      results.push((await cli(profile('dave'), ['send', carol, `behind${i} ${CANARY}`], behind)).code ?? -1);
    }
    const atCarol = await cli(profile('carol'), ['receive', '--timeout', '1', '--json'], ahead);
    const again = await cli(profile('dave'), ['receive', '--timeout', '1', '--json'], behind);
    figures.skew_messages = 4;
    expect(results).toEqual([0, 0, 0, 0]);
    expect(jsonLines<Shown>(atDave.stdout).map((m) => m.text.split(' ')[0])).toEqual(['ahead1', 'ahead2']);
    expect(jsonLines<Shown>(atCarol.stdout).map((m) => m.text.split(' ')[0])).toEqual(['behind1', 'behind2']);
    expect(jsonLines<Shown>(again.stdout)).toEqual([]);
  }, 120_000);

  it('after the whole session: the plaintext canary is nowhere at rest (client files with WAL, relay tables, Redis, logs)', async () => {
    const scanner = new CanaryScanner();
    scanner.add('message plaintext', CANARY);
    const hits: string[] = [];
    let files = 0;
    for (const name of readdirSync(home)) {
      const scanned = scanProfile(name);
      files += scanned.files;
      hits.push(...scanned.hits);
    }
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const rows = await sql<{ t: string }[]>`SELECT encode(content, 'escape') AS t FROM envelopes`;
    const dump = await sql<{ t: string }[]>`
      SELECT string_agg(row_to_json(a)::text, E'\\n') AS t FROM accounts a`;
    await sql.end();
    hits.push(...scanner.scan('postgres envelopes', rows.map((r) => r.t).join('\n')).map((h) => h.where));
    hits.push(...scanner.scan('postgres accounts', dump[0]?.t ?? '').map((h) => h.where));
    hits.push(...scanner.scan('redis traffic', redisTraffic.join('\n')).map((h) => h.where));
    hits.push(...scanner.scan('relay logs', logLines.join('\n')).map((h) => h.where));
    // A wrong passphrase opens nothing and prints nothing of the history.
    const wrong = await cli(profile('bob'), ['history', ALICE, '--json'], { passphrase: 'not-the-passphrase' });
    figures.canary_files_scanned = files;
    figures.canary_hits = (figures.canary_hits ?? 0) + hits.length;
    expect(files).toBeGreaterThan(4);
    expect(hits).toEqual([]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).not.toContain(CANARY);
  }, 120_000);
});
