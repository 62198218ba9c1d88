import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStatus } from '../messenger-types.js';
import { ensureConversation, getConversation } from './conversation-queries.js';
import { openDatabase } from './database.js';
import {
  advanceStatuses,
  deleteExpired,
  editMessage,
  getMessage,
  indexNewMessages,
  insertMessage,
  markConversationRead,
  markDeleted,
  markFailed,
  newMessageId,
  searchMessages,
  setReaction,
} from './message-queries.js';
import { all, sql, type WritableDB } from './sql.js';

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

function message(
  db: WritableDB,
  conversationId: string,
  fromMe: boolean,
  status: MessageStatus,
  body = 'hello',
): string {
  const id = newMessageId();
  insertMessage(db, {
    id,
    conversationId,
    kind: 'text',
    fromMe,
    authorAccountId: fromMe ? 'me' : conversationId,
    body,
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

  it('never turns a message its reader confirmed into a failed one', () => {
    const db = database();
    ensureConversation(db, 'alice', 'alice', 1);
    const sending = message(db, 'alice', true, 'sending');
    const delivered = message(db, 'alice', true, 'delivered');
    const read = message(db, 'alice', true, 'read');
    expect([sending, delivered, read].map((id) => markFailed(db, id))).toEqual([true, false, false]);
    expect([sending, delivered, read].map((id) => getMessage(db, id)?.status)).toEqual(['failed', 'delivered', 'read']);
  });

  it('gives new messages ids that sort in creation order (they land at the end of the id index)', () => {
    const ids = Array.from({ length: 1000 }, () => newMessageId());
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('deleting a message', () => {
  function reply(db: WritableDB, conversationId: string, quoted: string, text: string, expiresInSeconds = 0): string {
    const id = newMessageId();
    const now = Date.now();
    insertMessage(db, {
      id,
      conversationId,
      kind: 'text',
      fromMe: true,
      authorAccountId: 'me',
      body: 'a reply',
      sentAt: now,
      receivedAt: now,
      status: 'sent',
      unread: false,
      quote: { messageId: quoted, authorAccountId: conversationId, text },
      expiresInSeconds,
    });
    return id;
  }

  it('for everyone no longer counts it as unread', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', Date.now());
    const regretted = message(db, 'bob', false, 'delivered', 'sent to the wrong chat');
    message(db, 'bob', false, 'delivered', 'still to read');
    expect(getConversation(db, 'bob')?.unreadCount).toBe(2);
    markDeleted(db, regretted, 'bob');
    expect(getConversation(db, 'bob')?.unreadCount).toBe(1);
  });

  it('for everyone takes its words out of the replies that quote it, and only its author can', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', Date.now());
    const secret = message(db, 'bob', false, 'delivered', 'the door code is 4711');
    const other = message(db, 'bob', false, 'delivered', 'see you');
    const quoting = reply(db, 'bob', secret, 'the door code is 4711');
    const quotingOther = reply(db, 'bob', other, 'see you');
    setReaction(db, secret, 'me', '👍', false, Date.now());

    expect(markDeleted(db, secret, 'mallory')).toBeNull(); // not mallory's to delete: nothing changes
    expect(getMessage(db, secret)?.reactions).toHaveLength(1);
    expect(getMessage(db, quoting)?.quote?.text).toBe('the door code is 4711');

    expect(markDeleted(db, secret, 'bob')).toEqual([quoting]);
    expect(getMessage(db, secret)).toMatchObject({ body: '', deleted: true, reactions: [] });
    expect(getMessage(db, quoting)?.quote).toEqual({ messageId: secret, authorAccountId: 'bob', text: '' });
    expect(getMessage(db, quotingOther)?.quote?.text).toBe('see you');
  });

  it('on its disappearing timer takes its words out of the replies that quote it', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', Date.now());
    const id = newMessageId();
    const now = Date.now();
    insertMessage(db, {
      id,
      conversationId: 'bob',
      kind: 'text',
      fromMe: false,
      authorAccountId: 'bob',
      body: 'burn after reading',
      sentAt: now,
      receivedAt: now,
      status: 'delivered',
      unread: true,
      expiresInSeconds: 1,
    });
    const quoting = reply(db, 'bob', id, 'burn after reading');
    markConversationRead(db, 'bob', now);

    expect(deleteExpired(db, now + 999)).toEqual({ removed: [], requoted: [] });
    const { removed, requoted } = deleteExpired(db, now + 1000);
    expect(removed.map((m) => m.id)).toEqual([id]);
    expect(requoted).toEqual([quoting]);
    expect(getMessage(db, quoting)?.quote?.text).toBe('');
  });
});

describe('reactions', () => {
  /** Bob's reaction on `id` as shown, or null for none. */
  const bobsReaction = (db: WritableDB, id: string) =>
    getMessage(db, id)?.reactions.find((r) => r.accountIds.includes('bob'))?.emoji ?? null;

  it('a removal that overtakes its reaction holds: the older reaction arriving after it is not shown', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', 1);
    const id = message(db, 'bob', true, 'delivered');
    setReaction(db, id, 'me', '🎉', false, 1000);
    setReaction(db, id, 'bob', '👍', true, 2000); // taken back, and that arrives first
    setReaction(db, id, 'bob', '👍', false, 1000);
    expect(getMessage(db, id)?.reactions).toEqual([{ emoji: '🎉', accountIds: ['me'] }]);
    // The same once a newer emoji replaced it: an older removal of the new one does not take it away.
    setReaction(db, id, 'bob', '❤️', false, 4000);
    setReaction(db, id, 'bob', '❤️', true, 3000);
    setReaction(db, id, 'bob', '👍', false, 3500);
    expect(bobsReaction(db, id)).toBe('❤️');
  });

  it('of reactions and removals arriving in any order, again or not, the newest sent wins', () => {
    const emoji = fc.constantFrom('👍', '❤️', '😂', '🎉');
    // What one person does to a message, in sent order: react, switch to another emoji, or take it back.
    const history = fc.array(fc.tuple(fc.boolean(), emoji), { minLength: 1, maxLength: 8 }).map((steps) => {
      let shown: string | null = null;
      return steps.map(([takeBack, picked], index) => {
        const remove = takeBack && shown !== null;
        const step = { emoji: remove ? (shown as string) : picked, remove, at: 1000 * (index + 1) };
        shown = remove ? null : picked;
        return step;
      });
    });
    const arrivals = history.chain((steps) =>
      fc.tuple(
        fc.constant(steps),
        fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }),
        fc.subarray(steps), // some arrive twice (a resend)
      ),
    );
    const db = database();
    ensureConversation(db, 'bob', 'bob', 1);
    fc.assert(
      fc.property(arrivals, ([sent, arrived, again]) => {
        const id = message(db, 'bob', true, 'delivered');
        for (const step of [...arrived, ...again]) {
          setReaction(db, id, 'bob', step.emoji, step.remove, step.at);
        }
        const last = sent.at(-1);
        expect(bobsReaction(db, id)).toBe(last?.remove ? null : (last?.emoji ?? null));
        // What bob took back is not kept: his row holds the emoji shown, or none.
        expect(all(db, sql`SELECT emoji FROM reactions WHERE message_id = ${id}`)).toEqual([
          { emoji: last?.remove ? '' : last?.emoji },
        ]);
      }),
      { numRuns: 200 },
    );
  });

  it('at the same sent time, a removal wins, and of two emoji the one sorting higher, in either order', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', 1);
    /** Bob's reaction after `steps` all sent at once: '+👍' reacts, '-👍' takes it back. */
    const shownAfter = (...steps: string[]) => {
      const id = message(db, 'bob', true, 'delivered');
      for (const step of steps) {
        setReaction(db, id, 'bob', step.slice(1), step.startsWith('-'), 5000);
      }
      return bobsReaction(db, id);
    };
    expect(shownAfter('+👍', '-👍')).toBeNull();
    expect(shownAfter('-👍', '+👍')).toBeNull();
    expect(shownAfter('+👍', '+❤️')).toBe('👍'); // U+1F44D sorts after U+2764
    expect(shownAfter('+❤️', '+👍')).toBe('👍');
  });

  it('deleting a message for everyone clears its reactions, taken back or not, and takes no more', () => {
    const db = database();
    ensureConversation(db, 'bob', 'bob', 1);
    const id = message(db, 'bob', false, 'delivered', 'wrong chat');
    setReaction(db, id, 'me', '👍', false, 1000);
    setReaction(db, id, 'bob', '😂', true, 1000);
    markDeleted(db, id, 'bob');
    setReaction(db, id, 'me', '❤️', false, 2000); // sent before I saw the deletion
    setReaction(db, id, 'bob', '😂', false, 500);
    expect(getMessage(db, id)?.reactions).toEqual([]);
    expect(all(db, sql`SELECT * FROM reactions WHERE message_id = ${id}`)).toEqual([]);
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

  it('finds words inside Chinese, Japanese and Korean text (written without spaces) and emoji, marked in the snippet', () => {
    const db = database();
    ensureConversation(db, 'li', 'li', 1);
    const chinese = message(db, 'li', false, 'delivered', '我们明天去北京吃饭');
    const japanese = message(db, 'li', false, 'delivered', '東京でコーヒーを飲みました');
    const korean = message(db, 'li', false, 'delivered', '서울에서 만나요');
    const latin = message(db, 'li', false, 'delivered', "l'été dernier à Genève");
    indexNewMessages(db);
    const found = (query: string) => searchMessages(db, query).map((hit) => hit.message.id);
    expect(found('北京')).toEqual([chinese]);
    expect(found('北')).toEqual([chinese]);
    expect(found('京北')).toEqual([]); // the characters must stand together, in that order
    expect(found('コーヒー')).toEqual([japanese]);
    expect(found('東京')).toEqual([japanese]);
    expect(found('서울')).toEqual([korean]);
    expect(found('geneve ete')).toEqual([latin]); // other scripts as before (accents ignored)
    expect(searchMessages(db, '北京')[0]?.snippet).toBe('我们明天去\u0002北京\u0003吃饭');
    expect(searchMessages(db, 'コーヒー 東京')[0]?.snippet).toBe('\u0002東京\u0003で\u0002コーヒー\u0003を飲みました');
    expect(searchMessages(db, 'Genève')[0]?.snippet).toBe("l'été dernier à \u0002Genève\u0003");

    const party = message(db, 'li', false, 'delivered', 'party tonight🎉 bring 👍🏽 snacks');
    expect(found('🎉')).toEqual([party]);
    expect(found('👍')).toEqual([party]); // any skin tone
    expect(found('tonight')).toEqual([party]);
    expect(found('❤')).toEqual([]);
    expect(searchMessages(db, '🎉')[0]?.snippet).toBe('party tonight\u0002🎉\u0003 bring 👍🏽 snacks');

    // Edits and deletions keep the index exact.
    expect(editMessage(db, chinese, 'li', '我们后天去上海', 2)).toBe(true);
    expect([found('北京'), found('上海')]).toEqual([[], [chinese]]);
    db.prepare('DELETE FROM messages WHERE id = ?').run(japanese);
    expect(found('東京')).toEqual([]);
  });
});
