import { createHmac } from 'node:crypto';
import type { TurnCredentials } from '@sotto/shared-types';
import { Hono } from 'hono';
import { requireAuth } from '../auth/require-auth.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';

/** /v1/calling: coturn REST-API credentials (use-auth-secret): username = expiry:account, HMAC-SHA1 credential. */
export const callingRoutes = new Hono<AppEnv>().use(requireAuth).get('/turn', (c) => {
  const { env, clock } = c.get('services');
  if (!env.TURN_SECRET || env.TURN_URLS.length === 0) {
    throw new RelayError({ code: 'not_found', message: 'this relay has no TURN server configured' });
  }
  const expiry = Math.floor(clock.now() / 1000) + env.TURN_TTL_SECONDS;
  const username = `${expiry}:${c.get('auth').accountId}`;
  const credential = createHmac('sha1', env.TURN_SECRET).update(username).digest('base64');
  return c.json({ urls: env.TURN_URLS, username, credential, ttl: env.TURN_TTL_SECONDS } satisfies TurnCredentials);
});
