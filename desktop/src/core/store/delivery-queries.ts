import type { Content, OutgoingMessage } from '@sotto/shared-types';
import { all, one, type ReadableDB, run, sql, type WritableDB } from './sql.js';

export function isEnvelopeProcessed(db: ReadableDB, guid: string): boolean {
  return one(db, sql`SELECT 1 FROM processed_envelopes WHERE guid = ${guid}`) !== undefined;
}

/** The GUIDs among `guids` already processed (one query for a whole batch). */
export function processedAmong(db: ReadableDB, guids: string[]): Set<string> {
  if (guids.length === 0) {
    return new Set();
  }
  // One statement text whatever the count (the prepared-statement cache stays small).
  const rows = all<{ guid: string }>(
    db,
    sql`SELECT guid FROM processed_envelopes WHERE guid IN (SELECT value FROM json_each(${JSON.stringify(guids)}))`,
  );
  return new Set(rows.map((r) => r.guid));
}

export function recordEnvelope(db: WritableDB, guid: string, now: number): void {
  run(db, sql`INSERT OR IGNORE INTO processed_envelopes (guid, processed_at) VALUES (${guid}, ${now})`);
}

/** GUIDs are only needed while the relay might redeliver (until acked); keep a generous window. */
export function pruneProcessedEnvelopes(db: WritableDB, olderThan: number): void {
  run(db, sql`DELETE FROM processed_envelopes WHERE processed_at < ${olderThan}`);
}

export interface OutboxItem {
  seq: number;
  recipientAccountId: string;
  messageId: string | null;
  content: Content;
  onlineOnly: boolean;
  prepared: OutgoingMessage[] | null;
  /** Failed sends that backed off (the relay unreachable…): sets the backoff. */
  attempts: number;
  /** Sessions repaired after a 409/410 (see markRepaired). */
  repairs: number;
  nextAttemptAt: number;
}

interface RawOutbox {
  seq: number;
  recipient_account_id: string;
  message_id: string | null;
  content: string;
  online_only: number;
  attempts: number;
  repairs: number;
  next_attempt_at: number;
}

interface RawCiphertext {
  seq: number;
  device_id: number;
  registration_id: number;
  type: OutgoingMessage['type'];
  content: Uint8Array;
}

export function enqueueOutbox(
  db: WritableDB,
  item: { recipientAccountId: string; messageId: string | null; contentJson: string; onlineOnly?: boolean },
  now: number,
): void {
  run(
    db,
    sql`INSERT INTO outbox (recipient_account_id, message_id, content, online_only, next_attempt_at, created_at)
      VALUES (${item.recipientAccountId}, ${item.messageId}, ${item.contentJson}, ${item.onlineOnly ? 1 : 0}, ${now}, ${now})`,
  );
}

/**
 * Recipients whose queue head is due, oldest head first. Each recipient's queue is strictly FIFO: only its
 * head counts. Walks the distinct recipients on the (recipient, seq) index, one seek each, so a long
 * outbox to few recipients costs a few lookups per drain round instead of a scan.
 */
export function dueRecipients(db: ReadableDB, now: number, limit = 64): string[] {
  const heads: { recipient: string; seq: number }[] = [];
  let after = '';
  for (let i = 0; i < 100_000; i++) {
    const head = one<{ r: string; seq: number; next: number }>(
      db,
      sql`SELECT recipient_account_id AS r, seq, next_attempt_at AS next FROM outbox
        WHERE recipient_account_id > ${after} ORDER BY recipient_account_id, seq LIMIT 1`,
    );
    if (!head) {
      break;
    }
    if (head.next <= now) {
      heads.push({ recipient: head.r, seq: head.seq });
    }
    after = head.r;
  }
  return heads
    .sort((a, b) => a.seq - b.seq)
    .slice(0, limit)
    .map((h) => h.recipient);
}

/** The due run at the front of one recipient's queue (FIFO: stops at the first item still backing off). */
export function dueRun(db: ReadableDB, recipient: string, now: number, limit: number, afterSeq = 0): OutboxItem[] {
  const rows = all<RawOutbox>(
    db,
    sql`SELECT * FROM outbox WHERE recipient_account_id = ${recipient} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`,
  );
  const due: OutboxItem[] = [];
  for (const r of rows) {
    if (r.next_attempt_at > now) {
      break;
    }
    due.push(toItem(r));
  }
  const first = due[0];
  const last = due.at(-1);
  if (!first || !last) {
    return due;
  }
  const bySeq = new Map(due.map((item) => [item.seq, item]));
  for (const c of all<RawCiphertext>(
    db,
    sql`SELECT c.seq, c.device_id, c.registration_id, c.type, c.content
      FROM outbox_ciphertexts c JOIN outbox o ON o.seq = c.seq
      WHERE o.recipient_account_id = ${recipient} AND c.seq BETWEEN ${first.seq} AND ${last.seq}
      ORDER BY c.seq, c.device_id`,
  )) {
    const item = bySeq.get(c.seq);
    if (item) {
      item.prepared ??= [];
      item.prepared.push({
        destinationDeviceId: c.device_id,
        destinationRegistrationId: c.registration_id,
        type: c.type,
        content: Buffer.from(c.content).toString('base64'),
      });
    }
  }
  return due;
}

/** Stores an item's ciphertexts (one per device), or with null drops them (to encrypt it again). */
export function setPrepared(db: WritableDB, seq: number, prepared: OutgoingMessage[] | null): void {
  run(db, sql`DELETE FROM outbox_ciphertexts WHERE seq = ${seq}`);
  for (const m of prepared ?? []) {
    run(
      db,
      sql`INSERT INTO outbox_ciphertexts (seq, device_id, registration_id, type, content)
        VALUES (${seq}, ${m.destinationDeviceId}, ${m.destinationRegistrationId}, ${m.type}, ${Buffer.from(m.content, 'base64')})`,
    );
  }
}

function toItem(r: RawOutbox): OutboxItem {
  return {
    seq: r.seq,
    recipientAccountId: r.recipient_account_id,
    messageId: r.message_id,
    content: JSON.parse(r.content) as Content,
    onlineOnly: r.online_only === 1,
    prepared: null,
    attempts: r.attempts,
    repairs: r.repairs,
    nextAttemptAt: r.next_attempt_at,
  };
}

export function nextOutboxAttempt(db: ReadableDB): number | null {
  return one<{ at: number | null }>(db, sql`SELECT min(next_attempt_at) AS at FROM outbox`)?.at ?? null;
}

export function outboxSize(db: ReadableDB): number {
  return one<{ n: number }>(db, sql`SELECT count(*) AS n FROM outbox`)?.n ?? 0;
}

export function removeOutbox(db: WritableDB, seq: number): void {
  run(db, sql`DELETE FROM outbox WHERE seq = ${seq}`);
  run(db, sql`DELETE FROM outbox_ciphertexts WHERE seq = ${seq}`);
}

/**
 * Removes everything waiting to be sent to `recipient` (with any stored ciphertexts); returns the ids of the
 * messages among it (not receipts, typing or other online-only items).
 */
export function dropOutboxOf(db: WritableDB, recipient: string): string[] {
  const rows = all<{ seq: number; message_id: string | null; online_only: number }>(
    db,
    sql`DELETE FROM outbox WHERE recipient_account_id = ${recipient} RETURNING seq, message_id, online_only`,
  );
  for (const row of rows) {
    run(db, sql`DELETE FROM outbox_ciphertexts WHERE seq = ${row.seq}`);
  }
  return rows.flatMap((row) => (row.message_id !== null && row.online_only === 0 ? [row.message_id] : []));
}

/** Whether the outbox still holds item `seq`. */
export function inOutbox(db: ReadableDB, seq: number): boolean {
  return one(db, sql`SELECT 1 FROM outbox WHERE seq = ${seq}`) !== undefined;
}

export function deferOutbox(db: WritableDB, seq: number, nextAttemptAt: number): void {
  run(db, sql`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE seq = ${seq}`);
}

/** Counts a session repair made for items `seqs` (after a 409/410), apart from their failed attempts. */
export function markRepaired(db: WritableDB, seqs: number[]): void {
  run(
    db,
    sql`UPDATE outbox SET repairs = repairs + 1 WHERE seq IN (SELECT value FROM json_each(${JSON.stringify(seqs)}))`,
  );
}
