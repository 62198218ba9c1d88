import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Sql } from '../src/store/db.js';
import type { BenchDevice } from './seed.js';

/**
 * Every measurement (a ceiling or a relay phase) starts from the same table: without this, each one ran
 * on the dead rows of all before it (every envelope is inserted, then deleted when acked), and the INSERT
 * ceiling fell by a third from the first measurement to the last.
 */
export async function vacuumEnvelopes(sql: Sql): Promise<void> {
  await sql`VACUUM envelopes`;
}

export interface CeilingOptions {
  ms?: number;
  /** Rows per statement. */
  batch?: number;
  /** Statements in flight. */
  inFlight?: number;
}

/**
 * Runs `write` on batches of the relay's own envelope rows (same table, columns and content size, for
 * `devices`), `inFlight` at a time, for `ms`; then empties and vacuums the table. Rows per second.
 */
async function envelopeCeiling(
  sql: Sql,
  devices: BenchDevice[],
  contentBytes: number,
  { ms = 5000, batch = 100, inFlight = 4 }: CeilingOptions,
  write: (rows: EnvelopeRow[]) => Promise<unknown>,
): Promise<number> {
  const content = randomBytes(contentBytes);
  let n = 0;
  const row = (): EnvelopeRow => {
    const i = n++;
    const now = Date.now();
    return {
      guid: randomUUID(),
      account_id: (devices[i % devices.length] as BenchDevice).accountId,
      device_id: 1,
      type: 'whisper',
      source_account_id: (devices[(i + 1) % devices.length] as BenchDevice).accountId,
      source_device_id: 1,
      client_timestamp: now,
      server_timestamp: now,
      expires_at: now + 30 * 24 * 3600 * 1000,
      content,
    };
  };
  let rows = 0;
  const started = performance.now();
  const stopAt = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < stopAt) {
        await write(Array.from({ length: batch }, row));
        rows += batch;
      }
    }),
  );
  const rate = rows / ((performance.now() - started) / 1000);
  await sql`DELETE FROM envelopes`;
  await vacuumEnvelopes(sql);
  return rate;
}

interface EnvelopeRow {
  guid: string;
  account_id: string;
  device_id: number;
  type: string;
  source_account_id: string;
  source_device_id: number;
  client_timestamp: number;
  server_timestamp: number;
  expires_at: number;
  content: Buffer;
}

/** Raw batched INSERT with `postgres`: `batch`-row multi-row INSERTs, `inFlight` at a time. Rows per second. */
export function insertCeiling(
  sql: Sql,
  devices: BenchDevice[],
  contentBytes: number,
  options: CeilingOptions = {},
): Promise<number> {
  return envelopeCeiling(sql, devices, contentBytes, options, (rows) => sql`INSERT INTO envelopes ${sql(rows)}`);
}

/**
 * The relay's whole Postgres workload, raw: each batch INSERTed as in `insertCeiling`, then DELETEd by
 * (account, device, guid) in one statement, as acks delete them. Every message the relay accepts costs
 * Postgres both, so this is the most the relay could reach if it cost nothing itself.
 */
export function insertDeleteCeiling(
  sql: Sql,
  devices: BenchDevice[],
  contentBytes: number,
  options: CeilingOptions = {},
): Promise<number> {
  return envelopeCeiling(sql, devices, contentBytes, options, async (rows) => {
    await sql`INSERT INTO envelopes ${sql(rows)}`;
    await sql`
      DELETE FROM envelopes e
      USING unnest(${rows.map((r) => r.account_id)}::uuid[], ${rows.map((r) => r.guid)}::uuid[]) AS a(account_id, guid)
      WHERE e.guid = a.guid AND e.account_id = a.account_id AND e.device_id = 1`;
  });
}

/**
 * Raw Redis pub/sub through ioredis of the same payloads the bench sends (a 1:1 envelope as JSON), to one
 * channel per device, `inFlight` PUBLISH outstanding, counted at a subscriber. Messages per second.
 */
export async function pubsubCeiling(
  redisUrl: string,
  prefix: string,
  devices: BenchDevice[],
  contentBytes: number,
  { ms = 5000, inFlight = 64 } = {},
): Promise<number> {
  const pub = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  try {
    const channels = devices.map((d) => `${prefix}ceiling:${d.accountId}:1`);
    await sub.subscribe(...channels);
    let received = 0;
    sub.on('message', () => {
      received += 1;
    });
    const payload = JSON.stringify({
      guid: randomUUID(),
      type: 'whisper',
      sourceAccountId: devices[0]?.accountId,
      sourceDeviceId: 1,
      destinationDeviceId: 1,
      clientTimestamp: Date.now(),
      serverTimestamp: Date.now(),
      content: randomBytes(contentBytes).toString('base64'),
    });
    let n = 0;
    const started = performance.now();
    const stopAt = started + ms;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < stopAt) {
          await pub.publish(channels[n++ % channels.length] as string, payload);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    // Let the last messages arrive.
    await new Promise((r) => setTimeout(r, 200));
    return received / elapsed;
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
}
