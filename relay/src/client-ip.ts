import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { AppEnv } from './context.js';

/**
 * The address a trusted proxy put in X-Forwarded-For: the last entry. A proxy appends the address it was
 * reached from (nginx's $proxy_add_x_forwarded_for) and keeps what the client sent before it, so every
 * earlier entry is the client's to forge. Undefined when the header or its last entry is empty.
 */
export function forwardedClient(header: string | undefined): string | undefined {
  const last = header?.split(',').at(-1)?.trim();
  return last ? last : undefined;
}

/** The client's address for per-IP limits: from X-Forwarded-For only when TRUST_PROXY is set. */
export function clientIp(c: Context<AppEnv>): string {
  if (c.get('services').env.TRUST_PROXY) {
    const forwarded = forwardedClient(c.req.header('x-forwarded-for'));
    if (forwarded) {
      return forwarded;
    }
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
