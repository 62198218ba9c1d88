import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const START_TIMEOUT_MS = 30_000;

export interface RelayProcess {
  url: string;
  port: number;
  /** Its Postgres database (what a compromised relay could edit). */
  databaseUrl: string;
  /** The prefix of its Redis channels. */
  redisPrefix: string;
  /** Stops the relay (the database stays) — for offline scenarios. */
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  restart(): Promise<void>;
  /** Stops it and drops its database. */
  close(): Promise<void>;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

function spawnRelay(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', 'relay/src/server.ts'], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolvePort, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`relay did not start in ${START_TIMEOUT_MS} ms: ${stderr.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n').slice(0, -1)) {
        try {
          const parsed = JSON.parse(line) as { msg?: string; port?: number };
          if (parsed.msg === 'relay listening' && typeof parsed.port === 'number') {
            clearTimeout(timer);
            resolvePort({ child, port: parsed.port });
          }
        } catch {
          // not a JSON log line
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** A real relay as a child process, on a fresh Postgres database and a random Redis prefix. */
export async function startRelayProcess(): Promise<RelayProcess> {
  const dbName = `sotto_desktop_e2e_${randomBytes(6).toString('hex')}`;
  // unsafe: identifiers cannot be parameters; the name is our own random hex.
  await admin((sql) => sql.unsafe(`CREATE DATABASE ${dbName}`));
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const env: Record<string, string> = {
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: `sotto-e2e-${randomBytes(6).toString('hex')}:`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '0',
    RATE_REGISTER_POINTS: '100000',
    RATE_TOKEN_POINTS: '100000',
    RATE_PREKEY_POINTS: '100000',
    RATE_LOOKUP_POINTS: '100000',
    RATE_SEND_POINTS: '100000',
  };
  let current = await spawnRelay(env);
  const port = current.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    databaseUrl: env.DATABASE_URL ?? '',
    redisPrefix: env.REDIS_PREFIX ?? '',
    stop: () => stopChild(current.child),
    async restart() {
      current = await spawnRelay({ ...env, PORT: String(port) });
    },
    async close() {
      await stopChild(current.child);
      // unsafe: see above.
      await admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    },
  };
}
