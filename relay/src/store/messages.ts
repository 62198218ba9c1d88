import type { Envelope, EnvelopeType } from '@sotto/shared-types';
import { joinedColumn, type Sql } from './db.js';

export interface NewEnvelope {
  guid: string;
  accountId: string;
  deviceId: number;
  type: EnvelopeType;
  sourceAccountId: string | null;
  sourceDeviceId: number | null;
  clientTimestamp: number;
  serverTimestamp: number;
  expiresAt: number;
  /** The ciphertext, base64 as it arrived (validated by the request schema). */
  content: string;
}

/**
 * One INSERT of many envelopes (possibly from several senders), in one transaction. Returns each envelope's
 * queue position, in the order given. Columns travel as arrays, so every batch size shares one prepared
 * statement (a VALUES list would prepare a new statement per size, on every pooled connection), each
 * array as one joined string (see joinedColumn).
 */
export async function insertEnvelopes(sql: Sql, envelopes: NewEnvelope[]): Promise<number[]> {
  const column = (pick: (e: NewEnvelope) => string | number | null) => joinedColumn(envelopes.map(pick));
  const inserted = await sql<{ id: number; guid: string }[]>`
    INSERT INTO envelopes (guid, account_id, device_id, type, source_account_id, source_device_id,
                           client_timestamp, server_timestamp, expires_at, content)
    SELECT guid, account_id, device_id, type, source_account_id, source_device_id,
           client_timestamp, server_timestamp, expires_at, decode(content, 'base64')
    FROM unnest(
      string_to_array(${column((e) => e.guid)}, ',', '')::uuid[],
      string_to_array(${column((e) => e.accountId)}, ',', '')::uuid[],
      string_to_array(${column((e) => e.deviceId)}, ',', '')::smallint[],
      string_to_array(${column((e) => e.type)}, ',', '')::text[],
      string_to_array(${column((e) => e.sourceAccountId)}, ',', '')::uuid[],
      string_to_array(${column((e) => e.sourceDeviceId)}, ',', '')::smallint[],
      string_to_array(${column((e) => e.clientTimestamp)}, ',', '')::bigint[],
      string_to_array(${column((e) => e.serverTimestamp)}, ',', '')::bigint[],
      string_to_array(${column((e) => e.expiresAt)}, ',', '')::bigint[],
      string_to_array(${column((e) => e.content)}, ',', ''))
      AS n(guid, account_id, device_id, type, source_account_id, source_device_id,
           client_timestamp, server_timestamp, expires_at, content)
    RETURNING id, guid`;
  const ids = new Map(inserted.map((r) => [r.guid, r.id]));
  return envelopes.map((e) => ids.get(e.guid) as number);
}

export interface QueuedEnvelope {
  id: number;
  envelope: Envelope;
}

export interface RawEnvelope {
  id: number;
  guid: string;
  type: EnvelopeType;
  source_account_id: string | null;
  source_device_id: number | null;
  device_id: number;
  client_timestamp: number;
  server_timestamp: number;
  content: Buffer;
}

export function toEnvelope(r: {
  guid: string;
  type: EnvelopeType;
  sourceAccountId: string | null;
  sourceDeviceId: number | null;
  destinationDeviceId: number;
  clientTimestamp: number;
  serverTimestamp: number;
  /** base64 */
  content: string;
}): Envelope {
  return {
    guid: r.guid,
    type: r.type,
    ...(r.sourceAccountId ? { sourceAccountId: r.sourceAccountId } : {}),
    ...(r.sourceDeviceId ? { sourceDeviceId: r.sourceDeviceId } : {}),
    destinationDeviceId: r.destinationDeviceId,
    clientTimestamp: r.clientTimestamp,
    serverTimestamp: r.serverTimestamp,
    content: r.content,
  };
}

export const toQueued = (r: RawEnvelope): QueuedEnvelope => ({
  id: r.id,
  envelope: toEnvelope({
    guid: r.guid,
    type: r.type,
    sourceAccountId: r.source_account_id,
    sourceDeviceId: r.source_device_id,
    destinationDeviceId: r.device_id,
    clientTimestamp: r.client_timestamp,
    serverTimestamp: r.server_timestamp,
    content: r.content.toString('base64'),
  }),
});

/** Deletes acked envelopes; only the device's own (a guid of someone else's queue deletes nothing). */
export async function ackEnvelopes(sql: Sql, accountId: string, deviceId: number, guids: string[]): Promise<number> {
  const result = await sql`
    DELETE FROM envelopes WHERE account_id = ${accountId} AND device_id = ${deviceId} AND guid = ANY(${guids}::uuid[])`;
  return result.count;
}

export async function deleteExpiredEnvelopes(sql: Sql, now: number): Promise<number> {
  const result = await sql`DELETE FROM envelopes WHERE expires_at <= ${now}`;
  return result.count;
}

export async function countEnvelopes(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM envelopes`;
  return row?.n ?? 0;
}

/** Devices with queued envelopes whose id is above `afterId` (and at most `upToId`), and the highest such id (fallback doorbell). */
export async function devicesWithMailSince(
  sql: Sql,
  afterId: number,
  upToId = Number.MAX_SAFE_INTEGER,
): Promise<{ devices: { accountId: string; deviceId: number }[]; maxId: number }> {
  const rows = await sql<{ account_id: string; device_id: number; max_id: number }[]>`
    SELECT account_id, device_id, max(id) AS max_id FROM envelopes WHERE id > ${afterId} AND id <= ${upToId}
    GROUP BY account_id, device_id`;
  let maxId = afterId;
  for (const r of rows) {
    maxId = Math.max(maxId, r.max_id);
  }
  return { devices: rows.map((r) => ({ accountId: r.account_id, deviceId: r.device_id })), maxId };
}

export async function maxEnvelopeId(sql: Sql): Promise<number> {
  const [row] = await sql<{ id: number | null }[]>`SELECT max(id) AS id FROM envelopes`;
  return row?.id ?? 0;
}
