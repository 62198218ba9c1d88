import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one SQL statement as the postgres superuser through psql (trust auth on 127.0.0.1). */
export function psql(statement: string, url = ADMIN_URL): string {
  const result = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', statement], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`psql failed: ${result.stderr}`);
  }
  return result.stdout;
}

/**
 * After editing device rows by hand (as a compromised relay would), tell the relay's instances the way the
 * relay itself announces a device-list change, so the edit is not hidden behind their device-list cache.
 */
export function announceDevicesChanged(relay: Pick<RelayProcess, 'redisPrefix'>, accountId: string): void {
  if (!relay.redisPrefix) {
    throw new Error('only a relay on Redis can be told from outside');
  }
  const result = spawnSync(
    'redis-cli',
    ['-h', '127.0.0.1', 'PUBLISH', `${relay.redisPrefix}devices-changed`, `test.0 ${accountId}`],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0 || Number(result.stdout.trim()) < 1) {
    throw new Error(`announcing the change reached no relay: ${result.stderr}${result.stdout}`);
  }
}

/**
 * What a compromised relay does to put itself in the middle: it serves the impostor's identity key,
 * registration id and prekeys for the victim's account (the impostor's own account loses them).
 */
export function serveImpostorKeys(databaseUrl: string, victim: string, impostor: string): void {
  const prekeyTables = ['signed_prekeys', 'kyber_last_resort_prekeys', 'one_time_prekeys', 'one_time_kyber_prekeys'];
  psql(
    `BEGIN;
     UPDATE accounts SET identity_key = (SELECT identity_key FROM accounts WHERE id = '${impostor}') WHERE id = '${victim}';
     UPDATE devices SET registration_id = (SELECT registration_id FROM devices WHERE account_id = '${impostor}' AND device_id = 1) WHERE account_id = '${victim}';
     ${prekeyTables.map((t) => `DELETE FROM ${t} WHERE account_id = '${victim}';`).join('\n')}
     ${prekeyTables.map((t) => `UPDATE ${t} SET account_id = '${victim}' WHERE account_id = '${impostor}';`).join('\n')}
     COMMIT;`,
    databaseUrl,
  );
}

/** Every row of every table of a database, as pg_dump text. */
export function dumpDatabase(url: string): Buffer {
  const result = spawnSync('pg_dump', ['--data-only', url], { maxBuffer: 512 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`pg_dump failed: ${result.stderr.toString()}`);
  }
  return result.stdout;
}

export interface RelayProcess {
  url: string;
  port: number;
  /** Everything the relay wrote to stdout and stderr. */
  logs: () => string;
  databaseUrl: string | undefined;
  redisPrefix: string | undefined;
  dataDir: string | undefined;
  /** Bearer token for the relay's /metrics (off without one). */
  metricsToken: string;
  stop: () => Promise<void>;
}

/**
 * Spawns the real relay. `embedded`: PGlite + in-process fan-out in a temp folder. Otherwise a fresh
 * Postgres database (dropped on stop) and Redis with a random key prefix.
 */
export async function startRelay(
  options: { embedded?: boolean; env?: Record<string, string> } = {},
): Promise<RelayProcess> {
  const id = randomBytes(6).toString('hex');
  let databaseUrl: string | undefined;
  let redisPrefix: string | undefined;
  let dataDir: string | undefined;
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    RATE_REGISTER_POINTS: '100000',
    RATE_TOKEN_POINTS: '100000',
    RATE_PREKEY_POINTS: '100000',
    RATE_LOOKUP_POINTS: '100000',
    RATE_SEND_POINTS: '1000000',
    METRICS_TOKEN: randomBytes(16).toString('hex'),
    ...options.env,
  };
  if (options.embedded) {
    dataDir = mkdtempSync(join(tmpdir(), 'sotto-relay-'));
    env.SOTTO_DATA_DIR = dataDir;
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
  } else {
    const dbName = `sotto_core_${id}`;
    psql(`CREATE DATABASE ${dbName}`); // the name is ours: [a-z0-9_]
    databaseUrl = `postgres://postgres@127.0.0.1:5432/${dbName}`;
    redisPrefix = `sotto-core-test-${id}:`;
    env.DATABASE_URL = databaseUrl;
    env.REDIS_URL = 'redis://127.0.0.1:6379';
    env.REDIS_PREFIX = redisPrefix;
  }
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      // SOTTO_RELAY_CPU_PROF=DIR: a V8 CPU profile of the relay, written when it stops (benches).
      ...(process.env.SOTTO_RELAY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SOTTO_RELAY_CPU_PROF}`] : []),
      '--import',
      'tsx',
      '--conditions',
      'source',
      'relay/src/server.ts',
    ],
    {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // Everything the relay prints, for tests that read its logs: appended once, as it arrives.
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Only the lines up to "relay listening" are read, each once. Scanning the whole output again on every
  // chunk, for the relay's whole life, had cost the process that started it quadratic time as the logs grew
  // (47 % of the CPU of a process that had sent 20,000 messages).
  const port = await new Promise<number>((resolve, reject) => {
    const watchers: [Readable, (chunk: Buffer) => void][] = [];
    const stopWatching = () => {
      clearTimeout(timer);
      for (const [stream, watch] of watchers) {
        stream.off('data', watch);
      }
    };
    const timer = setTimeout(() => {
      stopWatching();
      reject(new Error(`relay did not start:\n${output}`));
    }, 60_000);
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      const watch = (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.includes('"relay listening"'))) {
          try {
            const listening = JSON.parse(line) as { port: number };
            stopWatching();
            resolve(listening.port);
            return;
          } catch {
            // not the log line itself
          }
        }
      };
      stream?.on('data', watch);
      if (stream) {
        watchers.push([stream, watch]);
      }
    }
    child.once('exit', (code) => {
      stopWatching();
      reject(new Error(`relay exited (${code}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    logs: () => output,
    databaseUrl,
    redisPrefix,
    dataDir,
    metricsToken: env.METRICS_TOKEN ?? '',
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      if (databaseUrl) {
        psql(`DROP DATABASE IF EXISTS ${databaseUrl.split('/').pop()} WITH (FORCE)`);
      }
      if (dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
