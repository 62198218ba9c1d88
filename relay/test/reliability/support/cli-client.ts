import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const PASSPHRASE = 'reliability-suite-passphrase';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** libfaketime offset such as '+5m' (Debian's faketime). */
  faketime?: string;
  passphrase?: string;
  timeoutMs?: number;
}

/** Starts the `sotto` command line (desktop/bin/sotto.mjs, from source) on a profile folder as a child process. */
export function spawnCli(profile: string, args: string[], options: CliOptions = {}): ChildProcess {
  const node = [process.execPath, 'desktop/bin/sotto.mjs', '--profile', profile, ...args];
  const [cmd, ...rest] = options.faketime ? ['faketime', '-f', options.faketime, ...node] : node;
  return spawn(cmd as string, rest, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      SOTTO_CLI_FROM_SOURCE: '1',
      SOTTO_DB_PASSPHRASE: options.passphrase ?? PASSPHRASE,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and waits for it to end (SIGKILLed after `timeoutMs`). */
export function finished(child: ChildProcess, timeoutMs = 60_000): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const cli = (profile: string, args: string[], options: CliOptions = {}) =>
  finished(spawnCli(profile, args, options), options.timeoutMs);

/** One JSON object per line (`--json` output). */
export const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);

/**
 * Opens a profile's database the way the app does (in a child process running the client's own code, so the
 * relay's tests import nothing from desktop/) and reports `PRAGMA integrity_check`, the message count, and
 * whether a wrong key is refused.
 */
export async function inspectDatabase(
  profile: string,
): Promise<{ integrity: string; messages: number; wrongKey: string }> {
  const script = `
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { randomBytes } = await import('node:crypto');
    const { Profile } = await import('./desktop/src/core/profile.ts');
    const { openDatabase } = await import('./desktop/src/core/store/database.ts');
    const dir = process.env.INSPECT_PROFILE;
    const file = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'));
    const secret = await new Profile(dir).secretStore.get('profile:' + file.profileId);
    const db = openDatabase(join(dir, 'sotto.db'), { key: Buffer.from(secret, 'base64') });
    const integrity = db.pragma('integrity_check', { simple: true });
    const messages = db.prepare('SELECT count(*) AS n FROM messages').get().n;
    db.close();
    let wrongKey = 'opened';
    try {
      openDatabase(join(dir, 'sotto.db'), { key: randomBytes(32), migrate: false }).close();
    } catch (e) {
      wrongKey = e.code ?? String(e);
    }
    process.stdout.write(JSON.stringify({ integrity, messages, wrongKey }));
  `;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions', 'source', '--input-type=module', '-e', script],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SOTTO_DB_PASSPHRASE: PASSPHRASE,
        INSPECT_PROFILE: profile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const run = await finished(child, 60_000);
  try {
    return JSON.parse(run.stdout) as { integrity: string; messages: number; wrongKey: string };
  } catch {
    return { integrity: `inspect failed: ${run.stderr.slice(0, 500)}`, messages: -1, wrongKey: 'unknown' };
  }
}
