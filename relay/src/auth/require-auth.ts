import { createMiddleware } from 'hono/factory';
import type { AppEnv, AuthInfo, Services } from '../context.js';
import { RelayError } from '../errors.js';

const unauthorized = () =>
  new RelayError({ code: 'unauthorized', message: 'missing, invalid or revoked access token' });

/** The bearer token of an Authorization header, if any. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Verifies an access token and checks in Postgres that its family is not revoked and its device still
 * exists, so revocation takes effect on the very next request.
 */
export async function authenticate(
  services: Services,
  token: string | undefined,
  /** Remember the verified token for the next request (REST); a socket authenticates once, so it does not. */
  remember = true,
): Promise<AuthInfo | undefined> {
  if (!token) {
    return undefined;
  }
  const claims = await services.tokens.verify(token, { remember });
  if (!claims) {
    return undefined;
  }
  if (!(await services.lookups.isFamilyLive({ familyId: claims.fam, accountId: claims.sub, deviceId: claims.did }))) {
    return undefined;
  }
  return { accountId: claims.sub, deviceId: claims.did, familyId: claims.fam };
}

/** Route middleware: 401 unless the request carries a live access token; sets `c.get('auth')`. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const auth = await authenticate(c.get('services'), bearerToken(c.req.header('authorization')));
  if (!auth) {
    throw unauthorized();
  }
  c.set('auth', auth);
  await next();
});
