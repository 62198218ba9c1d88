import type { DeleteContent, EditContent, ReactionContent } from '@sotto/shared-types';
import { all, run, sql, type WritableDB } from './sql.js';

/** Content about another message, which may arrive before that message. */
export type Effect = EditContent | DeleteContent | ReactionContent;

/** An effect waiting for its message, with the time it is shown at (clamped on arrival). */
export interface EarlyEffect {
  content: Effect;
  sentAt: number;
}

/** As long as the relay keeps an envelope: the message an effect waits for cannot arrive later than that. */
export const EARLY_EFFECT_TTL_MS = 30 * 24 * 3600 * 1000;
/** Effects kept per sender: a contact sending effects about messages that never come fills no disk. */
export const MAX_EARLY_EFFECTS_PER_SENDER = 500;

/**
 * Keeps `from`'s effect until its target message arrives (see takeEarlyEffects). Forgets effects older than
 * EARLY_EFFECT_TTL_MS, and beyond MAX_EARLY_EFFECTS_PER_SENDER of one sender, its oldest.
 */
export function keepEarlyEffect(db: WritableDB, from: string, effect: EarlyEffect, receivedAt: number): void {
  run(
    db,
    sql`INSERT INTO early_effects (target_id, account_id, content, sent_at, received_at)
      VALUES (${effect.content.targetMessageId}, ${from}, ${JSON.stringify(effect.content)}, ${effect.sentAt}, ${receivedAt})`,
  );
  run(db, sql`DELETE FROM early_effects WHERE received_at <= ${receivedAt - EARLY_EFFECT_TTL_MS}`);
  run(
    db,
    sql`DELETE FROM early_effects WHERE account_id = ${from} AND rowid NOT IN (
      SELECT rowid FROM early_effects WHERE account_id = ${from}
      ORDER BY received_at DESC, rowid DESC LIMIT ${MAX_EARLY_EFFECTS_PER_SENDER})`,
  );
}

/**
 * Removes and returns the effects waiting for message `targetId` that `from` sent, oldest first. Effects
 * of anyone else about that message are removed too: only its author's conversation may act on it.
 */
export function takeEarlyEffects(db: WritableDB, targetId: string, from: string): EarlyEffect[] {
  const rows = all<{ account_id: string; content: string; sent_at: number; n: number }>(
    db,
    sql`DELETE FROM early_effects WHERE target_id = ${targetId} RETURNING account_id, content, sent_at, rowid AS n`,
  );
  return rows
    .filter((r) => r.account_id === from)
    .sort((a, b) => a.sent_at - b.sent_at || a.n - b.n)
    .map((r) => ({ content: JSON.parse(r.content) as Effect, sentAt: r.sent_at }));
}
