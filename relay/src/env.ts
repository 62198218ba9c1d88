import { createPrivateKey } from 'node:crypto';
import { MAX_DEVICES_PER_SEND, MAX_PREKEYS_PER_UPLOAD } from '@sotto/shared-types';
import { z } from 'zod';

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** A whole number; empty (`PORT=` in an env file) means the default, not 0. */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));
/** A URL with one of the given schemes (`what` names them in the error). */
const url = (protocol: RegExp, what: string) =>
  z.preprocess(emptyToUndefined, z.url({ protocol, error: `expected a ${what} URL` }).optional());
/**
 * An Ed25519 private key, PKCS#8 PEM. An env file holds it on one line with "\n" for its line breaks (as
 * .env.example says, and as compose passes it on): those are read as line breaks. Checked here, so a key that
 * cannot sign tokens is listed with the other bad variables instead of failing the start on its own.
 */
const ed25519PrivateKey = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .transform((value, ctx) => {
      const pem = value.replace(/\\n/g, '\n');
      let type: string | undefined;
      try {
        type = createPrivateKey(pem).asymmetricKeyType;
      } catch {
        ctx.addIssue({
          code: 'custom',
          message:
            'expected a PKCS#8 PEM private key ("\\n"-joined on one line; openssl genpkey -algorithm ed25519 makes one)',
        });
        return z.NEVER;
      }
      if (type !== 'ed25519') {
        ctx.addIssue({ code: 'custom', message: `expected an Ed25519 key, not ${type ?? 'this kind'}` });
        return z.NEVER;
      }
      return pem;
    })
    .optional(),
);
const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

/**
 * Every variable the relay reads. Add new ones here (attachments, TURN, admin) so that a bad value is
 * reported at start with all the others. See relay/.env.example for what each one means.
 */
export const EnvSchema = z.object({
  /** 0: any free port (tests). */
  PORT: int(8787, 0, 65535),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url(/^postgres(ql)?$/, 'postgres://'),
  DATABASE_POOL_SIZE: int(10, 1),
  /**
   * INSERTs (and DELETEs of acked envelopes) in flight at once. Concurrent sends share each statement
   * (group commit); one at a time makes the batches grow under load instead of the statement count. Two at
   * a time measured 3,900 msgs/s against 10,000 (bench:relay): concurrent INSERTs share-lock the same device
   * rows for their foreign-key checks, and Postgres turns those locks into multixacts.
   */
  DATABASE_WRITE_CONCURRENCY: int(1, 1),
  REDIS_URL: url(/^rediss?$/, 'redis:// or rediss://'),
  /** Prefix for every Redis key and channel (lets several relays or test runs share one Redis). */
  REDIS_PREFIX: z.string().default('sotto:'),
  SOTTO_DATA_DIR: z.string().min(1).default('./data'),
  /** Issuer and audience pinned in access tokens. */
  JWT_ISSUER: z.string().min(1).default('sotto-relay'),
  JWT_AUDIENCE: z.string().min(1).default('sotto'),
  /** Optional Ed25519 private key (PKCS#8 PEM); otherwise one is generated once and kept in Postgres. */
  JWT_PRIVATE_KEY: ed25519PrivateKey,
  ACCESS_TOKEN_TTL_SECONDS: int(15 * 60, 30),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600, 60),
  REGISTRATION_POLICY: z.enum(['open', 'invite', 'closed']).default('open'),
  /** At most MAX_DEVICES_PER_SEND: a send carries one envelope per device, so an account with more could never be messaged. */
  MAX_DEVICES_PER_ACCOUNT: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_DEVICES_PER_SEND, {
        error: `at most ${MAX_DEVICES_PER_SEND}: one send carries at most ${MAX_DEVICES_PER_SEND} devices, so an account with more could never be messaged`,
      })
      .default(6),
  ),
  /**
   * One-time prekeys of each kind the relay holds per device (at least one upload's worth); an upload that
   * would go past it is refused (413), so one device cannot fill Postgres with keys. A client refills below 20.
   */
  MAX_ONE_TIME_KEYS: int(1000, MAX_PREKEYS_PER_UPLOAD),
  ENVELOPE_TTL_SECONDS: int(30 * 24 * 3600, 1),
  CLEANUP_INTERVAL_MS: int(60 * 60 * 1000, 100),
  /** Largest request body (bytes) on JSON routes. */
  MAX_BODY_BYTES: int(2 * 1024 * 1024, 1024),
  /** Browser origins allowed for CORS and on the WebSocket upgrade; requests without Origin are not browsers. */
  CORS_ORIGINS: list,
  ALLOWED_ORIGINS: list,
  WS_HEARTBEAT_MS: int(30_000, 50),
  WS_AUTH_TIMEOUT_MS: int(10_000, 50),
  /** Unacked envelopes per socket before the relay stops reading the queue (default MAX_IN_FLIGHT_ENVELOPES). */
  WS_MAX_IN_FLIGHT: int(256, 1),
  /** How often connected devices' queues are polled while Redis is unreachable. */
  FALLBACK_POLL_MS: int(2_000, 50),
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  /** Per-IP limits count the last X-Forwarded-For entry, the one the reverse proxy appended (see client-ip). */
  TRUST_PROXY: bool.default(false),
  METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16).optional()),
  // Rate limits: points per window (seconds).
  RATE_REGISTER_POINTS: int(10, 1),
  RATE_REGISTER_WINDOW: int(3600, 1),
  RATE_TOKEN_POINTS: int(60, 1),
  RATE_TOKEN_WINDOW: int(60, 1),
  RATE_PREKEY_POINTS: int(300, 1),
  RATE_PREKEY_WINDOW: int(3600, 1),
  RATE_LOOKUP_POINTS: int(600, 1),
  RATE_LOOKUP_WINDOW: int(3600, 1),
  RATE_SEND_POINTS: int(6000, 1),
  RATE_SEND_WINDOW: int(60, 1),
  RATE_UPLOAD_POINTS: int(200, 1),
  RATE_UPLOAD_WINDOW: int(3600, 1),
  // Attachments: encrypted blobs on disk (a volume), metadata in Postgres.
  /** Where blobs are written; default `${SOTTO_DATA_DIR}/blobs`. Share it between instances. */
  BLOB_DIR: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  ATTACHMENT_MAX_BYTES: int(100 * 1024 * 1024, 1),
  /** Bytes of unexpired blobs (complete or not) one account may hold. */
  ATTACHMENT_QUOTA_BYTES: int(1024 * 1024 * 1024, 1),
  /** How long a complete blob is kept (counted from its last byte). */
  ATTACHMENT_TTL_SECONDS: int(30 * 24 * 3600, 1),
  /**
   * An upload that gets no bytes for this long is dropped, and the quota it reserved is free again: a client
   * that crashed and started over must not hold the account's quota for a month.
   */
  ATTACHMENT_INCOMPLETE_TTL_SECONDS: int(24 * 3600, 1),
  /** An upload PATCH that gets no bytes this long is ended, so the client's resume can take over at once. */
  ATTACHMENT_IDLE_TIMEOUT_SECONDS: int(30, 1),
  // TURN (coturn use-auth-secret).
  /** What clients are given: turn:, turns: or stun: URIs (a host without a scheme fails in every browser). */
  TURN_URLS: list.pipe(
    z.array(
      z.string().regex(/^(turns?|stun):[^\s]+$/, 'expected turn:HOST[:PORT][?transport=udp|tcp], turns: or stun: URIs'),
    ),
  ),
  TURN_SECRET: z.preprocess(emptyToUndefined, z.string().min(16).optional()),
  TURN_TTL_SECONDS: int(24 * 3600, 60),
});
export type Env = z.infer<typeof EnvSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid relay configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/** Parses the environment once at start; throws an EnvError listing every bad variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = EnvSchema.safeParse(source);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`));
  }
  return result.data;
}

/** The browser-origin allow-list (CORS_ORIGINS and ALLOWED_ORIGINS together). */
export function allowedOrigins(env: Env): string[] {
  return [...new Set([...env.CORS_ORIGINS, ...env.ALLOWED_ORIGINS])];
}
