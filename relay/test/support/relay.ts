import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import { loadEnv } from '../../src/env.js';
import type { Logger } from '../../src/logger.js';
import { createRelay, type Relay } from '../../src/relay.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Limits high enough that only tests about limits hit them. */
export const TEST_ENV: Record<string, string> = {
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
  RATE_REGISTER_POINTS: '100000',
  RATE_TOKEN_POINTS: '100000',
  RATE_PREKEY_POINTS: '100000',
  RATE_LOOKUP_POINTS: '100000',
  RATE_SEND_POINTS: '100000',
  DATABASE_POOL_SIZE: '6',
};

/** A random Redis prefix per test run, so runs never see each other's channels or keys. */
export const randomRedisPrefix = () => `sotto-test-${randomBytes(6).toString('hex')}:`;

export interface TestRelay {
  relay: Relay;
  url: string;
  wsUrl: string;
  port: number;
  close(): Promise<void>;
}

export interface StartRelayOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** Shared by instances that should see each other's Redis messages. */
  redisPrefix?: string;
  env?: Record<string, string>;
  clock?: Clock;
  /** Where the relay logs (silent otherwise). */
  logger?: Logger;
}

/** Starts an in-process relay on a random port of 127.0.0.1. Without databaseUrl it runs PGlite in memory. */
export async function startTestRelay(options: StartRelayOptions = {}): Promise<TestRelay> {
  const env = loadEnv({
    ...TEST_ENV,
    SOTTO_DATA_DIR: 'memory://',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redisUrl
      ? { REDIS_URL: options.redisUrl, REDIS_PREFIX: options.redisPrefix ?? randomRedisPrefix() }
      : {}),
    ...options.env,
  });
  const relay = await createRelay({
    env,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const port = await relay.listen(0, '127.0.0.1');
  return {
    relay,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    close: () => relay.close(),
  };
}
