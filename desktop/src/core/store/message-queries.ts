import { v7 } from 'uuid';
import type { HistoryPage, MessageKind, MessageStatus, MessageView, SearchHit } from '../messenger-types.js';
import { indexedAsWritten, searchSnippet, searchText } from './search-text.js';
import { all, one, type ReadableDB, run, sql, type WritableDB } from './sql.js';

/** Marks around a searched word in a snippet (the UI and the CLI render them). */
const SNIPPET_OPEN = '\u0002';
const SNIPPET_CLOSE = '\u0003';

/**
 * A new message id: a UUIDv7 (RFC 9562), ordered by creation time. New rows then land at the end of the
 * id index instead of on a random page of it, so a commit encrypts and writes a few index pages instead
 * of one per message (128 messages into 50,000: 2.1 ms instead of 8.5 ms per COMMIT). The time it holds
 * travels only inside end-to-end encrypted content, next to the sentAt that already says the same.
 */
export const newMessageId = (): string => v7();

interface RawMessage {
  seq: number;
  id: string;
  conversation_id: string;
  kind: MessageKind;
  from_me: number;
  author_account_id: string;
  body: string;
  sent_at: number;
  received_at: number;
  status: MessageStatus;
  edited_at: number | null;
  deleted: number;
  quote_message_id: string | null;
  quote_author_account_id: string | null;
  quote_text: string | null;
  expires_in_seconds: number;
  expires_at: number | null;
}

/** A message as stored: the view's own fields, plus what only the store keeps (unread, the timer it was sent with). */
export interface NewMessage
  extends Pick<
    MessageView,
    'id' | 'conversationId' | 'kind' | 'fromMe' | 'authorAccountId' | 'body' | 'sentAt' | 'receivedAt' | 'status'
  > {
  unread: boolean;
  quote?: NonNullable<MessageView['quote']> | undefined;
  expiresInSeconds?: number;
  expiresAt?: MessageView['expiresAt'];
}

/**
 * Inserts a message; returns false when a message with this id already exists (exactly-once display). Call it
 * inside a transaction: an unread message's row and its conversation's count are two statements.
 */
export function insertMessage(db: WritableDB, m: NewMessage): boolean {
  const result = run(
    db,
    sql`INSERT OR IGNORE INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at,
      received_at, status, unread, quote_message_id, quote_author_account_id, quote_text, expires_in_seconds, expires_at)
      VALUES (${m.id}, ${m.conversationId}, ${m.kind}, ${m.fromMe ? 1 : 0}, ${m.authorAccountId}, ${m.body},
      ${m.sentAt}, ${m.receivedAt}, ${m.status}, ${m.unread ? 1 : 0}, ${m.quote?.messageId ?? null},
      ${m.quote?.authorAccountId ?? null}, ${m.quote?.text ?? null}, ${m.expiresInSeconds ?? 0}, ${m.expiresAt ?? null})`,
  );
  if (result.changes === 0) {
    return false;
  }
  if (m.unread) {
    // Not a trigger: see migration 0019.
    run(db, sql`UPDATE conversations SET unread_count = unread_count + 1 WHERE id = ${m.conversationId}`);
  }
  return true;
}

/**
 * Adds the messages stored since the last call to the full-text index, in one statement (see migration
 * 0008: per-row indexing costs five times as much, and each call writes a new index segment, so fewer
 * calls over more rows cost less). With `atLeast`, does nothing while fewer rows wait. Returns how many
 * rows (by seq) are still waiting: 0 once indexed.
 */
export function indexNewMessages(db: WritableDB, atLeast = 1): number {
  const { indexed, newest } = one<{ indexed: number; newest: number }>(
    db,
    sql`SELECT indexed_seq AS indexed, (SELECT coalesce(max(seq), 0) FROM messages) AS newest FROM fts_progress`,
  ) ?? { indexed: 0, newest: 0 };
  const waiting = newest - indexed;
  if (waiting <= 0 || waiting < atLeast) {
    return Math.max(0, waiting);
  }
  run(
    db,
    sql`INSERT INTO messages_fts (rowid, body)
      SELECT seq, search_text(body) FROM messages WHERE seq > ${indexed} AND seq <= ${newest} AND kind = 'text' ORDER BY seq`,
  );
  run(db, sql`UPDATE fts_progress SET indexed_seq = ${newest}`);
  return 0;
}

/** What a reply quotes of a message: its first 512 characters (the wire limit), never half a surrogate pair. */
export function quoteExcerpt(body: string): string {
  const excerpt = body.slice(0, 512);
  return /[\uD800-\uDBFF]$/.test(excerpt) ? excerpt.slice(0, -1) : excerpt;
}

/** The view of a message just inserted with `insertMessage` (no reactions, edits or deletion yet): no read back. */
export function newMessageView(m: NewMessage): MessageView {
  return {
    id: m.id,
    conversationId: m.conversationId,
    kind: m.kind,
    fromMe: m.fromMe,
    authorAccountId: m.authorAccountId,
    body: m.body,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    status: m.status,
    editedAt: null,
    deleted: false,
    reactions: [],
    quote: m.quote ? { ...m.quote } : null,
    expiresAt: m.expiresAt ?? null,
  };
}

function reactionsFor(db: ReadableDB, messageIds: string[]): Map<string, MessageView['reactions']> {
  const byMessage = new Map<string, MessageView['reactions']>();
  if (messageIds.length === 0) {
    return byMessage;
  }
  // One statement text whatever the count (the prepared-statement cache stays small).
  const rows = all<{ message_id: string; account_id: string; emoji: string }>(
    db,
    sql`SELECT message_id, account_id, emoji FROM reactions
      WHERE message_id IN (SELECT value FROM json_each(${JSON.stringify(messageIds)})) AND removed = 0 ORDER BY at`,
  );
  for (const row of rows) {
    const list = byMessage.get(row.message_id) ?? [];
    const existing = list.find((r) => r.emoji === row.emoji);
    if (existing) {
      existing.accountIds.push(row.account_id);
    } else {
      list.push({ emoji: row.emoji, accountIds: [row.account_id] });
    }
    byMessage.set(row.message_id, list);
  }
  return byMessage;
}

function toViews(db: ReadableDB, rows: RawMessage[]): MessageView[] {
  const reactions = reactionsFor(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({
    id: row.id,
    conversationId: row.conversation_id,
    kind: row.kind,
    fromMe: row.from_me === 1,
    authorAccountId: row.author_account_id,
    body: row.deleted ? '' : row.body,
    sentAt: row.sent_at,
    receivedAt: row.received_at,
    status: row.status,
    editedAt: row.edited_at,
    deleted: row.deleted === 1,
    reactions: reactions.get(row.id) ?? [],
    quote:
      row.quote_message_id && row.quote_author_account_id
        ? { messageId: row.quote_message_id, authorAccountId: row.quote_author_account_id, text: row.quote_text ?? '' }
        : null,
    expiresAt: row.expires_at,
  }));
}

export function getMessage(db: ReadableDB, id: string): MessageView | undefined {
  const row = one<RawMessage>(db, sql`SELECT * FROM messages WHERE id = ${id}`);
  return row ? toViews(db, [row])[0] : undefined;
}

/** The messages with these ids that exist (two queries for the whole list). */
export function getMessages(db: ReadableDB, ids: string[]): MessageView[] {
  if (ids.length === 0) {
    return [];
  }
  const rows = all<RawMessage>(
    db,
    sql`SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
  );
  return toViews(db, rows);
}

function encodeCursor(row: { sent_at: number; seq: number }): string {
  return Buffer.from(`${row.sent_at}:${row.seq}`).toString('base64url');
}

function decodeCursor(cursor: string): { sentAt: number; seq: number } {
  const [sentAt, seq] = Buffer.from(cursor, 'base64url').toString('utf8').split(':').map(Number);
  if (!Number.isSafeInteger(sentAt) || !Number.isSafeInteger(seq)) {
    throw new Error('invalid cursor');
  }
  return { sentAt: sentAt as number, seq: seq as number };
}

/** Newest page first in the query, returned oldest first. */
export function historyPage(
  db: ReadableDB,
  conversationId: string,
  options: { before?: string; limit?: number } = {},
): HistoryPage {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const cursor = options.before ? decodeCursor(options.before) : { sentAt: Number.MAX_SAFE_INTEGER, seq: 0 };
  const rows = all<RawMessage>(
    db,
    sql`SELECT * FROM messages WHERE conversation_id = ${conversationId}
      AND (sent_at < ${cursor.sentAt} OR (sent_at = ${cursor.sentAt} AND seq < ${options.before ? cursor.seq : Number.MAX_SAFE_INTEGER}))
      ORDER BY sent_at DESC, seq DESC LIMIT ${limit + 1}`,
  );
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  const oldest = page.at(-1);
  return {
    messages: toViews(db, page.reverse()),
    nextCursor: hasMore && oldest ? encodeCursor(oldest) : null,
  };
}

/** The words of a search (letters, digits, underscores, emoji), at most 16. */
function searchWords(text: string): string[] {
  return text
    .split(/[^\p{L}\p{N}_\p{Extended_Pictographic}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 16);
}

/**
 * Turns free text into an FTS5 query: every word a quoted prefix term (no FTS syntax from the user), in
 * the form the index holds it (see searchText: a word of Chinese becomes the phrase of its characters).
 */
export function toFtsQuery(text: string): string | null {
  const words = searchWords(text);
  return words.length === 0 ? null : words.map((w) => `"${searchText(w).trim().split(/\s+/).join(' ')}"*`).join(' ');
}

/** Full-text search; first indexes the messages still waiting (see CoreContext), so every stored one is found. */
export function searchMessages(db: WritableDB, query: string, limit = 50): SearchHit[] {
  const match = toFtsQuery(query);
  if (!match) {
    return [];
  }
  indexNewMessages(db);
  const rows = all<RawMessage & { snippet: string; username: string }>(
    db,
    sql`SELECT m.*, c.username, snippet(messages_fts, 0, char(2), char(3), '…', 12) AS snippet
      FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid JOIN conversations c ON c.id = m.conversation_id
      WHERE messages_fts MATCH ${match} AND m.deleted = 0
      ORDER BY m.sent_at DESC LIMIT ${Math.min(Math.max(limit, 1), 500)}`,
  );
  const views = toViews(db, rows);
  return rows.map((row, index) => ({
    message: views[index] as MessageView,
    username: row.username,
    snippet: indexedAsWritten(row.body)
      ? row.snippet
      : searchSnippet(row.body, searchWords(query), SNIPPET_OPEN, SNIPPET_CLOSE),
  }));
}

const STATUS_RANK: Record<MessageStatus, number> = { failed: 0, sending: 1, sent: 2, delivered: 3, read: 4 };

/**
 * Moves many outgoing messages' status forward at once (a receipt, a run of sends), only in
 * `conversationId` when given; returns the ids that changed.
 */
export function advanceStatuses(
  db: WritableDB,
  ids: string[],
  status: Exclude<MessageStatus, 'failed'>,
  conversationId?: string,
): string[] {
  if (ids.length === 0) {
    return [];
  }
  const conversation = conversationId ?? null;
  return all<{ id: string }>(
    db,
    sql`UPDATE messages SET status = ${status}
      WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) AND from_me = 1
      AND (${conversation} IS NULL OR conversation_id = ${conversation})
      AND (CASE status WHEN 'failed' THEN ${STATUS_RANK.failed} WHEN 'sending' THEN ${STATUS_RANK.sending}
        WHEN 'sent' THEN ${STATUS_RANK.sent} WHEN 'delivered' THEN ${STATUS_RANK.delivered} ELSE ${STATUS_RANK.read} END)
        < ${STATUS_RANK[status]}
      RETURNING id`,
  ).map((r) => r.id);
}

/**
 * An outgoing message still `sending` could not be sent (a permanent refusal). Returns true if there was such
 * a message. One the relay took already (its answer lost, so still queued here) and its reader confirmed stays
 * as it is: a receipt is the truth about it.
 */
export function markFailed(db: WritableDB, id: string): boolean {
  return (
    run(db, sql`UPDATE messages SET status = 'failed' WHERE id = ${id} AND from_me = 1 AND status = 'sending'`)
      .changes > 0
  );
}

/** A failed message of ours goes back to `sending` (to be sent again); false if it is not one. */
export function markResending(db: WritableDB, id: string): boolean {
  return (
    run(db, sql`UPDATE messages SET status = 'sending' WHERE id = ${id} AND from_me = 1 AND status = 'failed'`)
      .changes > 0
  );
}

/**
 * Replaces the text of `authorAccountId`'s message `id`, shown as edited at `at`, unless an edit its sender
 * wrote later is already here: edits are ordered by `sentAt`, the time the sender's clock gave them (an edit
 * and the one before it come from the author's devices, while `at`, capped at arrival, would order them as
 * they arrived). Returns whether the text changed.
 */
export function editMessage(
  db: WritableDB,
  id: string,
  authorAccountId: string,
  body: string,
  at: number,
  sentAt: number = at,
): boolean {
  return (
    run(
      db,
      sql`UPDATE messages SET body = ${body}, edited_at = ${at}, edit_sent_at = ${sentAt}
        WHERE id = ${id} AND author_account_id = ${authorAccountId} AND deleted = 0 AND kind = 'text'
          AND (edit_sent_at IS NULL OR edit_sent_at <= ${sentAt})`,
    ).changes > 0
  );
}

/**
 * Deletes `authorAccountId`'s message `id` for everyone: its text, its reactions (removed ones too) and its
 * words quoted in replies. Unread, it no longer counts as such: there is nothing left to read. Returns the ids
 * of the replies changed, or null when there is no such message of theirs.
 */
export function markDeleted(db: WritableDB, id: string, authorAccountId: string): string[] | null {
  const deleted =
    run(
      db,
      sql`UPDATE messages SET body = '', deleted = 1, quote_text = NULL, unread = 0
        WHERE id = ${id} AND author_account_id = ${authorAccountId}`,
    ).changes > 0;
  if (!deleted) {
    return null;
  }
  run(db, sql`DELETE FROM reactions WHERE message_id = ${id}`);
  return forgetQuotesOf(db, [id]);
}

/**
 * Replies quoting any of `ids` (messages deleted or gone) forget the quoted excerpt and show "original
 * message not found" from then on. Returns the ids of the replies changed.
 */
function forgetQuotesOf(db: WritableDB, ids: string[]): string[] {
  if (ids.length === 0) {
    return [];
  }
  return all<{ id: string }>(
    db,
    sql`UPDATE messages SET quote_text = ''
      WHERE quote_message_id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) AND quote_text <> ''
      RETURNING id`,
  ).map((row) => row.id);
}

/**
 * Sets `accountId`'s reaction on message `messageId` as of `at` (its sent time): one per person and message,
 * and the newest sent wins, whatever order they arrive in. A removal leaves the row marked removed with its
 * time and no emoji (a tombstone, never shown), so an older reaction arriving after it cannot bring the
 * reaction back, and nothing keeps what was taken back. A removal names the emoji it takes back, but with one
 * reaction per person a newer removal of any emoji leaves none: its sender had replaced the reaction shown
 * here by the one it names, in a reaction still on its way here. At the same sent time a removal wins over a
 * reaction, and of two reactions the emoji that sorts higher (as bytes): every device then shows the same
 * whatever order they arrive in. A message deleted for everyone takes no reactions (markDeleted cleared them).
 */
export function setReaction(
  db: WritableDB,
  messageId: string,
  accountId: string,
  emoji: string,
  remove: boolean,
  at: number,
): void {
  run(
    db,
    sql`INSERT INTO reactions (message_id, account_id, emoji, at, removed)
      SELECT ${messageId}, ${accountId}, ${remove ? '' : emoji}, ${at}, ${remove ? 1 : 0}
      WHERE EXISTS (SELECT 1 FROM messages WHERE id = ${messageId} AND deleted = 0)
      ON CONFLICT (message_id, account_id) DO UPDATE
        SET emoji = excluded.emoji, at = excluded.at, removed = excluded.removed
        WHERE (excluded.at, excluded.removed, excluded.emoji) > (reactions.at, reactions.removed, reactions.emoji)`,
  );
}

/** Marks incoming messages read; starts disappearing timers that run from reading. Returns their ids. */
export function markConversationRead(db: WritableDB, conversationId: string, now: number): string[] {
  const rows = all<{ id: string }>(
    db,
    sql`SELECT id FROM messages WHERE conversation_id = ${conversationId} AND unread = 1 AND kind = 'text'`,
  );
  run(
    db,
    sql`UPDATE messages SET expires_at = ${now} + expires_in_seconds * 1000
      WHERE conversation_id = ${conversationId} AND unread = 1 AND expires_in_seconds > 0 AND expires_at IS NULL`,
  );
  run(db, sql`UPDATE messages SET unread = 0 WHERE conversation_id = ${conversationId} AND unread = 1`);
  return rows.map((r) => r.id);
}

/**
 * Deletes disappearing messages whose time has come. Returns them as they were, marked deleted, and the
 * ids of the replies that quoted them (which forget the quoted words).
 */
export function deleteExpired(db: WritableDB, now: number): { removed: MessageView[]; requoted: string[] } {
  const rows = all<RawMessage>(db, sql`SELECT * FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ${now}`);
  const removed = toViews(db, rows).map((view) => ({ ...view, body: '', deleted: true, reactions: [], quote: null }));
  run(db, sql`DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ${now}`);
  return {
    removed,
    requoted: forgetQuotesOf(
      db,
      rows.map((row) => row.id),
    ),
  };
}

export function nextExpiry(db: ReadableDB): number | null {
  return (
    one<{ at: number | null }>(db, sql`SELECT min(expires_at) AS at FROM messages WHERE expires_at IS NOT NULL`)?.at ??
    null
  );
}

export function findOutgoingBySentAt(db: ReadableDB, conversationId: string, sentAt: number): string[] {
  return all<{ id: string }>(
    db,
    sql`SELECT id FROM messages WHERE conversation_id = ${conversationId} AND from_me = 1 AND kind = 'text' AND sent_at = ${sentAt}`,
  ).map((r) => r.id);
}

export function messageCount(db: ReadableDB): number {
  return one<{ n: number }>(db, sql`SELECT count(*) AS n FROM messages`)?.n ?? 0;
}
