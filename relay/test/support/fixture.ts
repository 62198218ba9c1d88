import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import { type StartRelayOptions, startTestRelay, type TestRelay } from './relay.js';

export interface RelayFixture {
  relay: TestRelay;
  db: TestDatabase;
}

/**
 * For a test file: a fresh database and a relay on it, started before the tests and removed after.
 * Read the fields inside tests (they are set in beforeAll).
 */
export function useRelay(options: Omit<StartRelayOptions, 'databaseUrl'> = {}): RelayFixture {
  const fixture = {} as RelayFixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase();
    fixture.relay = await startTestRelay({ ...options, databaseUrl: fixture.db.url });
  });
  afterAll(async () => {
    await fixture.relay?.close();
    await fixture.db?.drop();
  });
  return fixture;
}
