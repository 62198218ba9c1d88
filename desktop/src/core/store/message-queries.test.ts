import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStatus } from '../messenger-types.js';
import { ensureConversation } from './conversation-queries.js';
import { openDatabase } from './database.js';
import {
  advanceStatuses,
  getMessage,
  indexNewMessages,
  insertMessage,
  newMessageId,
  searchMessages,
} from './message-queries.js';
import type { WritableDB } from './sql.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) {
    done();
  }
});

function database(): WritableDB {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-mq-'));
  const db = openDatabase(join(dir, 'p.db'), { key: randomBytes(32) });
  cleanup.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

function message(db: WritableDB, conversationId: string, fromMe: boolean, status: MessageStatus): string {
  const id = newMessageId();
  insertMessage(db, {
    id,
    conversationId,
    kind: 'text',
    fromMe,
    authorAccountId: fromMe ? 'me' : conversationId,
    body: 'hello',
    sentAt: Date.now(),
    receivedAt: Date.now(),
    status,
    unread: !fromMe,
  });
  return id;
}

describe('advanceStatuses (receipts and sent runs)', () => {
  it('moves only my messages in that conversation, and only forward', () => {
    const db = database();
    ensureConversation(db, 'alice', 'alice', 1);
    ensureConversation(db, 'bob', 'bob', 1);
    const sending = message(db, 'alice', true, 'sending');
    const alreadyRead = message(db, 'alice', true, 'read');
    const toBob = message(db, 'bob', true, 'sending');
    const fromAlice = message(db, 'alice', false, 'delivered');

    const changed = advanceStatuses(db, [sending, alreadyRead, toBob, fromAlice, 'unknown'], 'delivered', 'alice');

    expect(changed).toEqual([sending]);
    expect(getMessage(db, sending)?.status).toBe('delivered');
    expect(getMessage(db, alreadyRead)?.status).toBe('read');
    expect(getMessage(db, toBob)?.status).toBe('sending');
    expect(getMessage(db, fromAlice)?.status).toBe('delivered');
    // Without a conversation (a run of sends), every one of mine that is behind moves.
    expect(advanceStatuses(db, [toBob, sending], 'sent').sort()).toEqual([toBob]);
  });

  it('gives new messages ids that sort in creation order (they land at the end of the id index)', () => {
    const ids = Array.from({ length: 1000 }, () => newMessageId());
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('searchMessages', () => {
  it('finds a stored message even before it was added to the full-text index', () => {
    const db = database();
    ensureConversation(db, 'alice', 'alice', 1);
    const id = message(db, 'alice', false, 'delivered'); // body 'hello'; no commit has indexed it
    expect(indexNewMessages(db, 1000)).toBeGreaterThan(0); // still waiting
    expect(searchMessages(db, 'hello').map((hit) => hit.message.id)).toEqual([id]);
    expect(indexNewMessages(db, 1000)).toBe(0); // the search indexed it
  });
});
