import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ChaosMode =
  /** Forward everything at once. */
  | { kind: 'pass' }
  /** Forward every chunk after `ms` plus up to `jitterMs` (order kept). */
  | { kind: 'delay'; ms: number; jitterMs?: number }
  /** Keep connections open but silently discard every byte, both ways (a dead network path). */
  | { kind: 'blackhole' }
  /** Refuse new connections (accept and destroy at once). */
  | { kind: 'refuse' };

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * A small test-only TCP proxy between clients and a relay that can delay, blackhole, refuse and cut
 * connections (there is no netem or toxiproxy on the build machines).
 */
export class ChaosProxy {
  mode: ChaosMode = { kind: 'pass' };
  connections = 0;
  cuts = 0;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<ChaosProxy> {
    let proxy: ChaosProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new ChaosProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.mode.kind === 'refuse') {
      client.destroy();
      return;
    }
    this.connections += 1;
    const upstream = createConnection(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    this.forward(client, upstream);
    this.forward(upstream, client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }

  private forward(from: Socket, to: Socket): void {
    // Delayed chunks wait in one FIFO per direction, drained by one timer at a time: the byte stream keeps its
    // order (separate timers per chunk may fire out of order when they fall due in the same millisecond).
    const queue: { chunk: Buffer; due: number }[] = [];
    let scheduled = false;
    const schedule = () => {
      const head = queue[0];
      if (!scheduled && head) {
        scheduled = true;
        setTimeout(drain, Math.max(0, head.due - Date.now()));
      }
    };
    const drain = () => {
      scheduled = false;
      while (queue.length > 0 && (queue[0] as { due: number }).due <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer };
        if (!to.destroyed) {
          to.write(chunk);
        }
      }
      schedule();
    };
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === 'blackhole') {
        return;
      }
      const last = queue.at(-1)?.due ?? 0;
      const due = mode.kind === 'delay' ? Date.now() + mode.ms + Math.random() * (mode.jitterMs ?? 0) : 0;
      if (due === 0 && queue.length === 0) {
        if (!to.destroyed) {
          to.write(chunk);
        }
        return;
      }
      queue.push({ chunk, due: Math.max(last, due) });
      schedule();
    });
  }

  /** Cuts every open connection (both ends see a reset); new ones are accepted unless the mode refuses. */
  cutAll(): number {
    let n = 0;
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
      n += 1;
    }
    this.pairs.clear();
    this.cuts += n;
    return n;
  }

  /** Cuts each open connection with probability `fraction`. */
  cutSome(fraction: number): number {
    let n = 0;
    for (const pair of [...this.pairs]) {
      if (Math.random() < fraction) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
        this.pairs.delete(pair);
        n += 1;
      }
    }
    this.cuts += n;
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
