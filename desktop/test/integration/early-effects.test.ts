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

/**
 * Alice and Bob on one relay, Bob away. Alice's clock stays behind the relay's (so nothing is clamped) and
 * moves a second on at each `step`.
 */
async function aliceAndBob() {
  const relay = new MemoryRelay();
  let aliceClock = Date.now() - 60_000;
  const alice = await makeUser(relay, 'alice', () => aliceClock);
  const bob = await makeUser(relay, 'bob');
  const conversation = await alice.startConversation('bob');
  const step = () => {
    aliceClock += 1000;
  };
  return { relay, alice, bob, conversation, step };
}

/** Bob connects, his queue reordered so the message comes first, then its second effect, then its first. */
async function deliverSecondEffectFirst(relay: MemoryRelay, bob: Messenger): Promise<void> {
  const queue = queueOf(relay, bob);
  expect(queue).toHaveLength(3);
  queue.push(...queue.splice(1, 1));
  await bob.connect();
  await until(() => queueOf(relay, bob).length === 0, 5000, 'all acked');
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
    const { relay, alice, bob, conversation, step } = await aliceAndBob();

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
    const { relay, alice, bob, conversation, step } = await aliceAndBob();
    const message = await alice.sendText(conversation.id, 'draft');
    step();
    await alice.edit(message.id, 'first edit');
    step();
    await alice.edit(message.id, 'second edit');
    await alice.flushOutgoing();

    await deliverSecondEffectFirst(relay, bob);
    expect(bob.history(alice.profile().accountId).messages[0]?.body).toBe('second edit');
  });

  it('a reaction taken back stays gone when its removal arrives before it', async () => {
    const { relay, alice, bob, conversation, step } = await aliceAndBob();
    const message = await alice.sendText(conversation.id, 'lunch?');
    step();
    await alice.react(message.id, '👍');
    step();
    await alice.react(message.id, '👍', { remove: true });
    await alice.flushOutgoing();

    await deliverSecondEffectFirst(relay, bob);
    expect(bob.history(alice.profile().accountId).messages[0]?.reactions).toEqual([]);
    expect(alice.history(conversation.id).messages[0]?.reactions).toEqual([]);
  });
});
