import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../src/env.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SAMPLE = {
  POSTGRES_PASSWORD: 'sample-pg-password-0123',
  TURN_SECRET: 'sample-turn-secret-0123456789abcdef',
  PUBLIC_HOST: 'chat.sample.test',
};

let dir: string;

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: dir, timeout: 30_000, env: { PATH: process.env.PATH } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

interface ComposeConfig {
  services: Record<string, { environment?: Record<string, string>; command?: string[]; volumes?: unknown[] }>;
}

/** A self-hoster's checkout: compose.yml and `.env` made from relay/.env.example with the three values filled in. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sotto-compose-'));
  await copyFile(join(ROOT, 'compose.yml'), join(dir, 'compose.yml'));
  await symlink(join(ROOT, 'relay'), join(dir, 'relay'));
  let env = await readFile(join(ROOT, 'relay/.env.example'), 'utf8');
  for (const [name, value] of Object.entries(SAMPLE)) {
    expect(env).toMatch(new RegExp(`^${name}=`, 'm'));
    env = env.replace(new RegExp(`^${name}=.*$`, 'm'), `${name}=${value}`);
  }
  await writeFile(join(dir, '.env'), env);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compose.yml with a .env made from relay/.env.example', () => {
  it('is valid, runs relay, postgres, redis and coturn sharing one TURN secret, and the relay accepts its environment', async () => {
    const check = await run('docker-compose', ['-f', 'compose.yml', 'config', '-q']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);

    const printed = await run('docker-compose', ['-f', 'compose.yml', 'config']);
    expect(printed.code).toBe(0);
    // python3-yaml comes with Debian's docker-compose: YAML to JSON without another npm dependency.
    const json = await run(
      'python3',
      ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
      printed.stdout,
    );
    const config = JSON.parse(json.stdout) as ComposeConfig;
    expect(Object.keys(config.services).sort()).toEqual(['coturn', 'postgres', 'redis', 'relay']);

    const relayEnv = config.services.relay?.environment ?? {};
    const coturn = config.services.coturn?.command ?? [];
    expect(relayEnv.TURN_SECRET).toBe(SAMPLE.TURN_SECRET);
    expect(coturn).toContain(`--static-auth-secret=${SAMPLE.TURN_SECRET}`);
    expect(coturn).toContain(`--realm=${SAMPLE.PUBLIC_HOST}`);
    expect(config.services.postgres?.environment?.POSTGRES_PASSWORD).toBe(SAMPLE.POSTGRES_PASSWORD);
    expect(relayEnv.DATABASE_URL).toBe(`postgres://sotto:${SAMPLE.POSTGRES_PASSWORD}@postgres:5432/sotto`);

    // The environment the relay container gets passes the relay's own start-up check.
    const env = loadEnv(relayEnv);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.TURN_URLS).toContain(`turn:${SAMPLE.PUBLIC_HOST}:3478?transport=udp`);
    expect(env.BLOB_DIR?.startsWith(`${env.SOTTO_DATA_DIR}/`)).toBe(true);
    expect(JSON.stringify(config.services.relay?.volumes)).toContain(env.SOTTO_DATA_DIR);
  });
});
