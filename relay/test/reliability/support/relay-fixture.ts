import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { randomRedisPrefix, TEST_REDIS_URL } from '../../support/relay.js';
import { RelayProcess, type RelayProcessOptions } from './relay-process.js';

export interface RelayProcessFixture {
  relay: RelayProcess;
  db: TestDatabase;
}

/**
 * For a test file: a fresh database and a relay child process on it (shared Redis, a fresh prefix), started
 * before the file's own beforeAll hooks and removed after. Read the fields inside tests and hooks.
 */
export function useRelayProcess(
  options: Omit<RelayProcessOptions, 'databaseUrl' | 'redisUrl' | 'redisPrefix'> = {},
): RelayProcessFixture {
  const fixture = {} as RelayProcessFixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase();
    fixture.relay = await RelayProcess.start({
      ...options,
      databaseUrl: fixture.db.url,
      redisUrl: TEST_REDIS_URL,
      redisPrefix: randomRedisPrefix(),
    });
  }, 60_000);
  afterAll(async () => {
    await fixture.relay?.stop();
    await fixture.db?.drop();
  });
  return fixture;
}
