import type { Content } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import type { Messenger } from '../../src/core/messenger.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { RelayClient } from '../../src/core/relay-client/http-client.js';
import { ensureConversation, heldClaims, holdClaim } from '../../src/core/store/conversation-queries.js';
import { enqueueOutbox } from '../../src/core/store/delivery-queries.js';
import { newMessageId } from '../../src/core/store/message-queries.js';
import { openProfileDb, profileIdOf, restartWith } from './support/credentials.js';
import { until } from './support/helpers.js';
import { relayAndUsers } from './support/test-users.js';

// What a modified client can send, through a real relay on real Postgres + Redis: the reader sees it as what it
// is, never as someone else's words, name or time. The content is written into the sender's outbox directly.
const fixture = relayAndUsers();
const { users } = fixture;

const history = (m: Messenger, conversationId: string) =>
  m.history(conversationId, { limit: 500 }).messages.map((x) => ({ body: x.body, status: x.status }));

describe('content from a modified client', () => {
  it('never shows a stranger under the name of someone already in the conversation list', async () => {
    const [alice, bob, mallory] = await Promise.all([
      users.connected('alice'),
      users.connected('bob'),
      users.connected('mallory'),
    ]);
    const withBob = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(withBob.id, 'hi bob');
    // What alice's list says at the moment mallory's message is shown.
    const namesWhenShown: string[] = [];
    alice.messenger.on((event) => {
      if (event.type === 'message' && event.message.conversationId === mallory.accountId) {
        namesWhenShown.push(
          alice.messenger.listConversations().find((c) => c.id === mallory.accountId)?.username ?? '',
        );
      }
    });

    // Mallory's modified client claims to be bob.
    const at = Date.now();
    const content: Content = {
      kind: 'text',
      id: newMessageId(),
      body: 'new number, this is bob',
      sentAt: at,
      senderUsername: bob.username,
    };
    await restartWith(mallory, (db) =>
      enqueueOutbox(
        db,
        { recipientAccountId: alice.accountId, messageId: null, contentJson: JSON.stringify(content) },
        at,
      ),
    );

    await until(() => namesWhenShown.length === 1, 15_000, "alice receives mallory's message");
    const unverified = `unverified-${mallory.accountId.slice(0, 8)}`;
    expect(namesWhenShown).toEqual([unverified]);
    // The relay's directory says bob is someone else: the name stays unverified, the real bob keeps his.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const names = new Map(alice.messenger.listConversations().map((c) => [c.id, c.username]));
    expect(names.get(mallory.accountId)).toBe(unverified);
    expect(names.get(bob.accountId)).toBe(bob.username);
  });

  it('asks the relay on the next connection about names claimed before it answered (the app closed, a crash)', async () => {
    const [alice, carol, mallory] = await Promise.all([
      users.connected('alice'),
      users.connected('carol'),
      users.connected('mallory'),
    ]);
    // Alice's app stopped after committing two strangers' first messages, before the relay answered for the
    // names they claimed: carol truly (held as unverified: the name was taken then), mallory falsely.
    const now = Date.now();
    await restartWith(alice, (db) => {
      ensureConversation(db, carol.accountId, `unverified-${carol.accountId.slice(0, 8)}`, now);
      holdClaim(db, carol.accountId, carol.username);
      ensureConversation(db, mallory.accountId, 'the_ceo', now);
      holdClaim(db, mallory.accountId, 'the_ceo');
    });

    const named = () => new Map(alice.messenger.listConversations().map((c) => [c.id, c.username]));
    await until(() => named().get(carol.accountId) === carol.username, 15_000, "carol's claim confirmed");
    await until(
      () => named().get(mallory.accountId) === `unverified-${mallory.accountId.slice(0, 8)}`,
      15_000,
      "mallory's claim refused",
    );
    await alice.messenger.close();
    const db = await openProfileDb(alice.profile.dir, alice.profile.secretStore);
    try {
      expect(heldClaims(db).size).toBe(0); // answered: not asked again
    } finally {
      db.close();
    }
    alice.messenger = await alice.profile.openMessenger();
  });

  it("shows a reply's quote as the quoted message says, never words its sender put in the reader's mouth", async () => {
    const [alice, bob] = await Promise.all([users.connected('alice'), users.connected('bob')]);
    const conversation = await alice.messenger.startConversation(bob.username);
    const original = await alice.messenger.sendText(conversation.id, 'lunch at noon?');
    await until(() => history(bob.messenger, alice.accountId).length === 1, 15_000, 'bob receives it');

    // What a modified client can send: a reply that misquotes alice, and one quoting a message she never wrote.
    const at = Date.now();
    const misquote: Content = {
      kind: 'reply',
      id: newMessageId(),
      body: 'deal',
      sentAt: at,
      quote: { messageId: original.id, authorAccountId: alice.accountId, text: 'I owe you 1000' },
    };
    const invented: Content = {
      kind: 'reply',
      id: newMessageId(),
      body: 'as you said',
      sentAt: at + 1,
      quote: { messageId: newMessageId(), authorAccountId: alice.accountId, text: 'you can have my car' },
    };
    await restartWith(bob, (db) => {
      enqueueOutbox(
        db,
        { recipientAccountId: alice.accountId, messageId: null, contentJson: JSON.stringify(misquote) },
        at,
      );
      enqueueOutbox(
        db,
        { recipientAccountId: alice.accountId, messageId: null, contentJson: JSON.stringify(invented) },
        at + 1,
      );
    });

    await until(() => alice.messenger.history(conversation.id).messages.length === 3, 15_000, 'both replies arrive');
    const [, first, second] = alice.messenger.history(conversation.id).messages;
    expect(first?.quote).toEqual({ messageId: original.id, authorAccountId: alice.accountId, text: 'lunch at noon?' });
    expect(second?.quote).toMatchObject({ authorAccountId: alice.accountId, text: '' }); // "original message not found"
  });

  it('dates a message no later than it arrived, so a sender cannot keep its conversation first or its message last', async () => {
    const [alice, bob, carol] = await Promise.all([
      users.connected('alice'),
      users.connected('bob'),
      users.connected('carol'),
    ]);
    const withBob = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(withBob.id, 'hi bob');
    await until(() => history(bob.messenger, alice.accountId).length === 1, 15_000, 'bob receives it');

    const year2100 = Date.UTC(2100, 0, 1);
    const future: Content = { kind: 'text', id: newMessageId(), body: 'pinned forever', sentAt: year2100 };
    const sentBefore = Date.now();
    await restartWith(bob, (db) =>
      enqueueOutbox(
        db,
        { recipientAccountId: alice.accountId, messageId: null, contentJson: JSON.stringify(future) },
        sentBefore,
      ),
    );
    await until(() => history(alice.messenger, withBob.id).length === 2, 15_000, 'the future-dated message arrives');
    const shown = alice.messenger.history(withBob.id).messages.find((m) => m.id === future.id);
    expect(shown?.sentAt).toBeGreaterThanOrEqual(sentBefore);
    expect(shown?.sentAt).toBeLessThanOrEqual(Date.now());

    // What comes after it is shown after it, in the conversation and in the list.
    await alice.messenger.sendText(withBob.id, 'later reply');
    expect(history(alice.messenger, withBob.id).map((m) => m.body)).toEqual([
      'hi bob',
      'pinned forever',
      'later reply',
    ]);
    const withCarol = await carol.messenger.startConversation(alice.username);
    await carol.messenger.sendText(withCarol.id, 'newest of all');
    await until(() => history(alice.messenger, carol.accountId).length === 1, 15_000, 'alice receives carol');
    expect(alice.messenger.listConversations().map((c) => c.id)).toEqual([carol.accountId, withBob.id]);
  });

  it('dates a message it could not decrypt no later than it arrived, too', async () => {
    const [alice, bob, carol] = await Promise.all([
      users.connected('alice'),
      users.connected('bob'),
      users.connected('carol'),
    ]);
    // Bob's modified client sends alice bytes no session can decrypt, dated in 2100, straight to the relay.
    const deviceSecret = await bob.profile.secretStore.get(secretAccounts(profileIdOf(bob.profile.dir)).deviceSecret);
    const client = new RelayClient({ baseUrl: fixture.relay.url });
    client.setCredentials({ accountId: bob.accountId, deviceId: 1, deviceSecret: deviceSecret ?? '' });
    const [device] = (await client.bundle(alice.accountId, 1)).devices;
    const year2100 = Date.UTC(2100, 0, 1);
    const sentBefore = Date.now();
    await client.sendMessages(alice.accountId, {
      messages: [
        {
          destinationDeviceId: 1,
          destinationRegistrationId: device?.registrationId ?? 0,
          type: 'whisper',
          content: Buffer.alloc(80, 7).toString('base64'),
        },
      ],
      timestamp: year2100,
    });
    await until(() => alice.messenger.history(bob.accountId).messages.length === 1, 15_000, 'the error entry');
    const entry = alice.messenger.history(bob.accountId).messages[0];
    expect(entry?.kind).toBe('decryption_error');
    expect(entry?.sentAt).toBeGreaterThanOrEqual(sentBefore);
    expect(entry?.sentAt).toBeLessThanOrEqual(Date.now());

    // A later message from someone else comes first in the list.
    const withCarol = await carol.messenger.startConversation(alice.username);
    await carol.messenger.sendText(withCarol.id, 'newest of all');
    await until(() => history(alice.messenger, carol.accountId).length === 1, 15_000, 'alice receives carol');
    expect(alice.messenger.listConversations().map((c) => c.id)).toEqual([carol.accountId, bob.accountId]);
  });
});
