import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database with a random name on the test Postgres; `drop()` removes it.
 * The benchmark uses it too, with its own prefix and admin URL.
 */
export async function createTestDatabase(options: { prefix?: string; adminUrl?: string } = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? ADMIN_URL;
  const name = `${options.prefix ?? 'sotto_relay_test'}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // unsafe: identifiers cannot be parameters; the name is our own random hex.
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        // unsafe: see above.
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
