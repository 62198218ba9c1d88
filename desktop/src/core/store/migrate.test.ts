import Database from 'better-sqlite3-multiple-ciphers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  editMessage,
  getMessage,
  indexNewMessages,
  insertMessage,
  markConversationRead,
  setReaction,
} from './message-queries.js';
import { loadMigrations, migrate, schemaVersion } from './migrate.js';
import { all, asWritable, one, run, sql, type WritableDB } from './sql.js';

// In-memory SQLite (SQLCipher cannot key an in-memory database; encryption is covered in database.test.ts).
const fresh = (): WritableDB => asWritable(new Database(':memory:'));
/** A received text message in conversation 'c'. */
const insertText = (db: WritableDB, id: string, body: string) =>
  run(
    db,
    sql`INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status)
      VALUES (${id}, 'c', 'text', 0, 'c', ${body}, 1, 1, 'delivered')`,
  );
const tables = (db: WritableDB) =>
  all<{ name: string }>(db, sql`SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') ORDER BY name`).map(
    (r) => r.name,
  );

/** Each conversation's unread_count. */
const storedUnread = (db: WritableDB) =>
  Object.fromEntries(
    all<{ id: string; n: number }>(db, sql`SELECT id, unread_count AS n FROM conversations ORDER BY id`).map((r) => [
      r.id,
      r.n,
    ]),
  );

/** Each conversation's unread messages, counted. */
const countedUnread = (db: WritableDB) =>
  Object.fromEntries(
    all<{ id: string; n: number }>(
      db,
      sql`SELECT c.id, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.unread = 1) AS n
        FROM conversations c ORDER BY c.id`,
    ).map((r) => [r.id, r.n]),
  );

/**
 * Whatever happens to the messages of conversations 'a' and 'b' (stored, stored again, read, deleted, unread
 * again, in any order), each unread_count equals its unread messages. `insert` stores one message the way
 * under test.
 */
function expectUnreadCountsKept(
  db: WritableDB,
  insert: (conversation: string, unread: boolean, id?: string) => void,
): void {
  const conversation = fc.constantFrom('a', 'b');
  const step = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), conversation, unread: fc.boolean() }),
    fc.record({ op: fc.constant('again' as const), conversation }), // a redelivered message id
    fc.record({ op: fc.constant('read' as const), conversation }),
    fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
    fc.record({ op: fc.constant('unread-again' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      for (const s of steps) {
        const ids = all<{ id: string }>(db, sql`SELECT id FROM messages ORDER BY seq`).map((r) => r.id);
        if (s.op === 'insert') {
          insert(s.conversation, s.unread);
        } else if (s.op === 'again') {
          insert(s.conversation, true, ids[0] ?? 'm0');
        } else if (s.op === 'read') {
          markConversationRead(db, s.conversation, 1);
        } else if (ids.length > 0) {
          const id = ids[s.pick % ids.length] as string;
          run(
            db,
            s.op === 'delete'
              ? sql`DELETE FROM messages WHERE id = ${id}`
              : sql`UPDATE messages SET unread = 1 WHERE id = ${id}`,
          );
        }
        expect(storedUnread(db)).toEqual(countedUnread(db));
      }
    }),
    { numRuns: 50 },
  );
}

describe('desktop migrations', () => {
  const migrations = loadMigrations();
  /** A database at schema `version` holding conversation 'c' and its message 'm' ("lunch?"). */
  const withLunchMessage = (version: number) => {
    const db = fresh();
    migrate(db, migrations, version);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'li', 1, 1)`);
    insertText(db, 'm', 'lunch?');
    return db;
  };

  it('are numbered 0001… without gaps and all apply in one go', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    const db = fresh();
    expect(migrate(db, migrations)).toBe(migrations.length);
    expect(migrate(db, migrations)).toBe(migrations.length); // idempotent
  });

  it('0001 creates the profile and settings tables (STRICT: wrong types are refused)', () => {
    const db = fresh();
    migrate(db, migrations, 1);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['profile', 'settings']);
    expect(() => run(db, sql`INSERT INTO settings (key, value) VALUES (${'k'}, ${new Uint8Array([1])})`)).toThrow();
  });

  it('0002 creates the libsignal stores', () => {
    const db = fresh();
    migrate(db, migrations, 2);
    expect(tables(db)).toEqual(
      expect.arrayContaining([
        'identities',
        'sessions',
        'prekeys',
        'signed_prekeys',
        'kyber_prekeys',
        'kyber_prekey_uses',
        'sender_keys',
      ]),
    );
  });

  it('0003 creates messages with an FTS5 index kept in sync by triggers', () => {
    const db = fresh();
    migrate(db, migrations, 3);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'bob', 1, 1)`);
    run(
      db,
      sql`INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status)
        VALUES ('m', 'c', 'text', 0, 'c', 'zebra crossing', 1, 1, 'delivered')`,
    );
    const match = (word: string) =>
      one<{ n: number }>(db, sql`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ${word}`)?.n;
    expect(match('zebra')).toBe(1);
    run(db, sql`UPDATE messages SET body = 'giraffe' WHERE id = 'm'`);
    expect(match('zebra')).toBe(0);
    expect(match('giraffe')).toBe(1);
    run(db, sql`DELETE FROM messages WHERE id = 'm'`);
    expect(match('giraffe')).toBe(0);
  });

  it('0004 creates the processed-envelope log and the outbox', () => {
    const db = fresh();
    migrate(db, migrations, 4);
    run(db, sql`INSERT INTO processed_envelopes (guid, processed_at) VALUES ('g', 1)`);
    expect(() => run(db, sql`INSERT INTO processed_envelopes (guid, processed_at) VALUES ('g', 2)`)).toThrow();
    expect(tables(db)).toContain('outbox');
    const columns = all<{ name: string }>(db, sql`SELECT name FROM pragma_table_info('outbox')`).map((c) => c.name);
    expect(columns).toEqual(
      expect.arrayContaining(['recipient_account_id', 'content', 'prepared', 'attempts', 'next_attempt_at']),
    );
  });

  it('0008 indexes at commit: earlier rows stay searchable, edits and deletes keep the index exact', () => {
    const db = fresh();
    migrate(db, migrations, 7);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'bob', 1, 1)`);
    const insert = (id: string, body: string) => insertText(db, id, body);
    const match = (word: string) =>
      one<{ n: number }>(db, sql`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ${word}`)?.n;
    insert('old', 'zebra crossing'); // indexed by 0003's trigger
    migrate(db, migrations, 8);
    expect(match('zebra')).toBe(1);

    insert('edited', 'lion');
    insert('gone', 'wolf');
    expect(match('lion')).toBe(0); // not indexed until indexNewMessages (before COMMIT)
    run(db, sql`UPDATE messages SET body = 'tiger' WHERE id = 'edited'`);
    run(db, sql`DELETE FROM messages WHERE id = 'gone'`);
    indexNewMessages(db);
    expect([match('lion'), match('tiger'), match('wolf')]).toEqual([0, 1, 0]);

    run(db, sql`UPDATE messages SET body = 'giraffe' WHERE id = 'old'`);
    run(db, sql`DELETE FROM messages WHERE id = 'edited'`);
    expect([match('zebra'), match('giraffe'), match('tiger')]).toEqual([0, 1, 0]);
    insert('new', 'okapi');
    indexNewMessages(db);
    expect(match('okapi')).toBe(1);
    // FTS5 compares its index with the messages table: a stray or missing entry fails here.
    expect(() => run(db, sql`INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')`)).not.toThrow();
  });

  it('0012 indexes stored Chinese, Japanese and Korean text by character, so words inside it are found', () => {
    const db = fresh();
    migrate(db, migrations, 11);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'li', 1, 1)`);
    const insert = (id: string, body: string) => insertText(db, id, body);
    const match = (query: string) =>
      all<{ id: string }>(
        db,
        sql`SELECT m.id FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid WHERE messages_fts MATCH ${query}`,
      ).map((r) => r.id);
    insert('zh', '我们明天去北京吃饭');
    insert('en', 'dinner in Beijing');
    // Indexed as before 0012: the body as written (the Chinese sentence is one token).
    run(db, sql`INSERT INTO messages_fts (rowid, body) SELECT seq, body FROM messages`);
    run(db, sql`UPDATE fts_progress SET indexed_seq = (SELECT max(seq) FROM messages)`);
    expect(match('"北 京"')).toEqual([]);
    migrate(db);
    expect(match('"北 京"')).toEqual(['zh']);
    expect(match('beijing')).toEqual(['en']);
    run(db, sql`DELETE FROM messages WHERE id = 'zh'`); // its entries are the ones 0012 wrote
    expect(match('"北 京"')).toEqual([]);
  });

  it('0013 takes the words of messages already deleted for everyone out of the replies that quote them', () => {
    const db = fresh();
    migrate(db, migrations, 12);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'li', 1, 1)`);
    insertText(db, 'gone', 'the door code is 4711');
    insertText(db, 'kept', 'see you');
    run(db, sql`UPDATE messages SET body = '', deleted = 1 WHERE id = 'gone'`);
    const reply = (id: string, quoted: string, text: string) =>
      run(
        db,
        sql`INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status,
          quote_message_id, quote_author_account_id, quote_text)
          VALUES (${id}, 'c', 'text', 1, 'me', 'ok', 2, 2, 'sent', ${quoted}, 'c', ${text})`,
      );
    reply('r1', 'gone', 'the door code is 4711');
    reply('r2', 'kept', 'see you');
    migrate(db);
    const quotes = all<{ id: string; quote_text: string }>(
      db,
      sql`SELECT id, quote_text FROM messages WHERE quote_message_id IS NOT NULL ORDER BY id`,
    );
    expect(quotes).toEqual([
      { id: 'r1', quote_text: '' },
      { id: 'r2', quote_text: 'see you' },
    ]);
  });

  it('0009 checks kind and status in place (no b-tree per row), with the same rules, keeping stored rows', () => {
    const db = fresh();
    migrate(db, migrations, 8);
    run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c', 'bob', 1, 1)`);
    const insert = (id: string, kind: string, status: string) =>
      run(
        db,
        sql`INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status)
          VALUES (${id}, 'c', ${kind}, 0, 'c', 'hello', 1, 1, ${status})`,
      );
    const ephemeralTables = () =>
      all<{ opcode: string }>(
        db,
        sql`EXPLAIN INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at,
          received_at, status) VALUES ('x', 'c', 'text', 0, 'c', '', 1, 1, 'sent')`,
      ).filter((op) => op.opcode === 'OpenEphemeral').length;
    insert('before', 'text', 'delivered');
    expect(ephemeralTables()).toBe(2); // one per IN list, built on every insert
    migrate(db, migrations, 9);
    expect(ephemeralTables()).toBe(0);
    expect(one<{ n: number }>(db, sql`SELECT count(*) AS n FROM messages`)?.n).toBe(1);
    insert('after', 'timer_change', 'failed');
    expect(() => insert('bad-kind', 'texts', 'sent')).toThrow(/CHECK/);
    expect(() => insert('bad-status', 'text', 'lost')).toThrow(/CHECK/);
    expect(() => run(db, sql`UPDATE messages SET status = 'lost' WHERE id = 'before'`)).toThrow(/CHECK/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('0010 moves ciphertexts out of the outbox rows (prepared ones are dropped, to be encrypted again)', () => {
    const db = fresh();
    migrate(db, migrations, 9);
    const enqueue = (recipient: string, prepared: string | null) =>
      run(
        db,
        sql`INSERT INTO outbox (recipient_account_id, message_id, content, prepared, next_attempt_at, created_at)
          VALUES (${recipient}, 'm', '{"kind":"text"}', ${prepared}, 1, 1)`,
      );
    enqueue('bob', '[{"destinationDeviceId":1,"destinationRegistrationId":7,"type":"whisper","content":"AAAA"}]');
    enqueue('carol', null);
    migrate(db, migrations, 10);
    const columns = all<{ name: string }>(db, sql`SELECT name FROM pragma_table_info('outbox')`).map((c) => c.name);
    expect(columns).not.toContain('prepared');
    expect(
      all<{ recipient_account_id: string; content: string }>(
        db,
        sql`SELECT recipient_account_id, content FROM outbox ORDER BY seq`,
      ),
    ).toEqual([
      { recipient_account_id: 'bob', content: '{"kind":"text"}' },
      { recipient_account_id: 'carol', content: '{"kind":"text"}' },
    ]);
    expect(one<{ n: number }>(db, sql`SELECT count(*) AS n FROM outbox_ciphertexts`)?.n).toBe(0);
    // One row per device, keyed by item and device; STRICT: the bytes stay bytes.
    run(db, sql`INSERT INTO outbox_ciphertexts VALUES (1, 1, 7, 'whisper', x'0102')`);
    expect(() => run(db, sql`INSERT INTO outbox_ciphertexts VALUES (1, 1, 7, 'whisper', x'03')`)).toThrow(/UNIQUE/);
    expect(() => run(db, sql`INSERT INTO outbox_ciphertexts VALUES (1, 2, 'seven', 'whisper', x'03')`)).toThrow();
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('0011 keeps each unread count in the conversation row, equal to the unread messages, whatever happens', () => {
    const db = fresh();
    migrate(db, migrations, 10);
    for (const c of ['a', 'b']) {
      run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES (${c}, ${c}, 1, 1)`);
    }
    let n = 0;
    const insert = (conversation: string, unread: boolean, id = `m${n++}`) =>
      run(
        db,
        sql`INSERT OR IGNORE INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at,
          received_at, status, unread) VALUES (${id}, ${conversation}, 'text', 0, ${conversation}, 'hi', 1, 1, 'delivered', ${unread ? 1 : 0})`,
      );
    insert('a', true);
    insert('a', true);
    insert('a', false);
    migrate(db, migrations, 11);
    expect(storedUnread(db)).toEqual({ a: 2, b: 0 }); // carried over from before the migration
    expectUnreadCountsKept(db, insert);
  });

  it('0019: a message stored with insertMessage adds to the unread count without the INSERT trigger', () => {
    const db = fresh();
    migrate(db, migrations, 18);
    for (const c of ['a', 'b']) {
      run(db, sql`INSERT INTO conversations (id, username, created_at, updated_at) VALUES (${c}, ${c}, 1, 1)`);
    }
    migrate(db, migrations, 19);
    expect(tables(db)).not.toContain('messages_unread_insert');
    let n = 0;
    expectUnreadCountsKept(db, (conversation, unread, id = `m${n++}`) => {
      insertMessage(db, {
        id,
        conversationId: conversation,
        kind: 'text',
        fromMe: false,
        authorAccountId: conversation,
        body: 'hi',
        sentAt: 1,
        receivedAt: 1,
        status: 'delivered',
        unread,
      });
    });
  });

  it('0015 counts session repairs apart from failed attempts; queued items start with none used', () => {
    const db = fresh();
    migrate(db, migrations, 14);
    run(
      db,
      sql`INSERT INTO outbox (recipient_account_id, message_id, content, attempts, next_attempt_at, created_at)
        VALUES ('bob', 'm', '{"kind":"text"}', 9, 1, 1)`,
    );
    migrate(db, migrations, 15);
    expect(one(db, sql`SELECT attempts, repairs FROM outbox`)).toEqual({ attempts: 9, repairs: 0 });
    expect(() => run(db, sql`UPDATE outbox SET repairs = 'many'`)).toThrow(); // STRICT
  });

  it('0017 keeps stored reactions shown, none of them removed; a removal after it leaves a removed row', () => {
    const db = withLunchMessage(16);
    run(
      db,
      sql`INSERT INTO reactions (message_id, account_id, emoji, at) VALUES ('m', 'c', '👍', 5), ('m', 'me', '🎉', 6)`,
    );
    migrate(db, migrations, 17);
    expect(all(db, sql`SELECT account_id, removed FROM reactions ORDER BY account_id`)).toEqual([
      { account_id: 'c', removed: 0 },
      { account_id: 'me', removed: 0 },
    ]);
    expect(getMessage(db, 'm')?.reactions.map((r) => r.emoji)).toEqual(['👍', '🎉']);
    setReaction(db, 'm', 'c', '👍', true, 7);
    setReaction(db, 'm', 'c', '👍', false, 5); // the older reaction again (a resend)
    expect(getMessage(db, 'm')?.reactions).toEqual([{ emoji: '🎉', accountIds: ['me'] }]);
    expect(() => run(db, sql`UPDATE reactions SET removed = 2`)).toThrow(); // CHECK
  });

  it('0020 makes stored tombstones forget the emoji taken back, and keeps reactions shown', () => {
    const db = withLunchMessage(19);
    run(
      db,
      sql`INSERT INTO reactions (message_id, account_id, emoji, at, removed) VALUES ('m', 'c', '👍', 5, 1), ('m', 'me', '🎉', 6, 0)`,
    );
    migrate(db, migrations, 20);
    expect(all(db, sql`SELECT account_id, emoji, removed FROM reactions ORDER BY account_id`)).toEqual([
      { account_id: 'c', emoji: '', removed: 1 },
      { account_id: 'me', emoji: '🎉', removed: 0 },
    ]);
    setReaction(db, 'm', 'c', '👍', false, 4); // the older reaction arriving late stays taken back
    expect(getMessage(db, 'm')?.reactions).toEqual([{ emoji: '🎉', accountIds: ['me'] }]);
  });

  it('0018 orders stored edits by their shown time: an older edit arriving after it changes nothing', () => {
    const db = withLunchMessage(17);
    run(db, sql`UPDATE messages SET body = 'lunch at one?', edited_at = 10 WHERE id = 'm'`);
    migrate(db, migrations, 18);
    const author = getMessage(db, 'm')?.authorAccountId ?? '';
    expect(editMessage(db, 'm', author, 'lunch at noon?', 9)).toBe(false);
    expect(getMessage(db, 'm')?.body).toBe('lunch at one?');
    expect(editMessage(db, 'm', author, 'lunch at two?', 11)).toBe(true);
    expect(getMessage(db, 'm')?.body).toBe('lunch at two?');
  });

  it('a failing migration leaves the database exactly as it was', () => {
    const db = fresh();
    migrate(db, migrations, 1);
    const broken = [
      ...migrations.slice(0, 2),
      { version: 3, name: '0003-broken.sql', sql: 'CREATE TABLE ok_table (a TEXT) STRICT; NOT SQL;' },
    ];
    expect(() => migrate(db, broken)).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['profile', 'settings']);
  });

  it('a schema-text edit that matches nothing fails and leaves the database as it was', () => {
    const db = fresh();
    migrate(db, migrations, 8);
    const schemaBefore = all(db, sql`SELECT name, sql FROM sqlite_schema ORDER BY name`);
    const stale = [
      ...migrations.slice(0, 8),
      {
        version: 9,
        name: '0009-stale-edit.sql',
        // Written against a CREATE text this database does not have: the edit matches no row.
        sql: "-- sotto:edits-schema-text\nUPDATE sqlite_schema SET sql = replace(sql, 'no such text', 'x') WHERE name = 'messages';",
      },
    ];
    expect(() => migrate(db, stale)).toThrow(/found nothing to edit/);
    expect(schemaVersion(db)).toBe(8);
    expect(all(db, sql`SELECT name, sql FROM sqlite_schema ORDER BY name`)).toEqual(schemaBefore);
    // Defensive mode is back on: the schema cannot be written outside such a migration.
    expect(() => db.exec("UPDATE sqlite_schema SET sql = sql WHERE name = 'messages'")).toThrow();
  });
});
