import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './relay-process.js';

const BIN = `${REPO_ROOT}desktop/bin/sotto.mjs`;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sotto` CLI as a child process (the same entry `npx sotto` runs). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return waitCli(spawnCli(args, env), timeoutMs);
}

/** Runs the CLI with `input` as its standard input (a pipe, not a terminal). */
export function runCliWithInput(args: string[], input: string, env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawnCli(args, env, 'pipe');
  child.stdin?.end(input);
  return waitCli(child);
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), as a person at a terminal runs it: `input` is what
 * they type. stdout holds everything the terminal showed, stderr included.
 */
export function runCliOnTerminal(args: string[], input: string, env: Record<string, string> = {}): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SOTTO_CLI_FROM_SOURCE: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Typed once the prompt is up: what a terminal receives before raw mode is set it echoes itself.
  child.stdout?.once('data', () => setTimeout(() => child.stdin?.write(input), 200));
  return waitCli(child);
}

export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
  stdin: 'ignore' | 'pipe' = 'ignore',
): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, SOTTO_CLI_FROM_SOURCE: '1', ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

export function waitCli(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
