import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/private-redis.js';
import { TEST_ENV } from '../../support/relay.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const MAX_KEPT_LINES = 5000;
/** The state column of a listening socket in /proc/net/tcp. */
const LISTEN = '0A';

export interface RelayProcessOptions {
  databaseUrl: string;
  redisUrl?: string;
  redisPrefix?: string;
  env?: Record<string, string>;
  /** Called with every log line (for canary scans); lines are not all kept. */
  onLine?: (line: string) => void;
  /** A fixed port (to restart an instance where its clients expect it); random otherwise. */
  port?: number;
  /**
   * Collect garbage every half second (test harness only), so that RSS measures what the relay keeps rather
   * than when V8 happened to collect.
   */
  frequentGc?: boolean;
}

const GC_PRELOAD = `data:text/javascript,${encodeURIComponent('setInterval(() => globalThis.gc?.(), 500).unref();')}`;

/**
 * relay/src/server.ts as a child process, so a test can measure its memory and file descriptors, see it
 * survive (or SIGKILL it), and read its logs. Listens on a random port of 127.0.0.1.
 */
export class RelayProcess {
  readonly lines: string[] = [];
  /** Log lines at level error or fatal (pino levels 50, 60). */
  errorLines = 0;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: RelayProcessOptions): Promise<RelayProcess> {
    const port = options.port ?? (await freePort());
    // Blobs (attachments) and anything else the relay writes go to a throwaway folder, never ./data.
    const dataDir = mkdtempSync(join(tmpdir(), 'sotto-relay-'));
    const gcArgs = options.frequentGc ? ['--expose-gc', '--import', GC_PRELOAD] : [];
    const args = [...gcArgs, '--import', 'tsx', '--conditions', 'source', 'relay/src/server.ts'];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        ...TEST_ENV,
        LOG_LEVEL: 'info',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: options.databaseUrl,
        ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_PREFIX: options.redisPrefix ?? 'rel:' } : {}),
        SHUTDOWN_GRACE_MS: '1000',
        SOTTO_DATA_DIR: dataDir,
        BLOB_DIR: join(dataDir, 'blobs'),
        RATE_UPLOAD_POINTS: '100000',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = new RelayProcess(child, port);
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream?.on('data', (d: Buffer) => {
        buffer += d.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) {
          relay.take(line, options.onLine);
        }
      });
    }
    child.on('exit', (code, signal) => {
      relay.exitCode = code;
      relay.exitSignal = signal;
      rmSync(dataDir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!relay.alive) {
        throw new Error(`relay exited with ${child.exitCode}: ${relay.lines.join('\n')}`);
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`relay did not start: ${relay.lines.join('\n')}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) {
          return relay;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  private take(line: string, onLine?: (line: string) => void): void {
    onLine?.(line);
    this.lines.push(line);
    if (this.lines.length > MAX_KEPT_LINES) {
      this.lines.splice(0, this.lines.length - MAX_KEPT_LINES);
    }
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level && Number(level) >= 50) {
      this.errorLines += 1;
    }
  }

  /** Resident set size in bytes (Linux /proc). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return Number(kb ?? 0) * 1024;
  }

  /**
   * Open file descriptors (Linux /proc): sockets, split into clients' connections (accepted on the relay's
   * port; they come and go with the clients' keep-alive timing) and the rest (the listener, the Postgres
   * and Redis pools), and everything else (files, pipes, event and timer fds), which a relay under steady
   * load holds at a constant count.
   */
  fds(): { clientSockets: number; otherSockets: number; other: number } {
    const dir = `/proc/${this.pid}/fd`;
    const socketInodes: string[] = [];
    let other = 0;
    for (const fd of readdirSync(dir)) {
      let target = '';
      try {
        target = readlinkSync(`${dir}/${fd}`);
      } catch {
        continue; // closed since the listing
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) {
        socketInodes.push(inode);
      } else {
        other += 1;
      }
    }
    const accepted = this.acceptedInodes();
    const clientSockets = socketInodes.filter((inode) => accepted.has(inode)).length;
    return { clientSockets, otherSockets: socketInodes.length - clientSockets, other };
  }

  /** Inodes of the TCP connections whose local end is the relay's port, other than the listener. */
  private acceptedInodes(): Set<string> {
    const inodes = new Set<string>();
    const port = this.port.toString(16).toUpperCase().padStart(4, '0');
    for (const table of ['tcp', 'tcp6']) {
      let text = '';
      try {
        text = readFileSync(`/proc/${this.pid}/net/${table}`, 'utf8');
      } catch {
        continue; // no IPv6 here
      }
      for (const line of text.split('\n').slice(1)) {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        const cols = line.trim().split(/\s+/);
        const [local, state, inode] = [cols[1], cols[3], cols[9]];
        if (local?.endsWith(`:${port}`) && state !== LISTEN && inode) {
          inodes.add(inode);
        }
      }
    }
    return inodes;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
    });
  }

  /** SIGTERM (graceful), then SIGKILL if it does not stop within `ms`. */
  async stop(ms = 8000): Promise<void> {
    if (!this.alive) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  }
}
