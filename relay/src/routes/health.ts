import { createHash, timingSafeEqual } from 'node:crypto';
import type { HealthResponse } from '@sotto/shared-types';
import { Hono } from 'hono';
import { bearerToken } from '../auth/require-auth.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import { RELAY_VERSION } from '../version.js';

const withTimeout = <T>(p: Promise<T>, ms: number, fallback: T) =>
  Promise.race([p.catch(() => fallback), new Promise<T>((r) => setTimeout(() => r(fallback), ms).unref())]);

/** /healthz (process up), /readyz (Postgres and Redis answer), /metrics (Prometheus). */
export const healthRoutes = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok', version: RELAY_VERSION } satisfies HealthResponse))
  .get('/readyz', async (c) => {
    const { sql, fanout, env } = c.get('services');
    const [postgres, redis] = await Promise.all([
      withTimeout(
        sql`SELECT 1`.then(() => true),
        2000,
        false,
      ),
      env.REDIS_URL ? withTimeout(fanout.ping(), 2000, false) : Promise.resolve(true),
    ]);
    const checks: Record<string, 'ok' | 'down'> = { postgres: postgres ? 'ok' : 'down' };
    if (env.REDIS_URL) {
      checks.redis = redis ? 'ok' : 'down';
    }
    const ok = postgres && redis;
    return c.json(
      { status: ok ? 'ok' : 'unavailable', version: RELAY_VERSION, checks } satisfies HealthResponse,
      ok ? 200 : 503,
    );
  })
  .get('/metrics', async (c) => {
    const { metrics, env } = c.get('services');
    // Off without a token: behind a reverse proxy every path is public, and the counters tell anyone how
    // many people are online and when the server is busy.
    if (!env.METRICS_TOKEN) {
      throw new RelayError({
        code: 'not_found',
        message: 'metrics are off: set METRICS_TOKEN and scrape with "Authorization: Bearer <token>"',
      });
    }
    if (!sameSecret(bearerToken(c.req.header('authorization')) ?? '', env.METRICS_TOKEN)) {
      throw new RelayError({ code: 'unauthorized', message: 'metrics need the metrics token' });
    }
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

/** Compares in constant time (digests first, so the lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
