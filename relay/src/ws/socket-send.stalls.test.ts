import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { registerDevice, SocketClient, type TestDevice, target } from '../../test/support/client.js';
import { createTestDatabase } from '../../test/support/database.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import type { Services } from '../context.js';
import { DeviceSession, MAX_ACKS_IN_FLIGHT } from './session.js';

/** Long enough that nothing held by a stalled proxy comes through during a test. */
const STALL_MS = 60_000;

/**
 * Sessions on the relay's own services (Postgres, Redis) behind a socket server of the test's, so that a
 * send's deadline can be short.
 */
async function sessionServer(services: Services, sendDeadlineMs: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => {
    new DeviceSession(ws, req.socket, services, { authTimeoutMs: 5000, sendDeadlineMs }, undefined);
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    close() {
      for (const ws of wss.clients) {
        ws.terminate();
      }
      wss.close();
    },
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function connectTo(url: string, device: TestDevice): Promise<SocketClient> {
  const socket = await SocketClient.open(url, { authFrame: device.accessToken });
  cleanups.push(() => socket.close());
  await socket.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
  return socket;
}

async function relayBehind(options: { postgres?: TcpProxy; redis?: TcpProxy; env?: Record<string, string> }) {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const databaseUrl = new URL(db.url);
  if (options.postgres) {
    databaseUrl.port = String(options.postgres.port);
  }
  const relay: TestRelay = await startTestRelay({
    databaseUrl: databaseUrl.toString(),
    redisUrl: `redis://127.0.0.1:${options.redis?.port ?? 6379}`,
    ...(options.env ? { env: options.env } : {}),
  });
  cleanups.push(() => relay.close());
  return relay;
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(port);
  cleanups.push(() => proxy.cut());
  return proxy;
}

describe('a send on a socket whose backing services stall', () => {
  it('is answered when a Redis command never comes back: committed, then 200 at the deadline', async () => {
    const redis = await proxyTo(6379);
    // A limit of 100 prepays one send at a time: every send asks Redis.
    const relay = await relayBehind({ redis, env: { RATE_SEND_POINTS: '100' } });
    const server = await sessionServer(relay.relay.services, 3000);
    cleanups.push(() => server.close());
    const alice = await registerDevice(relay.url);
    const bob = await registerDevice(relay.url);
    const aliceSocket = await connectTo(server.url, alice);
    const bobSocket = await SocketClient.connect(relay.wsUrl, bob.accessToken);
    cleanups.push(() => bobSocket.close());
    expect((await aliceSocket.send(target(bob))).type).toBe('send_result');
    await bobSocket.waitForEnvelopes(1);

    // The connection stays open but nothing comes back: the rate-limit call, the barrier and the doorbell hang.
    redis.delayMs = STALL_MS;
    const started = Date.now();
    const answer = await aliceSocket.send(target(bob), 'c3RhbGxlZA==');
    expect(answer.type).toBe('send_result');
    expect(Date.now() - started).toBeLessThan(4500);
    // The local copy's barrier was given up: the recipient reads its queue instead.
    await bobSocket.waitForEnvelopes(2);
    expect(bobSocket.envelopes()[1]?.content).toBe('c3RhbGxlZA==');
    expect(aliceSocket.closeCode).toBeUndefined();
  });

  it(`is read and answered 503 with Retry-After when Postgres stalls behind ${MAX_ACKS_IN_FLIGHT} acks`, async () => {
    const postgres = await proxyTo(5432);
    const relay = await relayBehind({ postgres });
    const server = await sessionServer(relay.relay.services, 1500);
    cleanups.push(() => server.close());
    const alice = await registerDevice(relay.url);
    const bob = await registerDevice(relay.url);
    const socket = await connectTo(server.url, alice);

    postgres.delayMs = STALL_MS;
    for (let i = 0; i < MAX_ACKS_IN_FLIGHT; i++) {
      socket.ack([randomUUID()]);
    }
    const started = Date.now();
    const answer = await socket.send(target(bob));
    expect(answer).toMatchObject({ type: 'send_error', status: 503, body: { error: { code: 'unavailable' } } });
    expect(answer.type === 'send_error' && answer.retryAfter).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(4500);
    expect(socket.closeCode).toBeUndefined();
  });
});
