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

/**
 * Raw batched INSERT of the relay's own envelope rows (same table, columns and 300-byte content) with
 * `postgres`: `batch`-row multi-row INSERTs, `inFlight` at a time, for `ms`. Rows per second.
 */
export async function insertCeiling(
  sql: Sql,
  devices: BenchDevice[],
  contentBytes: number,
  { ms = 5000, batch = 100, inFlight = 4 } = {},
): Promise<number> {
  const content = randomBytes(contentBytes);
  const row = (i: number) => {
    const to = devices[i % devices.length] as BenchDevice;
    const from = devices[(i + 1) % devices.length] as BenchDevice;
    const now = Date.now();
    return {
      guid: randomUUID(),
      account_id: to.accountId,
      device_id: 1,
      type: 'whisper',
      source_account_id: from.accountId,
      source_device_id: 1,
      client_timestamp: now,
      server_timestamp: now,
      expires_at: now + 30 * 24 * 3600 * 1000,
      content,
    };
  };
  let rows = 0;
  let n = 0;
  const started = performance.now();
  const stopAt = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < stopAt) {
        const values = Array.from({ length: batch }, () => row(n++));
        await sql`INSERT INTO envelopes ${sql(values)}`;
        rows += batch;
      }
    }),
  );
  const rate = rows / ((performance.now() - started) / 1000);
  await sql`DELETE FROM envelopes`;
  await vacuumEnvelopes(sql);
  return rate;
}

/**
 * The relay's whole Postgres workload, raw: each batch of envelopes INSERTed as in `insertCeiling`, then
 * DELETEd by (account, device, guid) in one statement, as acks delete them. Every message the relay
 * accepts costs Postgres both, so this is the most the relay could reach if it cost nothing itself.
 */
export async function insertDeleteCeiling(
  sql: Sql,
  devices: BenchDevice[],
  contentBytes: number,
  { ms = 5000, batch = 100, inFlight = 4 } = {},
): Promise<number> {
  const content = randomBytes(contentBytes);
  let rows = 0;
  let n = 0;
  const started = performance.now();
  const stopAt = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < stopAt) {
        const now = Date.now();
        const values = Array.from({ length: batch }, () => {
          const i = n++;
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
        });
        await sql`INSERT INTO envelopes ${sql(values)}`;
        await sql`
          DELETE FROM envelopes e
          USING unnest(${values.map((v) => v.account_id)}::uuid[], ${values.map((v) => v.guid)}::uuid[]) AS a(account_id, guid)
          WHERE e.guid = a.guid AND e.account_id = a.account_id AND e.device_id = 1`;
        rows += batch;
      }
    }),
  );
  const rate = rows / ((performance.now() - started) / 1000);
  await vacuumEnvelopes(sql);
  return rate;
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
