import { afterAll, beforeAll } from 'vitest';
import { createSql, type Sql } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
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

export interface SqlFixture {
  sql: Sql;
  db: TestDatabase;
}

/** For a store test file: a fresh, migrated database and a small pool on it (read the fields inside tests). */
export function useMigratedSql(): SqlFixture {
  const fixture = {} as SqlFixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase();
    fixture.sql = createSql(fixture.db.url, { max: 2 });
    await migrate(fixture.sql);
  });
  afterAll(async () => {
    await fixture.sql?.end();
    await fixture.db?.drop();
  });
  return fixture;
}
