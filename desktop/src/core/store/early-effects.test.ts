import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import {
  EARLY_EFFECT_TTL_MS,
  type EarlyEffect,
  keepEarlyEffect,
  MAX_EARLY_EFFECTS_PER_SENDER,
  takeEarlyEffects,
} from './early-effects.js';
import { newMessageId } from './message-queries.js';
import type { WritableDB } from './sql.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) {
    done();
  }
});

function database(): WritableDB {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-early-'));
  const db = openDatabase(join(dir, 'p.db'), { key: randomBytes(32) });
  cleanup.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

const deletion = (targetMessageId: string, sentAt: number): EarlyEffect => ({
  content: { kind: 'delete', targetMessageId, sentAt },
  sentAt,
});

describe('effects waiting for their message', () => {
  it('are taken once, oldest first, and only the sender’s own', () => {
    const db = database();
    const target = newMessageId();
    const edit = (body: string, sentAt: number): EarlyEffect => ({
      content: { kind: 'edit', targetMessageId: target, body, sentAt },
      sentAt,
    });
    keepEarlyEffect(db, 'alice', edit('second', 2), 10);
    keepEarlyEffect(db, 'mallory', edit('forged', 3), 10);
    keepEarlyEffect(db, 'alice', edit('first', 1), 11);
    expect(takeEarlyEffects(db, target, 'alice').map((e) => e.content)).toEqual([
      { kind: 'edit', targetMessageId: target, body: 'first', sentAt: 1 },
      { kind: 'edit', targetMessageId: target, body: 'second', sentAt: 2 },
    ]);
    expect(takeEarlyEffects(db, target, 'mallory')).toEqual([]);
  });

  it('are kept at most 30 days, and a sender’s newest few hundred only', () => {
    const db = database();
    const old = newMessageId();
    keepEarlyEffect(db, 'alice', deletion(old, 1), 1_000);
    const targets = Array.from({ length: MAX_EARLY_EFFECTS_PER_SENDER + 5 }, () => newMessageId());
    targets.forEach((target, i) => {
      keepEarlyEffect(db, 'mallory', deletion(target, i), 2_000 + i);
    });
    keepEarlyEffect(db, 'bob', deletion(newMessageId(), 1), 1_000 + EARLY_EFFECT_TTL_MS);
    expect(takeEarlyEffects(db, old, 'alice')).toEqual([]);
    // Mallory's five oldest went; her newest and everyone else's stayed.
    expect(targets.filter((t) => takeEarlyEffects(db, t, 'mallory').length > 0)).toEqual(targets.slice(5));
  });
});
