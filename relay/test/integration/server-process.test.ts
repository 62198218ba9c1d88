import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTEN_BACKLOG } from '../../src/relay.js';
import { LOCK_FILE } from '../../src/store/data-dir-lock.js';
import { api } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { randomRedisPrefix, startTestRelay, TEST_REDIS_URL } from '../support/relay.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let child: ChildProcess | undefined;
let db: TestDatabase | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await db?.drop();
});

describe('relay/src/server.ts as a child process', () => {
  it('prints "relay listening" with the actual port for PORT=0, serves, and stops on SIGTERM', async () => {
    db = await createTestDatabase();
    child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', 'relay/src/server.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: randomRedisPrefix(),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    const lines: string[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${lines.join('\n')}`)), 20_000);
      let buffer = '';
      proc.stdout?.on('data', (d: Buffer) => {
        buffer += d.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (line.includes('"msg":"relay listening"')) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        }
      });
      proc.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    expect(port).toBeGreaterThan(0);
    expect((await api(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status).toBe(200);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('relay stopped'))).toBe(true);
  });

  it('refuses to start with bad configuration, listing every bad variable', async () => {
    const bad = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', 'relay/src/server.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: 'abc', REGISTRATION_POLICY: 'sometimes', DATABASE_URL: 'not a url' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((r) => bad.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    for (const name of ['PORT', 'REGISTRATION_POLICY', 'DATABASE_URL']) {
      expect(stderr).toContain(name);
    }
  });

  it('says what to do when it cannot start: Postgres unreachable or refusing, the port taken, a data path unusable', async () => {
    db ??= await createTestDatabase();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as { port: number }).port;
    const dbUrl = new URL(db.url);
    const withDatabase = (name: string) => Object.assign(new URL(dbUrl.href), { pathname: `/${name}` }).href;
    const start = async (env: Record<string, string>) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', 'relay/src/server.ts'], {
        cwd: repoRoot,
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: '', DATABASE_URL: db?.url ?? '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      proc.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
      const fatal = stderr.split('\n').find((line) => line.includes('"level":"fatal"')) ?? stderr;
      return { code, msg: (JSON.parse(fatal) as { msg: string }).msg, stderr };
    };
    try {
      const results = await Promise.all([
        start({ DATABASE_URL: 'postgres://relay:hunter2-secret@127.0.0.1:1/sotto' }),
        start({ DATABASE_URL: withDatabase('no_such_database_here') }),
        start({ PORT: String(busyPort) }),
        start({ BLOB_DIR: '/etc/passwd/blobs' }),
      ]);
      expect(results.map((r) => r.code)).toEqual([1, 1, 1, 1]);
      expect(results.map((r) => r.msg)).toEqual([
        'relay failed to start: cannot reach Postgres at 127.0.0.1:1 (DATABASE_URL): ECONNREFUSED. Start Postgres or ' +
          'correct DATABASE_URL; leave DATABASE_URL empty to use the embedded database instead',
        `relay failed to start: there is no database "no_such_database_here" on ${dbUrl.hostname}:${dbUrl.port || '5432'} ` +
          '(DATABASE_URL): create it (createdb no_such_database_here) or correct DATABASE_URL',
        `relay failed to start: 127.0.0.1:${busyPort} is already in use (HOST, PORT): stop what listens there or choose another PORT`,
        "relay failed to start: cannot create or write /etc/passwd/blobs (ENOTDIR): point SOTTO_DATA_DIR (and BLOB_DIR) at a directory the relay's user can write, with free space",
      ]);
      expect(results[0]?.stderr).not.toContain('hunter2-secret');
    } finally {
      busy.close();
    }
  });

  it('listens with a deep accept queue, so a reconnect storm is not left to TCP SYN retries', async () => {
    const relay = await startTestRelay();
    try {
      const ss = spawnSync('ss', ['-ltnH', `sport = :${relay.port}`], { encoding: 'utf8' });
      expect(ss.status, ss.stderr).toBe(0);
      // State, Recv-Q, Send-Q (the backlog of a listening socket), …
      const backlog = Number(ss.stdout.trim().split(/\s+/)[2]);
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
      expect(backlog).toBe(Math.min(LISTEN_BACKLOG, somaxconn));
      expect(backlog).toBeGreaterThan(511);
    } finally {
      await relay.close();
    }
  });

  it('keeps the embedded database to one process: a second relay or the admin CLI on its folder is refused', {
    timeout: 60_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sotto-embedded-lock-'));
    const env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      REDIS_URL: '',
      SOTTO_DATA_DIR: dataDir,
    };
    const run = (script: string, args: string[] = []) =>
      spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', script, ...args], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const finish = async (proc: ChildProcess) => {
      let output = '';
      proc.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      proc.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
      return { code, output };
    };
    const first = run('relay/src/server.ts');
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        first.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"msg":"relay listening"')) {
            resolve();
          }
        });
        first.once('exit', (code) => reject(new Error(`first relay exited ${code}: ${out}`)));
      });
      const inUse = `the embedded database in ${dataDir} is in use by process ${first.pid}`;
      const second = await finish(run('relay/src/server.ts'));
      expect(second.code).toBe(1);
      expect(second.output).toContain(`relay failed to start: ${inUse}`);
      const admin = await finish(run('relay/src/admin.ts', ['stats']));
      expect(admin.code).toBe(1);
      expect(admin.output).toContain(inUse);
      // The lock still names the first relay: the refused starts left it alone.
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(`${first.pid} ${hostname()}`);
    } finally {
      const exited = new Promise((r) => first.once('exit', r));
      first.kill('SIGTERM');
      await exited;
    }
    // Released on a clean stop; a lock left by a process that is gone (a crash) is taken over.
    expect((await finish(run('relay/src/admin.ts', ['stats']))).code).toBe(0);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dataDir, LOCK_FILE), `${gone.stdout}\n`);
    const afterCrash = await finish(run('relay/src/admin.ts', ['stats']));
    expect(afterCrash.output).toContain('accounts');
    expect(afterCrash.code).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
