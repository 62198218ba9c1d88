import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Content } from '@sotto/shared-types';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageView, MessengerEvent } from '../messenger-types.js';
import type { ProtocolStores } from '../protocol/protocol-stores.js';
import type { RelayApi } from '../relay-client/relay-api.js';
import { DatabaseLock, openDatabase } from '../store/database.js';
import { getMessage, newMessageId } from '../store/message-queries.js';
import { all, sql } from '../store/sql.js';
import { applyContent } from './content-handler.js';
import { CoreContext, EventHub } from './core-context.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) {
    cleanup();
  }
});

/** A receiving core (no relay, no sessions: content arrives decrypted) and alice, who writes to it. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-content-'));
  const db = openDatabase(join(dir, 'p.db'), { key: randomBytes(32) });
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const events = new EventHub();
  const updates: MessageView[] = [];
  events.on((event: MessengerEvent) => {
    if (event.type === 'message' || event.type === 'message_updated') {
      updates.push(event.message);
    }
  });
  const local = { accountId: randomUUID(), deviceId: 1, username: 'me' };
  const ctx = new CoreContext(db, new DatabaseLock(db), {} as ProtocolStores, {} as RelayApi, local, events, Date.now);
  const alice = randomUUID();
  /** Alice's content reaching this device (now, or at `at`), as the receive pipeline applies it (one transaction). */
  const receive = (content: Content, at = Date.now()) =>
    ctx.tx(() =>
      applyContent(ctx, { accountId: alice, deviceId: 1 }, content, { serverTimestamp: at, receivedAt: at }),
    );
  const text = (id: string, sentAt: number): Content => ({
    kind: 'text',
    id,
    body: 'lunch at noon?',
    sentAt,
    senderUsername: 'alice',
  });
  const reaction = (id: string, remove: boolean, sentAt: number): Content => ({
    kind: 'reaction',
    targetMessageId: id,
    targetAuthorAccountId: alice,
    emoji: '👍',
    remove,
    sentAt,
  });
  const edit = (id: string, body: string, sentAt: number): Content => ({
    kind: 'edit',
    targetMessageId: id,
    body,
    sentAt,
  });
  return { db, updates, receive, text, reaction, edit };
}

/**
 * A sender's outbox sends concurrently and a message its reader could not decrypt comes again later: a
 * reaction taken back can reach the reader before the reaction itself.
 */
describe('a reaction taken back, whose removal arrives first', () => {
  it('stays taken back when the reaction arrives after it', async () => {
    const { db, updates, receive, text, reaction } = setup();
    const sent = Date.now() - 60_000;
    const id = newMessageId();
    await receive(text(id, sent));
    await receive(reaction(id, true, sent + 2000));
    await receive(reaction(id, false, sent + 1000));
    expect(getMessage(db, id)?.reactions).toEqual([]);
    expect(updates.at(-1)).toMatchObject({ id, reactions: [] });
  });

  it('stays taken back when the removal waited for its message, and the reaction comes last', async () => {
    const { db, updates, receive, text, reaction } = setup();
    const sent = Date.now() - 60_000;
    const id = newMessageId();
    await receive(reaction(id, true, sent + 2000)); // kept until its message arrives
    await receive(text(id, sent));
    expect(all(db, sql`SELECT * FROM early_effects`)).toEqual([]);
    await receive(reaction(id, false, sent + 1000));
    expect(getMessage(db, id)?.reactions).toEqual([]);
    expect(updates.at(-1)).toMatchObject({ id, reactions: [] });
  });

  // Alice's clock runs 5 s ahead of this device's: she reacts, takes it back half a second later, and both
  // reach this device at once, the removal first. Both times are after their arrival here.
  it.each([
    ['its message is here', false],
    ['the removal waited for its message', true],
  ])('stays taken back when the sender clock runs ahead (%s)', async (_, early) => {
    const { db, updates, receive, text, reaction } = setup();
    const now = Date.now();
    const id = newMessageId();
    if (!early) {
      await receive(text(id, now - 60_000), now - 60_000);
    }
    await receive(reaction(id, true, now + 5500), now + 600);
    if (early) {
      await receive(text(id, now - 60_000), now + 650);
    }
    await receive(reaction(id, false, now + 5000), now + 700);
    expect(getMessage(db, id)?.reactions).toEqual([]);
    expect(updates.at(-1)).toMatchObject({ id, reactions: [] });
  });

  it('does not hide a newer reaction', async () => {
    const { db, receive, text, reaction } = setup();
    const sent = Date.now() - 60_000;
    const id = newMessageId();
    await receive(text(id, sent));
    await receive(reaction(id, false, sent + 3000)); // reacted again after taking it back
    await receive(reaction(id, true, sent + 2000));
    expect(getMessage(db, id)?.reactions.map((r) => r.emoji)).toEqual(['👍']);
  });
});

describe('two edits of a message arriving in the wrong order', () => {
  // Alice's clock runs 5 s ahead of this device's: she edits twice, half a second apart, and both edits reach
  // this device at once, the newer first. Both times are after their arrival here.
  it('keep the newer when the sender clock runs ahead', async () => {
    const { db, receive, text, edit } = setup();
    const now = Date.now();
    const id = newMessageId();
    await receive(text(id, now - 60_000), now - 60_000);
    await receive(edit(id, 'lunch at one?', now + 5500), now + 600);
    await receive(edit(id, 'lunch at half past twelve?', now + 5000), now + 700);
    expect(getMessage(db, id)).toMatchObject({ body: 'lunch at one?', editedAt: now + 600 });
  });
});
