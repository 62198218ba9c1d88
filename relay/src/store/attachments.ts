import type { Sql } from './db.js';

export interface AttachmentRow {
  id: string;
  accountId: string;
  size: number;
  sha256: string;
  complete: boolean;
  createdAt: number;
  expiresAt: number;
}

interface RawAttachment {
  id: string;
  account_id: string;
  size: number;
  sha256: Buffer;
  complete: boolean;
  created_at: number;
  expires_at: number;
}

const toRow = (r: RawAttachment): AttachmentRow => ({
  id: r.id,
  accountId: r.account_id,
  size: r.size,
  sha256: r.sha256.toString('hex'),
  complete: r.complete,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export interface NewAttachment {
  id: string;
  accountId: string;
  size: number;
  sha256: string;
  now: number;
  expiresAt: number;
  /** Most bytes of unexpired blobs the account may hold, this one included. */
  quota: number;
}

/**
 * Records an announced upload unless it would take the account over its quota. The account row is locked
 * so concurrent announcements of one account are counted one after the other.
 */
export async function insertAttachment(sql: Sql, a: NewAttachment): Promise<'ok' | 'quota' | 'no_account'> {
  return sql.begin(async (tx) => {
    const owner = await tx`SELECT 1 FROM accounts WHERE id = ${a.accountId} FOR UPDATE`;
    if (owner.length === 0) {
      return 'no_account' as const;
    }
    const [used] = await tx<{ bytes: number }[]>`
      SELECT coalesce(sum(size), 0)::bigint AS bytes FROM attachments
      WHERE account_id = ${a.accountId} AND expires_at > ${a.now}`;
    if ((used?.bytes ?? 0) + a.size > a.quota) {
      return 'quota' as const;
    }
    await tx`
      INSERT INTO attachments (id, account_id, size, sha256, created_at, expires_at)
      VALUES (${a.id}, ${a.accountId}, ${a.size}, ${Buffer.from(a.sha256, 'hex')}, ${a.now}, ${a.expiresAt})`;
    return 'ok' as const;
  });
}

/** An unexpired attachment, complete or not. */
export async function findAttachment(sql: Sql, id: string, now: number): Promise<AttachmentRow | undefined> {
  const [row] = await sql<RawAttachment[]>`
    SELECT id, account_id, size, sha256, complete, created_at, expires_at
    FROM attachments WHERE id = ${id} AND expires_at > ${now}`;
  return row && toRow(row);
}

/**
 * Takes the upload lease of the owner's incomplete blob for `leaseMs`, and returns the upload's expiry.
 * Undefined when the blob is not the owner's, is complete, or another request (on any instance) holds an
 * unexpired lease.
 */
export async function claimUpload(
  sql: Sql,
  id: string,
  accountId: string,
  writer: string,
  now: number,
  leaseMs: number,
  /** An upload being written is not abandoned: it lives at least this long (see extendUpload). */
  expiresAt: number,
): Promise<number | undefined> {
  const [row] = await sql<{ expires_at: number }[]>`
    UPDATE attachments SET writer = ${writer}, writer_until = ${now + leaseMs},
                           expires_at = greatest(expires_at, ${expiresAt})
    WHERE id = ${id} AND account_id = ${accountId} AND NOT complete AND expires_at > ${now}
      AND (writer IS NULL OR writer_until <= ${now})
    RETURNING expires_at`;
  return row?.expires_at;
}

export async function renewUpload(sql: Sql, id: string, writer: string, until: number): Promise<void> {
  await sql`UPDATE attachments SET writer_until = ${until} WHERE id = ${id} AND writer = ${writer}`;
}

export async function releaseUpload(sql: Sql, id: string, writer: string): Promise<void> {
  await sql`UPDATE attachments SET writer = NULL, writer_until = NULL WHERE id = ${id} AND writer = ${writer}`;
}

/** The last byte is in and checked: the blob is kept until `expiresAt`. */
export async function markComplete(sql: Sql, id: string, expiresAt: number): Promise<void> {
  await sql`
    UPDATE attachments SET complete = true, expires_at = ${expiresAt}, writer = NULL, writer_until = NULL
    WHERE id = ${id}`;
}

/** Bytes arrived: an incomplete upload lives on until `expiresAt` (never shortened). Returns its expiry. */
export async function extendUpload(sql: Sql, id: string, expiresAt: number): Promise<number | undefined> {
  const [row] = await sql<{ expires_at: number }[]>`
    UPDATE attachments SET expires_at = greatest(expires_at, ${expiresAt})
    WHERE id = ${id} AND NOT complete
    RETURNING expires_at`;
  return row?.expires_at;
}

export async function deleteAttachment(sql: Sql, id: string): Promise<void> {
  await sql`DELETE FROM attachments WHERE id = ${id}`;
}

/**
 * Deletes expired rows (complete or abandoned uploads) and returns their ids, whose files must go too. An
 * upload a PATCH is writing right now (its lease live) is left to it.
 */
export async function deleteExpiredAttachments(sql: Sql, now: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    DELETE FROM attachments WHERE expires_at <= ${now} AND (writer IS NULL OR writer_until <= ${now})
    RETURNING id`;
  return rows.map((r) => r.id);
}

/** Of these ids, the ones with no attachment row (their files are orphans). */
export async function unknownAttachmentIds(sql: Sql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) {
    return [];
  }
  const known = await sql<{ id: string }[]>`SELECT id FROM attachments WHERE id = ANY(${ids}::text[])`;
  const keep = new Set(known.map((r) => r.id));
  return ids.filter((id) => !keep.has(id));
}

export async function accountAttachmentIds(sql: Sql, accountId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`SELECT id FROM attachments WHERE account_id = ${accountId}`;
  return rows.map((r) => r.id);
}
