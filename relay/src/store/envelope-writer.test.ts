import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { createSql, type Sql } from './db.js';
import { EnvelopeWriter } from './envelope-writer.js';
import type { NewEnvelope } from './messages.js';
import { migrate } from './migrate.js';

let db: TestDatabase;
let sql: Sql;
const account = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  sql = createSql(db.url, { max: 4 });
  // Several instances starting together: the advisory lock lets exactly one apply each migration.
  const results = await Promise.all([migrate(sql), migrate(sql), migrate(sql)]);
  expect(results.flat()).toEqual([
    '00001_init.sql',
    '00002_attachments.sql',
    '00003_live_connection.sql',
    '00004_live_since.sql',
    '00005_drop_next_device_id.sql',
  ]);
  await sql`INSERT INTO accounts (id, username, created_at) VALUES (${account}, 'writer', 0)`;
  await sql`INSERT INTO devices (account_id, device_id, registration_id, secret_hash, created_at)
            VALUES (${account}, 1, 1, 'x', 0)`;
});
afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

const envelope = (deviceId = 1): NewEnvelope => ({
  guid: randomUUID(),
  accountId: account,
  deviceId,
  type: 'whisper',
  sourceAccountId: null,
  sourceDeviceId: null,
  clientTimestamp: 1,
  serverTimestamp: 2,
  expiresAt: Date.now() + 60_000,
  content: Buffer.from('ciphertext').toString('base64'),
});

describe('EnvelopeWriter (group commit)', () => {
  it('commits every envelope of many concurrent sends, in fewer transactions than sends', async () => {
    const writer = new EnvelopeWriter(sql, { maxConcurrent: 1, maxBatch: 1000 });
    const sends = Array.from({ length: 50 }, () => [envelope(), envelope()]);
    await Promise.all(sends.map((s) => writer.write(s)));
    const guids = sends.flat().map((e) => e.guid);
    const [row] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM envelopes WHERE guid = ANY(${guids}::uuid[])`;
    expect(row?.n).toBe(100);
  });

  it('fails only the send whose envelopes cannot be stored', async () => {
    const writer = new EnvelopeWriter(sql, { maxConcurrent: 1, maxBatch: 1000 });
    const good = [envelope()];
    const bad = [envelope(99)]; // no such device: the foreign key refuses it
    const results = await Promise.allSettled([writer.write([envelope()]), writer.write(good), writer.write(bad)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const [row] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM envelopes WHERE guid = ${good[0]?.guid as string}`;
    expect(row?.n).toBe(1);
  });
});
