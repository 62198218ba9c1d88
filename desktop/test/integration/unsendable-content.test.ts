import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Content, MAX_TEXT_LENGTH } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SottoError } from '../../src/core/errors.js';
import type { Messenger } from '../../src/core/messenger.js';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { openDatabase } from '../../src/core/store/database.js';
import { enqueueOutbox } from '../../src/core/store/delivery-queries.js';
import { insertMessage, newMessageId } from '../../src/core/store/message-queries.js';
import { one, sql } from '../../src/core/store/sql.js';
import { tempDir, until } from './support/helpers.js';
import { type RelayProcess, startRelay } from './support/relay-process.js';

// A message that cannot be sent must be refused when it is written, and one that reached the outbox anyway
// must fail alone: queued, it would be retried forever and hold back every later message to that person.
let relay: RelayProcess;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
  await relay?.stop();
});

const uniq = (name: string) => `${name}_${Math.random().toString(36).slice(2, 8)}`;

async function makeUser(name: string) {
  const dir = tempDir();
  const profile = new Profile(dir.path, { secretStore: new MemorySecretStore() });
  const username = uniq(name);
  const { messenger } = await profile.registerMessenger({ relayUrl: relay.url, username });
  const user = { profile, messenger, username, accountId: messenger.profile().accountId };
  cleanups.push(async () => {
    await user.messenger.close();
    dir.remove();
  });
  await messenger.connect();
  return user;
}

const history = (m: Messenger, conversationId: string) =>
  m.history(conversationId, { limit: 500 }).messages.map((x) => ({ body: x.body, status: x.status }));

async function refusal(promise: Promise<unknown>): Promise<SottoError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof SottoError)) {
    throw new Error(`expected a SottoError, got ${String(error)}`);
  }
  return error;
}

describe('content that cannot be sent', () => {
  it('is refused when written, with what is wrong, and leaves nothing in the history or the outbox', async () => {
    const [alice, bob] = await Promise.all([makeUser('alice'), makeUser('bob')]);
    const conversation = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(conversation.id, 'first');
    const before = history(alice.messenger, conversation.id);

    const tooLong = await refusal(alice.messenger.sendText(conversation.id, 'x'.repeat(MAX_TEXT_LENGTH + 1)));
    expect(tooLong.code).toBe('invalid_argument');
    expect(tooLong.message).toBe('message is too long: 65,537 characters, at most 65,536');

    // Within the character limit, but each control character is six bytes of JSON: more than one envelope.
    const tooLarge = await refusal(alice.messenger.sendText(conversation.id, '\u0001'.repeat(MAX_TEXT_LENGTH)));
    expect(tooLarge.code).toBe('invalid_argument');
    expect(tooLarge.message).toMatch(/too large/);

    const first = alice.messenger.history(conversation.id).messages[0];
    const badEdit = await refusal(alice.messenger.edit(first?.id ?? '', ''));
    expect(badEdit.message).toBe('message is empty');

    expect(history(alice.messenger, conversation.id)).toEqual(before);
    await alice.messenger.flushOutgoing();
    expect(alice.messenger.pendingOutgoing()).toBe(0);

    // The longest text the contract allows goes through whole.
    const longest = 'y'.repeat(MAX_TEXT_LENGTH);
    await alice.messenger.sendText(conversation.id, longest);
    await until(
      () => history(bob.messenger, alice.accountId).some((m) => m.body === longest),
      15_000,
      'bob receives the longest text',
    );
  });

  it('found in the outbox (queued by an older version), fails alone and does not hold back later messages', async () => {
    const [alice, bob] = await Promise.all([makeUser('alice'), makeUser('bob')]);
    const conversation = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(conversation.id, 'before');
    await until(() => history(bob.messenger, alice.accountId).length === 1, 15_000, 'bob receives "before"');
    await alice.messenger.close();

    // What an older version could queue: a text over the limit, ahead of everything sent after it.
    const db = await openProfileDatabase(alice.profile);
    const id = newMessageId();
    const body = 'z'.repeat(MAX_TEXT_LENGTH + 10);
    const sentAt = Date.now();
    insertMessage(db, {
      id,
      conversationId: conversation.id,
      kind: 'text',
      fromMe: true,
      authorAccountId: alice.accountId,
      body,
      sentAt,
      receivedAt: sentAt,
      status: 'sending',
      unread: false,
    });
    const content: Content = { kind: 'text', id, body, sentAt };
    enqueueOutbox(db, { recipientAccountId: conversation.id, messageId: id, content }, sentAt);
    expect(one<{ n: number }>(db, sql`SELECT count(*) AS n FROM outbox`)?.n).toBe(1);
    db.close();

    alice.messenger = await alice.profile.openMessenger();
    await alice.messenger.connect();
    await alice.messenger.sendText(conversation.id, 'after');
    await until(
      () => history(bob.messenger, alice.accountId).some((m) => m.body === 'after'),
      15_000,
      'bob receives "after"',
    );
    await until(() => alice.messenger.pendingOutgoing() === 0, 15_000, 'the outbox drains');
    expect(history(alice.messenger, conversation.id)).toEqual([
      { body: 'before', status: expect.stringMatching(/^(sent|delivered)$/) },
      { body, status: 'failed' },
      { body: 'after', status: expect.stringMatching(/^(sent|delivered)$/) },
    ]);
    expect(history(bob.messenger, alice.accountId).map((m) => m.body)).toEqual(['before', 'after']);
  });
});

async function openProfileDatabase(profile: Profile) {
  const { profileId } = JSON.parse(readFileSync(join(profile.dir, 'profile.json'), 'utf8')) as { profileId: string };
  const key = await profile.secretStore.get(secretAccounts(profileId).dbKey);
  return openDatabase(join(profile.dir, 'sotto.db'), { key: Buffer.from(key ?? '', 'base64') });
}
