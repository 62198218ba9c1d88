import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataDirInUseError, LOCK_FILE, lockDataDir, STALE_AFTER_MS } from './data-dir-lock.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-lock-'));
  dirs.push(dir);
  return dir;
};
/** The pid of a process that has exited. */
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
const lockText = (dir: string) => readFileSync(join(dir, LOCK_FILE), 'utf8').trim();

afterEach(() => {
  vi.useRealTimers();
  for (const dir of dirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('embedded data folder lock', () => {
  it('lets exactly one of two processes take over a lock left by a crashed relay', { timeout: 60_000 }, async () => {
    const dir = freshDir();
    const rounds = 20;
    const roundMs = 300;
    const startAt = Date.now() + 4_000; // both contenders started by then
    const dead = deadPid();
    // Before each round, the lock of a relay that crashed.
    const planting = (async () => {
      for (let round = 0; round < rounds; round++) {
        await new Promise((resolve) => setTimeout(resolve, startAt + round * roundMs - roundMs / 3 - Date.now()));
        writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
      }
    })();
    const contender = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            '--conditions',
            'source',
            'relay/test/support/lock-contender.ts',
            dir,
            String(startAt),
            String(rounds),
            String(roundMs),
          ],
          { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.once('error', reject);
        child.once('exit', () => resolve(out.trim().split('\n')));
      });
    const [a, b] = await Promise.all([contender(), contender(), planting]);
    for (let round = 0; round < rounds; round++) {
      const outcomes = [a?.[round], b?.[round]].sort();
      expect(outcomes, `round ${round}`).toEqual([`${round} locked`, `${round} refused`]);
    }
    // The last winner released it; nothing of a takeover is left behind.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, `${LOCK_FILE}.takeover`))).toBe(false);
  });

  it('refuses a lock held from another host (a second container on the volume) until its heartbeat stops', async () => {
    const dir = freshDir();
    const path = join(dir, LOCK_FILE);
    writeFileSync(path, '1 relay-container-b\n'); // pid 1 in another container: not a process we can ask
    const error = await lockDataDir(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirInUseError);
    expect((error as Error).message).toContain('in use by process 1 on host relay-container-b');
    expect(lockText(dir)).toBe('1 relay-container-b');

    const past = new Date(Date.now() - STALE_AFTER_MS - 1_000);
    utimesSync(path, past, past);
    const release = await lockDataDir(dir);
    expect(lockText(dir)).toBe(`${process.pid} ${hostname()}`);
    await release();
    expect(existsSync(path)).toBe(false);
  });

  it('keeps its heartbeat while held', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const dir = freshDir();
    const path = join(dir, LOCK_FILE);
    const release = await lockDataDir(dir);
    const past = new Date(Date.now() - 60_000);
    utimesSync(path, past, past);
    vi.advanceTimersByTime(STALE_AFTER_MS / 3);
    await vi.waitFor(() => expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(5_000));
    await release();
  });

  it('on release leaves alone a lock that is no longer its own', async () => {
    const dir = freshDir();
    const release = await lockDataDir(dir);
    // Someone deleted our lock by hand and another relay took the folder.
    writeFileSync(join(dir, LOCK_FILE), `${process.pid + 1} ${hostname()}\n`);
    await release();
    expect(lockText(dir)).toBe(`${process.pid + 1} ${hostname()}`);
  });
});
