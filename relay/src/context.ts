import type { AccessTokens } from './auth/access-tokens.js';
import type { Clock } from './clock.js';
import type { Env } from './env.js';
import type { Fanout } from './fanout/fanout.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { RateLimits } from './rate-limits.js';
import type { Sql } from './store/db.js';
import type { EnvelopeWriter } from './store/envelope-writer.js';

/**
 * Everything a handler may use, set once per request by the services middleware (`c.get('services')`).
 * New concerns (attachments' blob store, ...) are added here.
 */
export interface Services {
  env: Env;
  sql: Sql;
  clock: Clock;
  logger: Logger;
  fanout: Fanout;
  limits: RateLimits;
  tokens: AccessTokens;
  metrics: Metrics;
  writer: EnvelopeWriter;
}

/** The authenticated device, set by requireAuth. */
export interface AuthInfo {
  accountId: string;
  deviceId: number;
  familyId: string;
}

export type AppEnv = {
  Variables: {
    services: Services;
    requestId: string;
    auth: AuthInfo;
  };
};
