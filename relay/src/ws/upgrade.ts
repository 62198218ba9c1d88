import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type ErrorBody, MAX_CLIENT_FRAME_BYTES, Routes } from '@sotto/shared-types';
import { WebSocketServer } from 'ws';
import { authenticate, bearerToken } from '../auth/require-auth.js';
import type { Services } from '../context.js';
import { allowedOrigins } from '../env.js';
import { toLogFormat } from '../logger.js';
import { DeviceSession } from './session.js';
import { StandingCheck } from './standing-check.js';

export interface SocketServer {
  /** Authenticated and unauthenticated sessions on this instance. */
  sessions(): DeviceSession[];
  /**
   * Closes the sockets that Postgres says were revoked or taken over (one batched query for all of them):
   * for when such news may have been lost in the fan-out.
   */
  checkStanding(): Promise<void>;
  /** Closes every socket (1001 on shutdown) and stops the heartbeat. */
  close(code?: number, reason?: string): void;
}

function refuse(socket: Duplex, status: number, code: ErrorBody['error']['code'], message: string): void {
  const body = JSON.stringify({ error: { code, message, requestId: 'upgrade' } } satisfies ErrorBody);
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Handles `GET /v1/ws` upgrades on the HTTP server: browser Origin against the allow-list (403), a bearer
 * token on the upgrade when present (401 if invalid), frame size limit (ws closes with 1009), heartbeat
 * pings that terminate dead sockets, and while the fan-out is down (revocations and takeovers travel through
 * it) a standing check of every socket against Postgres at each heartbeat.
 */
export function attachWebSocket(server: Server, services: Services): SocketServer {
  const { env, logger } = services;
  const origins = new Set(allowedOrigins(env));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  const sessions = new Set<DeviceSession>();

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    if (path !== Routes.socket) {
      refuse(socket, 404, 'not_found', 'no such route');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      refuse(socket, 403, 'forbidden', 'origin not allowed');
      return;
    }
    const token = bearerToken(req.headers.authorization);
    let auth: Awaited<ReturnType<typeof authenticate>>;
    if (token) {
      try {
        auth = await authenticate(services, token, false);
      } catch (err) {
        logger.warn({ err: toLogFormat(err) }, 'socket authentication failed');
        refuse(socket, 503, 'unavailable', 'a backing service is unavailable');
        return;
      }
      if (!auth) {
        refuse(socket, 401, 'unauthorized', 'missing, invalid or revoked access token');
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new DeviceSession(
        ws,
        socket,
        services,
        { authTimeoutMs: env.WS_AUTH_TIMEOUT_MS, maxInFlight: env.WS_MAX_IN_FLIGHT },
        auth,
      );
      sessions.add(session);
      ws.on('close', () => sessions.delete(session));
    });
  };
  server.on('upgrade', (req, socket, head) => void onUpgrade(req, socket, head));

  const standing = new StandingCheck(services, () => sessions);
  // Revocations and takeovers come through the fan-out. While it is down they are asked of Postgres at each
  // heartbeat instead, and always on Postgres without Redis: other processes there (the admin CLI deleting a
  // user) change accounts with no fan-out to tell this one. (The embedded database has one user at a time.)
  const askPostgres = () => !services.fanout.healthy() || (!env.REDIS_URL && env.DATABASE_URL !== undefined);
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      session.heartbeat();
    }
    if (askPostgres()) {
      void standing.run();
    }
  }, env.WS_HEARTBEAT_MS);
  heartbeat.unref();

  return {
    sessions: () => [...sessions],
    checkStanding: () => standing.run(),
    close(code = CloseCode.goingAway, reason = 'server shutting down') {
      clearInterval(heartbeat);
      standing.stop();
      for (const session of sessions) {
        session.close(code, reason);
      }
      wss.close();
    },
  };
}
