import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announce, patch, randomBlob } from '../support/attachments.js';
import { api, errorCode, newDeviceSecret, registerDevice, SocketClient, uniqueUsername } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { randomRedisPrefix, startTestRelay, TEST_REDIS_URL, type TestRelay } from '../support/relay.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let db: TestDatabase;
let relay: TestRelay;
let blobDir: string;
let redisPrefix: string;

/** Runs the admin CLI as a child process with the relay's environment. */
function admin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return adminWith({ REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redisPrefix }, ...args);
}

function adminWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions', 'source', 'relay/src/admin.ts', ...args],
      {
        cwd: ROOT,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: db.url,
          BLOB_DIR: blobDir,
          ...env,
          LOG_LEVEL: 'silent',
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const register = (inviteCode?: string) =>
  api(relay.url, 'POST', '/v1/accounts', {
    body: {
      username: uniqueUsername(),
      deviceSecret: newDeviceSecret(),
      registrationId: 5,
      ...(inviteCode ? { inviteCode } : {}),
    },
  });

beforeAll(async () => {
  db = await createTestDatabase();
  blobDir = await mkdtemp(join(tmpdir(), 'sotto-admin-blobs-'));
  redisPrefix = randomRedisPrefix();
  // The CLI migrates a fresh database by itself.
  const first = await admin('stats', '--json');
  expect(first.code).toBe(0);
  relay = await startTestRelay({
    databaseUrl: db.url,
    redisUrl: TEST_REDIS_URL,
    redisPrefix,
    env: { REGISTRATION_POLICY: 'invite', BLOB_DIR: blobDir },
  });
});
afterAll(async () => {
  await relay?.close();
  await db?.drop();
  await rm(blobDir, { recursive: true, force: true });
});

describe('admin CLI', () => {
  it('creates invites that register exactly once, lists them, and revokes unused ones', async () => {
    const created = await admin('invite', 'create', '--count', '2');
    expect(created.code).toBe(0);
    const [code, other] = created.stdout.trim().split('\n');
    expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await register(code)).status).toBe(200);
    expect(errorCode(await register(code))).toBe('invalid_invite');

    const listed = JSON.parse((await admin('invite', 'list', '--json')).stdout) as { usedAt: number | null }[];
    expect(listed).toHaveLength(2);
    expect(listed.filter((r) => r.usedAt !== null)).toHaveLength(1);

    const revoked = await admin('invite', 'revoke', other as string);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(errorCode(await register(other))).toBe('invalid_invite');
    const again = await admin('invite', 'revoke', other as string);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no such unused invite');
  });

  it('deletes a user: closes their socket, removes their blobs, and their tokens stop working', async () => {
    const code = (await admin('invite', 'create')).stdout.trim();
    const victim = await registerDevice(relay.url, { inviteCode: code });
    const blob = randomBlob(4096);
    const { id } = (await announce(relay.url, victim.accessToken, blob)).body;
    expect((await patch(relay.url, victim.accessToken, id, 0, blob)).status).toBe(200);
    expect(existsSync(join(blobDir, id))).toBe(true);
    const socket = await SocketClient.connect(relay.wsUrl, victim.accessToken);

    const deleted = await admin('user', 'delete', victim.username);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(victim.accountId);
    expect(await socket.waitClosed(10_000)).toBe(CloseCode.revoked);
    expect(existsSync(join(blobDir, id))).toBe(false);
    expect((await api(relay.url, 'GET', '/v1/accounts/me', { token: victim.accessToken })).status).toBe(401);

    const missing = await admin('user', 'delete', victim.username);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no user named');
  });

  it('deletes a user of a relay on Postgres without Redis: their socket closes at the next heartbeat', async () => {
    const single = await startTestRelay({
      databaseUrl: db.url,
      env: { REGISTRATION_POLICY: 'invite', BLOB_DIR: blobDir, WS_HEARTBEAT_MS: '500' },
    });
    try {
      const code = (await admin('invite', 'create')).stdout.trim();
      const victim = await registerDevice(single.url, { inviteCode: code });
      const socket = await SocketClient.connect(single.wsUrl, victim.accessToken);
      const deleted = await adminWith({ WS_HEARTBEAT_MS: '500' }, 'user', 'delete', victim.username);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout).toContain('their open sockets close within 1 s');
      expect(await socket.waitClosed(10_000)).toBe(CloseCode.revoked);
    } finally {
      await single.close();
    }
  });

  it('prints stats', async () => {
    const code = (await admin('invite', 'create')).stdout.trim();
    const alice = await registerDevice(relay.url, { inviteCode: code });
    const blob = randomBlob(1000);
    const { id } = (await announce(relay.url, alice.accessToken, blob)).body;
    await patch(relay.url, alice.accessToken, id, 0, blob);
    const stats = JSON.parse((await admin('stats', '--json')).stdout) as Record<string, number>;
    // Accounts so far: one from the first test, plus alice (the deleted user is gone).
    expect(stats).toMatchObject({ accounts: 2, devices: 2, blobs: 1, blobBytes: 1000, unusedInvites: 0 });
    const text = await admin('stats');
    expect(text.stdout).toMatch(/accounts\s+2/);
  });

  it('reports every bad variable and exits 2', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--conditions', 'source', 'relay/src/admin.ts', 'stats'],
        { cwd: ROOT, timeout: 30_000, env: { PATH: process.env.PATH, DATABASE_URL: 'not a url', PORT: 'x' } },
        (err, _stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('PORT');
  });
});
