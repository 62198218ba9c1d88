import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp, type RelayApp } from './app.js';
import { AccessTokens } from './auth/access-tokens.js';
import { BlobStore } from './blobs/blob-store.js';
import { type Clock, systemClock } from './clock.js';
import type { Services } from './context.js';
import type { Env } from './env.js';
import { FallbackDoorbell } from './fanout/fallback-doorbell.js';
import type { Fanout } from './fanout/fanout.js';
import { LocalFanout } from './fanout/local-fanout.js';
import { RedisFanout } from './fanout/redis-fanout.js';
import { createLogger, type Logger, toLogFormat } from './logger.js';
import { Metrics } from './metrics.js';
import { RateLimits } from './rate-limits.js';
import { AckWriter } from './store/ack-writer.js';
import { deleteExpiredAttachments, unknownAttachmentIds } from './store/attachments.js';
import { createSql, type Sql } from './store/db.js';
import { EMBEDDED_POOL_SIZE, type EmbeddedPostgres, startEmbeddedPostgres } from './store/embedded.js';
import { EnvelopeWriter } from './store/envelope-writer.js';
import { Lookups } from './store/lookups.js';
import { countEnvelopes, deleteExpiredEnvelopes } from './store/messages.js';
import { migrate } from './store/migrate.js';
import { deleteExpiredRefreshTokens } from './store/tokens.js';
import { attachWebSocket, type SocketServer } from './ws/upgrade.js';

/** Blob files younger than this are never swept as orphans. */
const ORPHAN_GRACE_MS = 10 * 60 * 1000;

/** Connections waiting to be accepted (see listen). */
export const LISTEN_BACKLOG = 4096;

export interface RelayOptions {
  env: Env;
  clock?: Clock;
  logger?: Logger;
}

export interface Relay {
  app: RelayApp;
  services: Services;
  server: Server;
  sockets: SocketServer;
  /** True when Postgres is the embedded PGlite. */
  embedded: boolean;
  listen(port: number, host: string): Promise<number>;
  /** One pass of the periodic cleanup (expired envelopes, tokens, attachments); runs every CLEANUP_INTERVAL_MS. */
  cleanup(): Promise<void>;
  /** Graceful stop: no new connections, sockets closed with 1001, in-flight requests drained, pools closed. */
  close(): Promise<void>;
}

/** Wires a relay instance: Postgres (or embedded PGlite), migrations, fan-out, limits, HTTP app and WebSocket. */
export async function createRelay({ env, clock = systemClock, logger }: RelayOptions): Promise<Relay> {
  const log = logger ?? createLogger(env.LOG_LEVEL);
  let embeddedDb: EmbeddedPostgres | undefined;
  let poolSize = env.DATABASE_POOL_SIZE;
  let sql: Sql;
  if (env.DATABASE_URL) {
    sql = createSql(env.DATABASE_URL, { max: poolSize });
  } else {
    poolSize = EMBEDDED_POOL_SIZE;
    embeddedDb = await startEmbeddedPostgres(env.SOTTO_DATA_DIR);
    log.info({ dataDir: env.SOTTO_DATA_DIR }, 'embedded Postgres (PGlite) started');
    if (embeddedDb.warning) {
      log.warn(embeddedDb.warning);
    }
    sql = embeddedDb.connect();
  }
  try {
    const applied = await migrate(sql);
    if (applied.length > 0) {
      log.info({ applied }, 'migrations applied');
    }
  } catch (err) {
    await sql.end({ timeout: 1 });
    await embeddedDb?.stop();
    throw err;
  }

  let doorbell: FallbackDoorbell | undefined;
  /** Set once the WebSocket server is attached (a resync may come before). */
  let socketServer: SocketServer | undefined;
  let fanout: Fanout;
  let limits: RateLimits;
  if (env.REDIS_URL) {
    // A resync means doorbells, revocations or takeovers may have been lost: every local socket reads its
    // queue, and every socket's standing is checked against Postgres.
    const redisFanout = new RedisFanout(env.REDIS_URL, env.REDIS_PREFIX, log, () => {
      doorbell?.ringAll();
      void socketServer?.checkStanding();
    });
    fanout = redisFanout;
    limits = new RateLimits(env, redisFanout.commands);
    doorbell = new FallbackDoorbell(sql, fanout, env.FALLBACK_POLL_MS, log);
    doorbell.start();
  } else {
    fanout = new LocalFanout();
    limits = new RateLimits(env, undefined);
  }

  let blobs: BlobStore;
  try {
    blobs = await BlobStore.open(env);
  } catch (err) {
    await sql.end({ timeout: 1 });
    await embeddedDb?.stop();
    throw err;
  }

  const services: Services = {
    env,
    sql,
    clock,
    logger: log,
    fanout,
    limits,
    tokens: await AccessTokens.load(sql, env.JWT_PRIVATE_KEY, {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      ttlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      clock,
    }),
    metrics: new Metrics(() => countEnvelopes(sql)),
    // Few statements in flight: under load the batches grow instead of the statement count (bench:relay
    // measured fewer CPU µs per message in the relay and in Postgres with 1 than with 2 or 5).
    writer: new EnvelopeWriter(sql, { maxConcurrent: env.DATABASE_WRITE_CONCURRENCY, maxBatch: 1000 }),
    acks: new AckWriter(sql, { maxConcurrent: env.DATABASE_WRITE_CONCURRENCY, maxBatch: 2000 }),
    lookups: new Lookups(sql, Math.max(1, Math.floor(poolSize / 4)), {
      maxEntries: 50_000,
      ttlMs: 60_000,
      trusted: () => fanout.healthy(),
      now: () => clock.now(),
    }),
    blobs,
  };

  fanout.onDevicesChanged((accountId) => services.lookups.forgetDevices(accountId));

  const app = createApp(services);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const sockets = attachWebSocket(server, services);
  socketServer = sockets;

  /** Deletes expired envelopes, refresh tokens and attachments (rows and files). */
  const runCleanup = async (): Promise<void> => {
    const now = clock.now();
    const envelopes = await deleteExpiredEnvelopes(sql, now);
    const tokens = await deleteExpiredRefreshTokens(sql, now);
    const attachments = await deleteExpiredAttachments(sql, now);
    await blobs.remove(attachments);
    // Files whose row is gone (a crash or a failed unlink after the row was deleted). A row is always
    // inserted before its file is created, so a recent file without a row is only being deleted too.
    const candidates = await blobs.filesOlderThan(now - ORPHAN_GRACE_MS);
    const orphans: string[] = [];
    for (let i = 0; i < candidates.length; i += 1000) {
      orphans.push(...(await unknownAttachmentIds(sql, candidates.slice(i, i + 1000))));
    }
    await blobs.remove(orphans);
    if (envelopes + tokens + attachments.length + orphans.length > 0) {
      log.info(
        { envelopes, tokens, attachments: attachments.length, orphanBlobs: orphans.length },
        'expired rows deleted',
      );
    }
  };
  const cleanup = setInterval(() => {
    runCleanup().catch((err: unknown) => log.warn({ err: toLogFormat(err) }, 'cleanup failed'));
  }, env.CLEANUP_INTERVAL_MS);
  cleanup.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    server,
    sockets,
    embedded: embeddedDb !== undefined,
    cleanup: runCleanup,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        // A deep accept queue: after a restart every client reconnects at once, and with Node's default of 511
        // the overflow waits for TCP's SYN retries (1, 3, 7 s). The kernel caps it at net.core.somaxconn.
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      closing ??= (async () => {
        clearInterval(cleanup);
        doorbell?.stop();
        const stopped = new Promise<void>((resolve) => {
          if (!server.listening) {
            resolve();
            return;
          }
          server.close(() => resolve());
        });
        sockets.close();
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), env.SHUTDOWN_GRACE_MS);
        await stopped;
        clearTimeout(grace);
        await fanout.close();
        await sql.end({ timeout: 5 });
        await embeddedDb?.stop();
        await blobs.close();
      })();
      return closing;
    },
  };
}
