import type { ConversationSummary, MessageKind } from '../messenger-types.js';
import { all, one, type ReadableDB, run, sql, type WritableDB } from './sql.js';

interface RawConversation {
  id: string;
  username: string;
  expires_in_seconds: number;
  verified: number;
  identity_changed: number;
  claim_pending: number;
  unread_count: number;
  last_body: string | null;
  last_at: number | null;
  last_from_me: number | null;
  last_kind: MessageKind | null;
  last_deleted: number | null;
}

const PREVIEW_LENGTH = 120;

const SELECT_SUMMARY = `
  SELECT c.id, c.username, c.expires_in_seconds, c.verified, c.identity_changed, c.unread_count,
    c.claimed_username IS NOT NULL AS claim_pending,
    l.body AS last_body, l.sent_at AS last_at, l.from_me AS last_from_me, l.kind AS last_kind, l.deleted AS last_deleted
  FROM conversations c
  LEFT JOIN messages l ON l.seq = (
    SELECT m.seq FROM messages m WHERE m.conversation_id = c.id ORDER BY m.sent_at DESC, m.seq DESC LIMIT 1)`;

function toSummary(row: RawConversation): ConversationSummary {
  return {
    id: row.id,
    username: row.username,
    unreadCount: row.unread_count,
    lastMessage:
      row.last_at === null
        ? null
        : {
            preview: row.last_deleted ? '' : (row.last_body ?? '').slice(0, PREVIEW_LENGTH),
            at: row.last_at,
            fromMe: row.last_from_me === 1,
            kind: row.last_kind ?? 'text',
          },
    expiresInSeconds: row.expires_in_seconds,
    verified: row.verified === 1,
    identityChanged: row.identity_changed === 1,
    claimPending: row.claim_pending === 1,
  };
}

export function listConversations(db: ReadableDB): ConversationSummary[] {
  return all<RawConversation>(db, [`${SELECT_SUMMARY} ORDER BY coalesce(l.sent_at, c.created_at) DESC`, []]).map(
    toSummary,
  );
}

export function getConversation(db: ReadableDB, id: string): ConversationSummary | undefined {
  const row = one<RawConversation>(db, [`${SELECT_SUMMARY} WHERE c.id = ?`, [id]]);
  return row ? toSummary(row) : undefined;
}

export function findConversationByUsername(db: ReadableDB, username: string): string | undefined {
  return one<{ id: string }>(db, sql`SELECT id FROM conversations WHERE username = ${username}`)?.id;
}

/**
 * The relay confirmed that `username` now belongs to account `ownerId`. Any other conversation still under that
 * name is of an account that is gone (deleted, and its name since taken by someone new): it is renamed
 * `NAME-former-XXXXXXXX` (the first 8 characters of its account id), so the name finds its new owner and the old
 * history stays apart. Usernames never contain "-", so the new name is never a real one. Returns the renamed ids.
 */
export function releaseUsername(db: WritableDB, username: string, ownerId: string): string[] {
  return all<{ id: string }>(
    db,
    sql`UPDATE conversations SET username = username || '-former-' || substr(id, 1, 8)
      WHERE username = ${username} AND id <> ${ownerId} RETURNING id`,
  ).map((r) => r.id);
}

export function ensureConversation(db: WritableDB, id: string, username: string, now: number): void {
  run(
    db,
    sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES (${id}, ${username}, ${now}, ${now})
      ON CONFLICT (id) DO UPDATE SET username = excluded.username`,
  );
}

/** A conversation's disappearing-messages timer in seconds (0: off); undefined when there is no such conversation. */
export function conversationTimer(db: ReadableDB, id: string): number | undefined {
  return one<{ s: number }>(db, sql`SELECT expires_in_seconds AS s FROM conversations WHERE id = ${id}`)?.s;
}

/** The name a conversation is shown under; undefined when there is no such conversation. */
export function conversationName(db: ReadableDB, id: string): string | undefined {
  return one<{ username: string }>(db, sql`SELECT username FROM conversations WHERE id = ${id}`)?.username;
}

/** Whether some conversation is shown under `username`. */
export function conversationNamed(db: ReadableDB, username: string): boolean {
  return one(db, sql`SELECT 1 FROM conversations WHERE username = ${username}`) !== undefined;
}

/** Records the username a stranger's first message claims, until the relay's directory answers (see Inbound). */
export function holdClaim(db: WritableDB, id: string, username: string): void {
  run(db, sql`UPDATE conversations SET claimed_username = ${username} WHERE id = ${id}`);
}

/** Claimed usernames the relay has not answered for yet: conversation (account) id → the name claimed. */
export function heldClaims(db: ReadableDB): Map<string, string> {
  const rows = all<{ id: string; claimed: string }>(
    db,
    sql`SELECT id, claimed_username AS claimed FROM conversations WHERE claimed_username IS NOT NULL`,
  );
  return new Map(rows.map((row) => [row.id, row.claimed]));
}

/** The relay answered for `id`'s claim: it is no longer held. */
export function settleClaim(db: WritableDB, id: string): void {
  run(db, sql`UPDATE conversations SET claimed_username = NULL WHERE id = ${id}`);
}

export function conversationExists(db: ReadableDB, id: string): boolean {
  return one(db, sql`SELECT 1 FROM conversations WHERE id = ${id}`) !== undefined;
}

export function setVerified(db: WritableDB, id: string, verified: boolean): void {
  run(db, sql`UPDATE conversations SET verified = ${verified ? 1 : 0} WHERE id = ${id}`);
}

export function setIdentityChanged(db: WritableDB, id: string, changed: boolean): void {
  run(db, sql`UPDATE conversations SET identity_changed = ${changed ? 1 : 0} WHERE id = ${id}`);
}

export function setExpiresIn(db: WritableDB, id: string, seconds: number): void {
  run(db, sql`UPDATE conversations SET expires_in_seconds = ${seconds} WHERE id = ${id}`);
}
