import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (the bench runs every child from there). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TSX_ARGS = ['--import', 'tsx', '--conditions', 'source'];

/** A free TCP port on 127.0.0.1 (the tests' helper). */
export { freePort } from '../test/support/private-redis.js';

import { metricValue } from '../test/support/prometheus.js';

export { wsMasking } from '../test/support/ws-masking.js';

export const out = (line = '') => process.stdout.write(`${line}\n`);

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Resident set size of a process in KiB (Linux /proc). */
export function rssKib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/** CPU time a process has used so far, in ms (Linux /proc; clock ticks of 10 ms): user, and system (the kernel's work for it). */
export function cpuSplitMs(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
  } catch {
    return { user: 0, system: 0 }; // exited
  }
}

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** Bearer token for the bench relays' /metrics (never a real deployment's). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** A relay's garbage-collection pauses so far, and its longest event-loop delay since the previous scrape. */
export interface RelayRuntime {
  minorMs: number;
  minorPauses: number;
  majorMs: number;
  majorPauses: number;
  lagMaxMs: number;
}

/** Reads a relay's /metrics (its process figures; each scrape starts a new event-loop delay window). */
export async function relayRuntime(url: string): Promise<RelayRuntime> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } });
  const text = await res.text();
  // A kind of collection the process has not made yet has no series (it was "NaN major" in the report).
  const gc = (figure: 'sum' | 'count', kind: string) =>
    metricValue(text, `nodejs_gc_duration_seconds_${figure}`, `kind="${kind}"`) || 0;
  return {
    minorMs: 1000 * gc('sum', 'minor'),
    minorPauses: gc('count', 'minor'),
    majorMs: 1000 * gc('sum', 'major'),
    majorPauses: gc('count', 'major'),
    lagMaxMs: 1000 * metricValue(text, 'nodejs_eventloop_lag_max_seconds'),
  };
}

/** The relays' GC between two scrapes, summed, and the longest event-loop delay any of them saw (since the first). */
export function runtimeDuring(before: RelayRuntime[], after: RelayRuntime[]): RelayRuntime {
  const sum = (key: Exclude<keyof RelayRuntime, 'lagMaxMs'>) =>
    after.reduce((total, a, i) => total + a[key] - (before[i]?.[key] ?? 0), 0);
  return {
    minorMs: sum('minorMs'),
    minorPauses: sum('minorPauses'),
    majorMs: sum('majorMs'),
    majorPauses: sum('majorPauses'),
    lagMaxMs: Math.max(...after.map((a) => a.lagMaxMs)),
  };
}

/** Read and write system calls a process has made so far (Linux /proc/PID/io: syscr + syscw). */
export function readWriteCalls(pid: number): number {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The whole machine's CPU time so far, in clock ticks (/proc/stat): busy, and in all (busy + idle + I/O wait). */
export function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number); // guest time is already in user
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Processes whose command line starts with `prefix` (e.g. every Postgres backend and helper). */
export function pidsByCommand(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith(prefix)) {
        pids.push(Number(entry));
      }
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A child process speaking one JSON object per stdout line. `next(type)` waits for the next message of
 * that type; `send(obj)` writes one JSON line to its stdin.
 */
export class JsonChild {
  private readonly messages: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  exited = false;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return;
      }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.once('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  static spawn(script: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): JsonChild {
    const child = spawn(process.execPath, [...nodeArgs, ...TSX_ARGS, script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new JsonChild(child);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w();
    }
  }

  async next<T = Record<string, unknown>>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.type === type);
      if (i >= 0) {
        return this.messages.splice(i, 1)[0] as T;
      }
      if (this.exited) {
        throw new Error(`child exited before "${type}": ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no "${type}" from child within ${timeoutMs} ms: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(message: unknown): void {
    this.child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  async kill(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Reads newline-delimited JSON commands from stdin (worker side). */
export function stdinCommands(onCommand: (cmd: Record<string, unknown>) => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      onCommand(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // ignore
    }
  });
}

export const emit = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);
