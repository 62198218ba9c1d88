import { afterEach, describe, expect, it } from 'vitest';
import type { Messenger } from '../../src/core/messenger.js';
import type { MessageView, MessengerEvent } from '../../src/core/messenger-types.js';
import { Profile } from '../../src/core/profile.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { tempDir, until } from './support/helpers.js';
import { breakWaitingMessage, MemoryRelay } from './support/memory-relay.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function makeUser(relay: MemoryRelay, username: string) {
  const dir = tempDir();
  const profile = new Profile(dir.path, { secretStore: new MemorySecretStore(), relayFactory: () => relay.client() });
  const { messenger } = await profile.registerMessenger({ relayUrl: 'memory://relay', username });
  cleanups.push(async () => {
    await messenger.close();
    dir.remove();
  });
  return { profile, messenger };
}

/** The texts received in a conversation, oldest first. */
const texts = (messenger: Messenger, conversationId: string) =>
  messenger
    .history(conversationId, { limit: 100 })
    .messages.filter((m) => m.kind === 'text' && !m.fromMe)
    .map((m) => m.body);

/**
 * A group of envelopes is first stored without a SAVEPOINT per envelope; when one of them fails, the whole
 * group is rolled back and stored again with one per envelope (see ReceivePipeline). The first try must
 * leave nothing behind: no message twice, no count or event of the try that was rolled back.
 */
describe('a group of envelopes with one that cannot be decrypted', () => {
  it('stores the others once, the broken one as an entry, and decrypts what comes after', async () => {
    const relay = new MemoryRelay();
    const alice = (await makeUser(relay, 'alice')).messenger;
    const bobUser = await makeUser(relay, 'bob');
    await alice.connect();
    await bobUser.messenger.connect();
    const conversation = await alice.startConversation('bob');
    const aliceId = alice.profile().accountId;
    // A reply sets the session up on both sides: what follows are plain messages, each with its MAC.
    await alice.sendText(conversation.id, 'hi');
    await until(() => texts(bobUser.messenger, aliceId).length === 1, 5000, 'hi');
    await bobUser.messenger.sendText(aliceId, 'hey');
    await until(() => texts(alice, conversation.id).includes('hey'), 5000, 'hey');
    await bobUser.messenger.close();

    const bobDevice = relay.accounts.get(conversation.id)?.devices.get(1);
    const sent: MessageView[] = [];
    for (const body of ['before', 'broken', 'after']) {
      sent.push(await alice.sendText(conversation.id, body));
    }
    await alice.flushOutgoing();
    breakWaitingMessage(bobDevice, sent[1]?.sentAt); // its MAC no longer matches

    const bob = await bobUser.profile.openMessenger();
    cleanups.push(() => bob.close());
    const events: MessengerEvent[] = [];
    bob.on((event) => events.push(event));
    // Bob was away: the three arrive together and are taken in as one group.
    await bob.connect();
    await until(() => bobDevice?.queue.length === 0, 10_000, 'all three acked');

    const kinds = bob.history(aliceId, { limit: 100 }).messages.map((m) => m.kind);
    expect(kinds.filter((kind) => kind === 'decryption_error')).toHaveLength(1);

    // Bob asked for the broken one again; alice re-sends it, and her next message decrypts too: the session
    // stands where the good messages of the group left it.
    await alice.sendText(conversation.id, 'later');
    await until(
      () => texts(bob, aliceId).includes('later') && texts(bob, aliceId).includes('broken'),
      10_000,
      'the re-sent message and the one after the group',
    );
    expect(texts(bob, aliceId)).toEqual(['hi', 'before', 'broken', 'after', 'later']);
    // Each announced once: nothing of the rolled-back first try reached a listener.
    const announced = events.flatMap((e) =>
      e.type === 'message' ? [e.message.kind === 'text' ? e.message.body : e.message.kind] : [],
    );
    expect(announced.sort()).toEqual(['after', 'before', 'broken', 'decryption_error', 'later']);
    // And counted once (a trigger counts each unread message as it is stored): hi, the entry and four texts.
    expect(bob.listConversations().find((c) => c.id === aliceId)?.unreadCount).toBe(6);
  });
});
