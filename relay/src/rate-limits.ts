import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Env } from './env.js';
import { RelayError } from './errors.js';

export type LimitName = 'register' | 'token' | 'prekey' | 'send' | 'upload';

interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}

/**
 * Rate limits on Redis, with an in-memory insurance limiter that takes over while Redis is down.
 * Without Redis (embedded default) the limits are in memory. Extend `LimitName` for new limits.
 */
export class RateLimits {
  private readonly limiters: Record<LimitName, Limiter>;

  constructor(env: Env, redis: Redis | undefined) {
    const make = (name: LimitName, points: number, duration: number): Limiter => {
      const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
      if (!redis) {
        return memory;
      }
      return new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${env.REDIS_PREFIX}rl:${name}`,
        points,
        duration,
        insuranceLimiter: memory,
      });
    };
    this.limiters = {
      register: make('register', env.RATE_REGISTER_POINTS, env.RATE_REGISTER_WINDOW),
      token: make('token', env.RATE_TOKEN_POINTS, env.RATE_TOKEN_WINDOW),
      prekey: make('prekey', env.RATE_PREKEY_POINTS, env.RATE_PREKEY_WINDOW),
      send: make('send', env.RATE_SEND_POINTS, env.RATE_SEND_WINDOW),
      upload: make('upload', env.RATE_UPLOAD_POINTS, env.RATE_UPLOAD_WINDOW),
    };
  }

  /** Takes `points` from the bucket; throws a 429 RelayError with Retry-After when it is empty. */
  async consume(name: LimitName, key: string, points = 1): Promise<void> {
    try {
      await this.limiters[name].consume(key, points);
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
