import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '/work/main/desktop/src/core/store/database.ts';
const variant = process.argv[2] ?? 'base';
const dir = mkdtempSync(join(tmpdir(), 'mb-'));
const db = openDatabase(join(dir, 'x.db'), { key: randomBytes(32) }) as any;
if (variant.includes('nofts')) db.exec('DROP TRIGGER messages_fts_insert');
if (variant.includes('nosd')) db.pragma('secure_delete = OFF');
if (variant.includes('merge')) db.exec("INSERT INTO messages_fts(messages_fts, rank) VALUES('automerge', 0)");
if (variant.includes('nockpt')) db.pragma('wal_autocheckpoint = 0');
if (variant.includes('nofk')) db.pragma('foreign_keys = OFF');
if (variant.includes('noidx')) { db.exec('DROP INDEX messages_conversation_order; DROP INDEX messages_unread;'); }
const noOutbox = variant.includes('noob');
const noMsg = variant.includes('nomsg');
db.exec(`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('c1','bob',1,1)`);
const ins = db.prepare(`INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status, unread) VALUES (?, 'c1', 'text', 1, 'me', ?, ?, ?, 'sending', 0)`);
const ob = db.prepare(`INSERT INTO outbox (recipient_account_id, message_id, content, next_attempt_at, created_at) VALUES ('c1', ?, ?, 1, 1)`);
const begin = db.prepare('BEGIN IMMEDIATE'); const commit = db.prepare('COMMIT');
const body = 'x'.repeat(200);
for (let round = 0; round < 1; round++) {
  const N = 3000; let tCommit = 0; const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    begin.run(); const id = randomUUID();
    if (!noMsg) ins.run(id, body + i, i, i); if (!noOutbox) ob.run(id, JSON.stringify({ kind: 'text', id, body }));
    const c = performance.now(); commit.run(); tCommit += performance.now() - c;
  }
  console.log(variant, 'per tx µs', ((performance.now() - t0) / N * 1000).toFixed(0), 'commit µs', (tCommit / N * 1000).toFixed(0));
}
