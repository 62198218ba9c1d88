import { type Content, MAX_TEXT_LENGTH } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { SottoError } from '../../src/core/errors.js';
import type { Messenger } from '../../src/core/messenger.js';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { RelayClient } from '../../src/core/relay-client/http-client.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { enqueueOutbox } from '../../src/core/store/delivery-queries.js';
import { insertMessage, newMessageId } from '../../src/core/store/message-queries.js';
import { getProfile } from '../../src/core/store/profile-queries.js';
import { one, sql } from '../../src/core/store/sql.js';
import { openProfileDb, profileIdOf, restartWith } from './support/credentials.js';
import { tempDir, until } from './support/helpers.js';
import { startPrefixProxy } from './support/prefix-proxy.js';
import { announceDevicesChanged, psql, serveImpostorKeys } from './support/relay-process.js';
import { relayAndUsers, uniq } from './support/test-users.js';

// Real relay on real Postgres + Redis, real libsignal, real SQLCipher; the cores run in this process.
const fixture = relayAndUsers();
const { users } = fixture;

function texts(m: Messenger, conversationId: string): string[] {
  return m
    .history(conversationId, { limit: 500 })
    .messages.filter((x) => x.kind === 'text')
    .map((x) => x.body);
}

describe('messaging through the real relay (Postgres + Redis)', () => {
  it('three profiles exchange messages both ways, live and queued for an offline recipient', async () => {
    const [alice, bob, carol] = await Promise.all([
      users.make(uniq('alice')),
      users.make(uniq('bob')),
      users.make(uniq('carol')),
    ]);
    const ids = [alice, bob, carol].map((u) => u.messenger.profile());
    await alice.messenger.connect();
    await bob.messenger.connect();
    // carol stays offline for now

    const toBob = await alice.messenger.startConversation(ids[1]?.username ?? '');
    const toCarol = await alice.messenger.startConversation(ids[2]?.username ?? '');
    await alice.messenger.sendText(toBob.id, 'alice to bob 1');
    await alice.messenger.sendText(toBob.id, 'alice to bob 2');
    await alice.messenger.sendText(toCarol.id, 'alice to carol while offline');
    await until(() => texts(bob.messenger, ids[0]?.accountId ?? '').length === 2, 15_000, 'bob receives live');
    expect(texts(bob.messenger, ids[0]?.accountId ?? '')).toEqual(['alice to bob 1', 'alice to bob 2']);
    expect(bob.messenger.listConversations()[0]?.username).toBe(ids[0]?.username);

    await bob.messenger.sendText(ids[0]?.accountId ?? '', 'bob to alice');
    await until(() => texts(alice.messenger, toBob.id).length === 3, 15_000, 'alice receives the reply');
    await until(
      () => alice.messenger.history(toBob.id).messages[0]?.status === 'delivered',
      15_000,
      'delivery receipt',
    );

    await carol.messenger.connect();
    await until(() => texts(carol.messenger, ids[0]?.accountId ?? '').length === 1, 15_000, 'carol drains her queue');
    const toBobFromCarol = await carol.messenger.startConversation(ids[1]?.username ?? '');
    await carol.messenger.sendText(toBobFromCarol.id, 'carol to bob');
    await until(() => texts(bob.messenger, ids[2]?.accountId ?? '').length === 1, 15_000, 'bob hears from carol');

    const fromAlice = await alice.messenger.safetyNumber(toBob.id);
    const fromBob = await bob.messenger.safetyNumber(ids[0]?.accountId ?? '');
    expect(fromAlice.displayString).toMatch(/^\d{60}$/);
    expect(fromAlice.displayString).toBe(fromBob.displayString);
  });

  it('works behind a reverse proxy that serves the relay under a path (HTTP and the socket alike)', async () => {
    const proxy = await startPrefixProxy(Number(new URL(fixture.relay.url).port), '/sotto');
    users.onClose(() => proxy.stop());
    // As a person would type it: with a trailing slash.
    const [alice, bob] = await Promise.all([
      users.make(uniq('alice'), `${proxy.url}/`),
      users.make(uniq('bob'), `${proxy.url}/`),
    ]);
    expect(alice.messenger.profile().relayUrl).toBe(proxy.url);
    const toBob = await alice.messenger.startConversation(bob.messenger.profile().username);
    await alice.messenger.sendText(toBob.id, 'through the proxy');
    await alice.messenger.flushOutgoing();
    expect(await bob.messenger.connect({ timeoutMs: 10_000 })).toBe(true);
    await until(
      () => texts(bob.messenger, alice.messenger.profile().accountId).length === 1,
      15_000,
      'bob receives over the socket through the proxy',
    );
  });

  it('refuses a relay URL that is not a whole http(s) address, before anything is created', async () => {
    const dir = tempDir();
    users.onClose(() => dir.remove());
    const profile = new Profile(dir.path, { secretStore: new MemorySecretStore() });
    const attempt = profile.registerMessenger({ relayUrl: new URL(fixture.relay.url).host, username: uniq('dora') });
    await expect(attempt).rejects.toThrow(/^relay URL: give the whole address, like https:\/\/relay.example.org/);
    expect(await profile.state()).toBe('none');
  });

  it('a registration that fails after the relay created the account deletes it, so the username stays free', async () => {
    const username = uniq('gwen');
    const dir = tempDir();
    users.onClose(() => dir.remove());
    // The relay creates the account, then the key upload fails (the relay restarts, the network drops ...).
    const failing = new Profile(dir.path, {
      secretStore: new MemorySecretStore(),
      relayFactory: (baseUrl) =>
        Object.assign(new RelayClient({ baseUrl }), {
          uploadKeys: () => Promise.reject(new SottoError('relay_unreachable', 'key upload lost (test)')),
        }),
    });
    await expect(failing.registerMessenger({ relayUrl: fixture.relay.url, username })).rejects.toThrow(
      'key upload lost (test)',
    );
    expect(await failing.state()).toBe('none');
    // Before: "that username is taken", by the account the failed attempt left behind.
    const { messenger } = await users.make(username);
    expect(messenger.profile().username).toBe(username);
  });

  it('sets up a session from the last-resort Kyber key when one-time prekeys are exhausted', async () => {
    const bob = await users.make(uniq('bob'));
    const dave = await users.make(uniq('dave'));
    const bobInfo = bob.messenger.profile();
    // Another account drains bob's one-time keys through the public bundle route.
    const drainer = new RelayClient({ baseUrl: fixture.relay.url });
    const daveProfile = dave.messenger.profile();
    // A throwaway account drains the keys with its own credentials.
    const thief = await users.make(uniq('thief'));
    await thief.messenger.close();
    drainer.setCredentials(await credentialsOf(thief.profile));
    let last = await drainer.bundle(bobInfo.accountId, 1);
    for (let i = 0; i < 120 && !last.devices[0]?.kyberPreKeyIsLastResort; i++) {
      last = await drainer.bundle(bobInfo.accountId, 1);
    }
    expect(last.devices[0]?.kyberPreKeyIsLastResort).toBe(true);
    expect(last.devices[0]?.preKey).toBeUndefined();

    const conv = await dave.messenger.startConversation(bobInfo.username);
    await dave.messenger.sendText(conv.id, 'via last resort');
    await dave.messenger.flushOutgoing();
    await bob.messenger.connect();
    await until(() => texts(bob.messenger, daveProfile.accountId).length === 1, 15_000, 'bob decrypts');
    expect(texts(bob.messenger, daveProfile.accountId)).toEqual(['via last resort']);
    // After draining, upkeep uploads fresh one-time keys.
    await until(
      () =>
        psql(
          `SELECT count(*) FROM one_time_prekeys WHERE account_id = '${bobInfo.accountId}'`,
          fixture.relay.databaseUrl,
        ).trim() === '100',
      15_000,
      'refill',
    );
  });

  it('refills one-time prekeys while connected, once a new contact used one', async () => {
    const bob = await users.make(uniq('bob'));
    const erin = await users.make(uniq('erin'));
    const bobInfo = bob.messenger.profile();
    // Connected and drained: the upkeep each connection starts with is behind us. An app stays so for weeks.
    await bob.messenger.connect();
    const oneTimeKeysLeft = () =>
      Number(
        psql(
          `SELECT count(*) FROM one_time_prekeys WHERE account_id = '${bobInfo.accountId}'`,
          fixture.relay.databaseUrl,
        ),
      );
    expect(oneTimeKeysLeft()).toBe(100);
    // Other people fetch bob's bundle (each fetch takes one key) without writing to him yet.
    const thief = await users.make(uniq('thief'));
    await thief.messenger.close();
    const fetcher = new RelayClient({ baseUrl: fixture.relay.url });
    fetcher.setCredentials(await credentialsOf(thief.profile));
    for (let i = 0; i < 90; i++) {
      await fetcher.bundle(bobInfo.accountId, 1);
    }
    expect(oneTimeKeysLeft()).toBe(10);

    const conv = await erin.messenger.startConversation(bobInfo.username);
    await erin.messenger.sendText(conv.id, 'hello from a new contact');
    await until(() => texts(bob.messenger, erin.messenger.profile().accountId).length === 1, 15_000, 'bob decrypts');
    await until(() => oneTimeKeysLeft() > 100, 15_000, 'refill while connected');
  });

  it('detects an identity key swapped by the relay: recorded, event, verification reset', async () => {
    const alice = await users.make(uniq('alice'));
    const bob = await users.make(uniq('bob'));
    const mallory = await users.make(uniq('mallory'));
    const [a, b, m] = [alice, bob, mallory].map((u) => u.messenger.profile()) as [
      ReturnType<Messenger['profile']>,
      ReturnType<Messenger['profile']>,
      ReturnType<Messenger['profile']>,
    ];
    await bob.messenger.connect();
    const conv = await alice.messenger.startConversation(b.username);
    await alice.messenger.sendText(conv.id, 'hello');
    await until(() => texts(bob.messenger, a.accountId).length === 1, 15_000, 'first');
    await alice.messenger.markVerified(conv.id, true, (await alice.messenger.safetyNumber(conv.id)).displayString);
    const before = await alice.messenger.safetyNumber(conv.id);

    // A compromised relay serves mallory's keys for bob's account.
    serveImpostorKeys(fixture.relay.databaseUrl ?? '', b.accountId, m.accountId);
    announceDevicesChanged(fixture.relay, b.accountId);
    const changed = new Promise<void>((resolve) =>
      alice.messenger.on((e) => e.type === 'identity_changed' && resolve()),
    );
    const held = await alice.messenger.sendText(conv.id, 'are you still you?');
    await alice.messenger.flushOutgoing();
    await changed;
    expect(alice.messenger.listConversations().find((c) => c.id === conv.id)).toMatchObject({
      verified: false,
      identityChanged: true,
    });
    expect(alice.messenger.history(conv.id).messages.some((x) => x.kind === 'identity_change')).toBe(true);
    const after = await alice.messenger.safetyNumber(conv.id);
    expect(after.displayString).not.toBe(before.displayString);
    expect(after.verified).toBe(false);
    // Alice had verified bob: the message written for him is not sent to mallory's keys.
    await until(
      () => alice.messenger.history(conv.id).messages.find((x) => x.id === held.id)?.status === 'failed',
      15_000,
      'the held message failing',
    );
    // What she sends after seeing the change goes to the keys the relay serves. Bob cannot decrypt a message
    // meant for mallory's keys: he sees an error entry, nothing silently lost.
    await alice.messenger.sendText(conv.id, 'hello?');
    await alice.messenger.flushOutgoing();
    await until(
      () => bob.messenger.history(a.accountId).messages.some((x) => x.kind === 'decryption_error'),
      15_000,
      'error entry',
    );
  });
});

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

// A message that cannot be sent must be refused when it is written, and one that reached the outbox anyway
// must fail alone: queued, it would be retried forever and hold back every later message to that person.
describe('content that cannot be sent', () => {
  it('is refused when written, with what is wrong, and leaves nothing in the history or the outbox', async () => {
    const [alice, bob] = await Promise.all([users.connected('alice'), users.connected('bob')]);
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
    const [alice, bob] = await Promise.all([users.connected('alice'), users.connected('bob')]);
    const conversation = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(conversation.id, 'before');
    await until(() => history(bob.messenger, alice.accountId).length === 1, 15_000, 'bob receives "before"');

    // What an older version could queue: a text over the limit, ahead of everything sent after it.
    const id = newMessageId();
    const body = 'z'.repeat(MAX_TEXT_LENGTH + 10);
    const sentAt = Date.now();
    await restartWith(alice, (db) => {
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
      enqueueOutbox(
        db,
        { recipientAccountId: conversation.id, messageId: id, contentJson: JSON.stringify(content) },
        sentAt,
      );
      expect(one<{ n: number }>(db, sql`SELECT count(*) AS n FROM outbox`)?.n).toBe(1);
    });
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

/** The device secret lives in the profile's secret store (keychain-like) or its encrypted database. */
async function credentialsOf(profile: Profile) {
  const accounts = secretAccounts(profileIdOf(profile.dir));
  const db = await openProfileDb(profile.dir, profile.secretStore);
  const row = getProfile(db);
  db.close();
  const deviceSecret = row?.deviceSecret ?? (await profile.secretStore.get(accounts.deviceSecret));
  if (!row || !deviceSecret) {
    throw new Error('no profile row or device secret');
  }
  return { accountId: row.accountId, deviceId: row.deviceId, deviceSecret };
}
