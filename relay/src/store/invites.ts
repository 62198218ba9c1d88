import { createHash, randomBytes } from 'node:crypto';
import type { Sql, TxSql } from './db.js';

const hashCode = (code: string) => createHash('sha256').update(code, 'utf8').digest();

/**
 * A random invite code: 144 bits, base64url, never starting with "-" (the admin CLI takes codes as
 * arguments, and a leading "-" would be read as an option).
 */
export function newInviteCode(): string {
  for (;;) {
    const code = randomBytes(18).toString('base64url');
    if (!code.startsWith('-')) {
      return code;
    }
  }
}

/** Creates a single-use invite code. Only its sha256 is stored; the code is returned once. */
export async function createInvite(sql: Sql, now: number, ttlMs?: number): Promise<string> {
  const code = newInviteCode();
  await sql`INSERT INTO invites (code_hash, created_at, expires_at)
            VALUES (${hashCode(code)}, ${now}, ${ttlMs === undefined ? null : now + ttlMs})`;
  return code;
}

/** Marks an unused, unexpired invite as used by `accountId`. False when no such invite. */
export async function consumeInvite(tx: TxSql, code: string, accountId: string, now: number): Promise<boolean> {
  const rows = await tx`
    UPDATE invites SET used_at = ${now}, used_by = ${accountId}
    WHERE code_hash = ${hashCode(code)} AND used_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
    RETURNING 1`;
  return rows.length > 0;
}

export interface InviteRow {
  createdAt: number;
  expiresAt: number | null;
  usedAt: number | null;
}

export async function listInvites(sql: Sql): Promise<InviteRow[]> {
  const rows = await sql<{ created_at: number; expires_at: number | null; used_at: number | null }[]>`
    SELECT created_at, expires_at, used_at FROM invites ORDER BY created_at`;
  return rows.map((r) => ({ createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at }));
}

/** Revokes an unused invite code. False when there is no such unused code. */
export async function revokeInvite(sql: Sql, code: string): Promise<boolean> {
  const result = await sql`DELETE FROM invites WHERE code_hash = ${hashCode(code)} AND used_at IS NULL`;
  return result.count > 0;
}
