import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP forwarder a test can cut, to simulate a backing service (Postgres) going away, or slow down. */
export class TcpProxy {
  /** Each chunk, either way, is held this long (a service far away); 0 forwards at once. */
  delayMs = 0;

  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const sockets = new Set<Socket>();
    const settings = { delayMs: () => 0 };
    const server = createServer((client) => {
      const upstream = createConnection(targetPort, targetHost);
      sockets.add(client);
      sockets.add(upstream);
      // Chunks are forwarded in order; a delay holds each one as long.
      const forward = (to: Socket) => (chunk: Buffer) => {
        const delay = settings.delayMs();
        if (delay > 0) {
          setTimeout(() => to.write(chunk), delay);
        } else {
          to.write(chunk);
        }
      };
      client.on('data', forward(upstream));
      upstream.on('data', forward(client));
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, sockets, (server.address() as { port: number }).port);
    settings.delayMs = () => proxy.delayMs;
    return proxy;
  }

  /** Stops listening and cuts every connection: clients now get ECONNREFUSED. */
  async cut(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
