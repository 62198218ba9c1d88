import { createServer, request } from 'node:http';
import { createConnection } from 'node:net';

export interface PrefixProxy {
  /** `http://127.0.0.1:<port><prefix>`: the relay as a client sees it behind the proxy. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A reverse proxy that serves the relay under a path (`prefix`, as a self-hoster's nginx might), for HTTP and
 * WebSocket upgrades alike. A request outside the prefix gets 404, as it would from that proxy.
 */
export async function startPrefixProxy(targetPort: number, prefix: string): Promise<PrefixProxy> {
  const strip = (url = '') => (url.startsWith(`${prefix}/`) ? url.slice(prefix.length) : undefined);
  const server = createServer((req, res) => {
    const path = strip(req.url);
    if (path === undefined) {
      res.writeHead(404).end();
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req, client, head) => {
    const path = strip(req.url);
    if (path === undefined) {
      client.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort }, () => {
      const headers = Object.entries(req.headers).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}\r\n`),
      );
      upstream.write(`${req.method} ${path} HTTP/1.1\r\n${headers.join('')}\r\n`);
      upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('proxy has no TCP address');
  }
  return {
    url: `http://127.0.0.1:${address.port}${prefix}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
