import { afterEach, describe, expect, it } from 'vitest';
import type { Messenger } from '../../src/core/messenger.js';
import { Profile } from '../../src/core/profile.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { tempDir, until } from './support/helpers.js';
import { MemoryRelay } from './support/memory-relay.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function makeUser(relay: MemoryRelay, username: string, now?: () => number) {
  const dir = tempDir();
  const profile = new Profile(dir.path, {
    secretStore: new MemorySecretStore(),
    relayFactory: () => relay.client(),
    ...(now ? { now } : {}),
  });
  const { messenger } = await profile.registerMessenger({ relayUrl: 'memory://relay', username });
  cleanups.push(async () => {
    await messenger.close();
    dir.remove();
  });
  return messenger;
}

/** What the relay holds for a device (the array is replaced as acks come in). */
const queueOf = (relay: MemoryRelay, user: Messenger) =>
  relay.accounts.get(user.profile().accountId)?.devices.get(1)?.queue ?? [];

/**
 * A sender's outbox sends concurrently, and a message its reader could not decrypt comes again later: an
 * edit, deletion or reaction can reach the reader before the message it is about.
 */
describe('effects that overtake their message', () => {
  it('are applied when the message arrives: the deletion holds, the latest edit wins, the reaction shows', async () => {
    const relay = new MemoryRelay();
    // Alice's clock steps a second per action, and stays behind the relay's (so nothing is clamped).
    let aliceClock = Date.now() - 60_000;
    const alice = await makeUser(relay, 'alice', () => aliceClock);
    const bob = await makeUser(relay, 'bob');
    const conversation = await alice.startConversation('bob');
    const step = () => {
      aliceClock += 1000;
    };

    const kept = await alice.sendText(conversation.id, 'see you at 5');
    step();
    const regretted = await alice.sendText(conversation.id, 'my PIN is 4921');
    step();
    await alice.edit(kept.id, 'see you at 6');
    step();
    await alice.edit(kept.id, 'see you at 7');
    step();
    await alice.deleteForEveryone(regretted.id);
    step();
    await alice.react(kept.id, '👍');
    await alice.flushOutgoing();
    expect(alice.pendingOutgoing()).toBe(0);

    // Bob was away; his queue is delivered last-sent first, so every effect comes before its message.
    const queue = queueOf(relay, bob);
    expect(queue).toHaveLength(6);
    queue.reverse();
    await bob.connect();
    const aliceId = alice.profile().accountId;
    await until(() => bob.history(aliceId).messages.filter((m) => m.kind === 'text').length === 2, 5000, 'both');
    await until(() => queueOf(relay, bob).length === 0, 5000, 'all acked');

    const shown = new Map(bob.history(aliceId).messages.map((m) => [m.id, m]));
    expect(shown.get(regretted.id)).toMatchObject({ deleted: true, body: '' });
    expect(shown.get(kept.id)).toMatchObject({ deleted: false, body: 'see you at 7' });
    expect(shown.get(kept.id)?.reactions).toEqual([{ emoji: '👍', accountIds: [aliceId] }]);
    expect(bob.search('4921')).toEqual([]);
  });

  it('an older edit arriving after a newer one does not undo it', async () => {
    const relay = new MemoryRelay();
    let aliceClock = Date.now() - 60_000;
    const alice = await makeUser(relay, 'alice', () => aliceClock);
    const bob = await makeUser(relay, 'bob');
    const conversation = await alice.startConversation('bob');
    const message = await alice.sendText(conversation.id, 'draft');
    aliceClock += 1000;
    await alice.edit(message.id, 'first edit');
    aliceClock += 1000;
    await alice.edit(message.id, 'second edit');
    await alice.flushOutgoing();

    // The message first, then the second edit, then the first.
    const queue = queueOf(relay, bob);
    expect(queue).toHaveLength(3);
    queue.push(...queue.splice(1, 1));
    await bob.connect();
    await until(() => queueOf(relay, bob).length === 0, 5000, 'all acked');
    expect(bob.history(alice.profile().accountId).messages[0]?.body).toBe('second edit');
  });

  it('a reaction taken back stays gone when its removal arrives before it', async () => {
    const relay = new MemoryRelay();
    let aliceClock = Date.now() - 60_000;
    const alice = await makeUser(relay, 'alice', () => aliceClock);
    const bob = await makeUser(relay, 'bob');
    const conversation = await alice.startConversation('bob');
    const message = await alice.sendText(conversation.id, 'lunch?');
    aliceClock += 1000;
    await alice.react(message.id, '👍');
    aliceClock += 1000;
    await alice.react(message.id, '👍', { remove: true });
    await alice.flushOutgoing();

    // The message first, then the removal, then the reaction it removes.
    const queue = queueOf(relay, bob);
    expect(queue).toHaveLength(3);
    queue.push(...queue.splice(1, 1));
    await bob.connect();
    await until(() => queueOf(relay, bob).length === 0, 5000, 'all acked');
    expect(bob.history(alice.profile().accountId).messages[0]?.reactions).toEqual([]);
    expect(alice.history(conversation.id).messages[0]?.reactions).toEqual([]);
  });
});
