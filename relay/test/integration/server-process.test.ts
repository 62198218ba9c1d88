import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTEN_BACKLOG } from '../../src/relay.js';
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
});
