import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import type { Env } from './env.js';
import { RelayError } from './errors.js';

export type LimitName = 'register' | 'token' | 'prekey' | 'lookup' | 'send' | 'upload';

/**
 * Longest a limit waits for Redis before the in-memory limiter answers instead. The command connection has no
 * timeout of its own: a connection that stays open but stops answering (or a command held across a reconnect)
 * would otherwise leave the call, and the send or request behind it, waiting for ever.
 */
export const REDIS_LIMIT_TIMEOUT_MS = 1000;

interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}

/**
 * Rate limits on Redis, with an in-memory insurance limiter that takes over while Redis is down or slow to
 * answer (REDIS_LIMIT_TIMEOUT_MS).
 * Without Redis (embedded default) the limits are in memory. Extend `LimitName` for new limits.
 */
export class RateLimits {
  private readonly limiters: Record<LimitName, Limiter>;
  /** Points per window of each limit. */
  readonly points: Record<LimitName, number>;

  constructor(env: Env, redis: Redis | undefined) {
    this.points = {
      register: env.RATE_REGISTER_POINTS,
      token: env.RATE_TOKEN_POINTS,
      prekey: env.RATE_PREKEY_POINTS,
      lookup: env.RATE_LOOKUP_POINTS,
      send: env.RATE_SEND_POINTS,
      upload: env.RATE_UPLOAD_POINTS,
    };
    const make = (name: LimitName, duration: number): Limiter => {
      const points = this.points[name];
      const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
      if (!redis) {
        return memory;
      }
      return new RLWrapperTimeouts({
        limiter: new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${env.REDIS_PREFIX}rl:${name}`,
          points,
          duration,
          insuranceLimiter: memory,
        }),
        timeoutMs: REDIS_LIMIT_TIMEOUT_MS,
        insuranceLimiter: memory,
      });
    };
    this.limiters = {
      register: make('register', env.RATE_REGISTER_WINDOW),
      token: make('token', env.RATE_TOKEN_WINDOW),
      prekey: make('prekey', env.RATE_PREKEY_WINDOW),
      lookup: make('lookup', env.RATE_LOOKUP_WINDOW),
      send: make('send', env.RATE_SEND_WINDOW),
      upload: make('upload', env.RATE_UPLOAD_WINDOW),
    };
  }

  /**
   * Takes `points` from the bucket; throws a 429 RelayError with Retry-After when it is empty. Resolves to the
   * milliseconds left in the current window.
   */
  async consume(name: LimitName, key: string, points = 1): Promise<number> {
    try {
      return (await this.limiters[name].consume(key, points)).msBeforeNext;
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new RelayError({
          code: 'rate_limited',
          message: `too many requests (${name}); retry in ${seconds} s`,
          headers: { 'Retry-After': String(seconds) },
        });
      }
      throw err;
    }
  }
}

/** Points a socket prepays at most (see SendBudget). */
const MAX_PREPAID_SENDS = 16;

/**
 * The send limit of one device's socket, prepaid: one call to Redis takes up to 16 points at once and the
 * socket's next sends spend them without a round trip. The next chunk is taken while half of the current one
 * is left, so a busy socket's sends do not wait for Redis at all (at half load in bench:relay, the one send
 * in 16 that waited for a refill took 14 to 36 ms at p99). A device has one live socket, so no other instance
 * spends them. Points never outlive the window they were taken in, and points left when the socket closes
 * are lost: a device may get up to 23 sends fewer than its limit in a window, never more. A small limit (a
 * test's, or a strict server's) is spent one point at a time, exactly, and never ahead.
 */
export class SendBudget {
  #left = 0;
  #until = 0;
  #refill: Promise<void> | undefined;
  readonly #chunk: number;

  constructor(
    private readonly limits: RateLimits,
    private readonly key: string,
    private readonly now: () => number,
  ) {
    this.#chunk = Math.max(1, Math.min(MAX_PREPAID_SENDS, Math.floor(limits.points.send / 100)));
  }

  /** Takes one send; throws the 429 RelayError when the limit is reached. */
  async take(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (this.#left > 0 && this.now() < this.#until) {
        this.#left -= 1;
        if (this.#chunk > 1 && this.#left < this.#chunk / 2) {
          // Ahead of need; a refusal here is met again (and answered) by the send that finds no points.
          this.#startRefill().catch(() => undefined);
        }
        return;
      }
      // Concurrent sends share one refill; if it is refused, each of them gets the 429.
      await this.#startRefill();
    }
    throw new Error('send budget: no refill kept up');
  }

  #startRefill(): Promise<void> {
    this.#refill ??= this.#take().finally(() => {
      this.#refill = undefined;
    });
    return this.#refill;
  }

  async #take(): Promise<void> {
    const msLeft = await this.limits.consume('send', this.key, this.#chunk);
    const until = this.now() + msLeft;
    if (this.#left > 0 && this.now() < this.#until) {
      // Taken ahead: the points left are spent first, and none outlives the earlier window end.
      this.#left += this.#chunk;
      this.#until = Math.min(this.#until, until);
    } else {
      this.#left = this.#chunk;
      this.#until = until;
    }
  }
}
