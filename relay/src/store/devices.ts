import { MAX_DEVICE_ID } from '@sotto/shared-types';
import type { Sql, TxSql } from './db.js';

export interface DeviceRow {
  deviceId: number;
  name: string | null;
  registrationId: number;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface RawDevice {
  device_id: number;
  name: string | null;
  registration_id: number;
  created_at: number;
  last_seen_at: number | null;
}

export const toDevice = (r: RawDevice): DeviceRow => ({
  deviceId: r.device_id,
  name: r.name,
  registrationId: r.registration_id,
  createdAt: Number(r.created_at),
  lastSeenAt: r.last_seen_at == null ? null : Number(r.last_seen_at),
});

export async function listDevices(sql: Sql | TxSql, accountId: string): Promise<DeviceRow[]> {
  const rows = await sql<RawDevice[]>`
    SELECT device_id, name, registration_id, created_at, last_seen_at
    FROM devices WHERE account_id = ${accountId} ORDER BY device_id`;
  return rows.map(toDevice);
}

export async function getDeviceSecretHash(sql: Sql, accountId: string, deviceId: number): Promise<string | undefined> {
  const [row] = await sql<{ secret_hash: string }[]>`
    SELECT secret_hash FROM devices WHERE account_id = ${accountId} AND device_id = ${deviceId}`;
  return row?.secret_hash;
}

export type AddDeviceResult = { ok: true; deviceId: number } | { ok: false; reason: 'limit' | 'no_account' };

/**
 * Adds a device under the account row lock, so the per-account limit holds under concurrency. It takes the
 * lowest free id from 2 up: a removed device's id is used again (its queue, keys and token families went
 * with it; the new registration id tells senders with a session for the old device to start over, 410).
 */
export async function addDevice(
  sql: Sql,
  accountId: string,
  d: { registrationId: number; name: string | null; secretHash: string; now: number; maxDevices: number },
): Promise<AddDeviceResult> {
  return sql.begin(async (tx): Promise<AddDeviceResult> => {
    const [account] = await tx`SELECT 1 FROM accounts WHERE id = ${accountId} FOR UPDATE`;
    if (!account) {
      return { ok: false, reason: 'no_account' };
    }
    const [{ count, free } = { count: 0, free: null }] = await tx<{ count: number; free: number | null }[]>`
      SELECT (SELECT count(*)::int FROM devices WHERE account_id = ${accountId}) AS count,
             (SELECT min(g.id)::int FROM generate_series(2, ${MAX_DEVICE_ID}) AS g(id)
              WHERE NOT EXISTS (SELECT 1 FROM devices WHERE account_id = ${accountId} AND device_id = g.id)) AS free`;
    if (count >= d.maxDevices || free === null) {
      return { ok: false, reason: 'limit' };
    }
    await tx`
      INSERT INTO devices (account_id, device_id, name, registration_id, secret_hash, created_at)
      VALUES (${accountId}, ${free}, ${d.name}, ${d.registrationId}, ${d.secretHash}, ${d.now})`;
    return { ok: true, deviceId: free };
  });
}

export async function removeDevice(sql: Sql, accountId: string, deviceId: number): Promise<boolean> {
  const rows = await sql`DELETE FROM devices WHERE account_id = ${accountId} AND device_id = ${deviceId} RETURNING 1`;
  return rows.length > 0;
}

/**
 * A socket for the device opened at `now`: the device was seen then, and `connectionId` becomes its newest
 * socket unless a socket that connected later is already recorded (these writes may land out of order).
 */
export async function touchDevice(
  sql: Sql,
  accountId: string,
  deviceId: number,
  now: number,
  connectionId: string,
): Promise<void> {
  await sql`
    UPDATE devices SET
      last_seen_at = greatest(last_seen_at, ${now}),
      live_connection = CASE WHEN live_since IS NULL OR (live_since, live_connection) < (${now}, ${connectionId}::uuid)
                        THEN ${connectionId}::uuid ELSE live_connection END,
      live_since = CASE WHEN live_since IS NULL OR (live_since, live_connection) < (${now}, ${connectionId}::uuid)
                   THEN ${now} ELSE live_since END
    WHERE account_id = ${accountId} AND device_id = ${deviceId}`;
}
