import { randomUUID } from 'node:crypto';
import { AccessTokens } from '../src/auth/access-tokens.js';
import { systemClock } from '../src/clock.js';
import { createSql, type Sql } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { createTestDatabase } from '../test/support/database.js';

export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** A fresh, migrated database with a random name; `drop()` removes it. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const database = await createTestDatabase({ prefix: 'sotto_bench', adminUrl: ADMIN_URL });
  const sql = createSql(database.url, { max: 8 });
  await migrate(sql);
  return {
    url: database.url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await database.drop();
    },
  };
}

export interface BenchDevice {
  accountId: string;
  deviceId: number;
  registrationId: number;
  token: string;
}

/**
 * Creates `count` accounts with one device each and a live token family, straight in SQL (registering
 * through the API would spend most of the bench in scrypt), and signs their access tokens with the
 * relay's own key (kept in the same database, so every relay instance accepts them).
 */
export async function seedDevices(sql: Sql, count: number, ttlSeconds = 3600): Promise<BenchDevice[]> {
  const now = Date.now();
  const devices: (BenchDevice & { familyId: string })[] = [];
  for (let i = 0; i < count; i++) {
    devices.push({
      accountId: randomUUID(),
      deviceId: 1,
      registrationId: 1 + (i % 16000),
      familyId: randomUUID(),
      token: '',
    });
  }
  for (let i = 0; i < devices.length; i += 2000) {
    const chunk = devices.slice(i, i + 2000);
    await sql`INSERT INTO accounts ${sql(
      chunk.map((d, j) => ({
        id: d.accountId,
        username: `bench_${i + j}_${d.accountId.slice(0, 8)}`,
        created_at: now,
      })),
    )}`;
    await sql`INSERT INTO devices ${sql(
      chunk.map((d) => ({
        account_id: d.accountId,
        device_id: d.deviceId,
        registration_id: d.registrationId,
        // Not a hash of anything: these devices never log in with a secret.
        secret_hash: 'bench',
        created_at: now,
      })),
    )}`;
    await sql`INSERT INTO token_families ${sql(
      chunk.map((d) => ({ id: d.familyId, account_id: d.accountId, device_id: d.deviceId, created_at: now })),
    )}`;
  }
  const tokens = await AccessTokens.load(sql, undefined, {
    issuer: 'sotto-relay',
    audience: 'sotto',
    ttlSeconds,
    clock: systemClock,
  });
  for (const d of devices) {
    d.token = await tokens.sign({ sub: d.accountId, did: d.deviceId, fam: d.familyId });
  }
  return devices.map(({ familyId: _f, ...d }) => d);
}
