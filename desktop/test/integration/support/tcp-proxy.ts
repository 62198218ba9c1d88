import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: give it to a client as its relay URL. */
  url: string;
  /** From now on the relay's bytes are dropped; the client's still reach the relay (answers get lost). */
  dropReplies(): void;
  /** Destroys every open connection (the client sees its socket close) and forwards everything again. */
  cut(): void;
  stop(): Promise<void>;
}

/** A TCP forwarder between a client and the real relay, so a test can lose answers and cut connections. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let dropping = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!dropping) {
        client.write(chunk);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('proxy has no TCP address');
  }
  return {
    url: `http://127.0.0.1:${address.port}`,
    dropReplies: () => {
      dropping = true;
    },
    cut: () => {
      for (const socket of open) {
        socket.destroy();
      }
      dropping = false;
    },
    stop: async () => {
      for (const socket of open) {
        socket.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
