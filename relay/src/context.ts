import type { AccessTokens } from './auth/access-tokens.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { Clock } from './clock.js';
import type { Env } from './env.js';
import type { Fanout } from './fanout/fanout.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { RateLimits } from './rate-limits.js';
import type { AckWriter } from './store/ack-writer.js';
import type { Sql } from './store/db.js';
import type { EnvelopeWriter } from './store/envelope-writer.js';
import type { Lookups } from './store/lookups.js';

/**
 * Everything a handler may use, set once per request by the services middleware (`c.get('services')`).
 * New concerns are added here.
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
  /** Deletes acked envelopes of many sockets in one statement. */
  acks: AckWriter;
  /** Hot-path reads (token family liveness, an account's devices) grouped across requests. */
  lookups: Lookups;
  /** Encrypted attachment blobs on disk (BLOB_DIR). */
  blobs: BlobStore;
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
