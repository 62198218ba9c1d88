import type { Sql } from './db.js';

export interface RelayStats {
  accounts: number;
  devices: number;
  queuedEnvelopes: number;
  blobs: number;
  blobBytes: number;
  incompleteUploads: number;
  unusedInvites: number;
}

/** Counts for operators (admin CLI `stats`): never anything about who talks to whom. */
export async function relayStats(sql: Sql, now: number): Promise<RelayStats> {
  const [row] = await sql<
    {
      accounts: number;
      devices: number;
      envelopes: number;
      blobs: number;
      blob_bytes: number;
      incomplete: number;
      invites: number;
    }[]
  >`
    SELECT
      (SELECT count(*)::int FROM accounts) AS accounts,
      (SELECT count(*)::int FROM devices) AS devices,
      (SELECT count(*)::int FROM envelopes) AS envelopes,
      (SELECT count(*)::int FROM attachments WHERE complete) AS blobs,
      (SELECT coalesce(sum(size), 0)::bigint FROM attachments WHERE complete) AS blob_bytes,
      (SELECT count(*)::int FROM attachments WHERE NOT complete) AS incomplete,
      (SELECT count(*)::int FROM invites WHERE used_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})) AS invites`;
  return {
    accounts: row?.accounts ?? 0,
    devices: row?.devices ?? 0,
    queuedEnvelopes: row?.envelopes ?? 0,
    blobs: row?.blobs ?? 0,
    blobBytes: row?.blob_bytes ?? 0,
    incompleteUploads: row?.incomplete ?? 0,
    unusedInvites: row?.invites ?? 0,
  };
}
