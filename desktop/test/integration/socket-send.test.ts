import { randomBytes } from 'node:crypto';
import { Routes } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SottoError } from '../../src/core/errors.js';
import type { Messenger } from '../../src/core/messenger.js';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { RelayClient, type RelayClientOptions } from '../../src/core/relay-client/http-client.js';
import type { SocketHandlers } from '../../src/core/relay-client/relay-api.js';
import { ReconnectingSocket } from '../../src/core/relay-client/relay-socket.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { profileIdOf } from './support/credentials.js';
import { tempDir, until } from './support/helpers.js';
import { psql, type RelayProcess, startRelay } from './support/relay-process.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

// Sends over the relay WebSocket (`send` frames) against the real relay on Postgres + Redis. Which way a
// send went is read from the relay's own request metrics: a socket send makes no PUT /v1/messages.
let relay: RelayProcess;
let proxy: TcpProxy;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  relay = await startRelay();
  proxy = await startTcpProxy(relay.port);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
  await proxy?.stop();
  await relay?.stop();
});

async function makeUser(name: string, relayUrl = relay.url, socket?: RelayClientOptions['socket']) {
  const dir = tempDir();
  const profile = new Profile(dir.path, {
    secretStore: new MemorySecretStore(),
    ...(socket ? { relayFactory: (baseUrl: string) => new RelayClient({ baseUrl, socket }) } : {}),
  });
  const username = `${name}_${Math.random().toString(36).slice(2, 8)}`;
  const { messenger } = await profile.registerMessenger({ relayUrl, username });
  cleanups.push(async () => {
    await messenger.close();
    dir.remove();
  });
  return { profile, messenger, ...messenger.profile() };
}

function texts(m: Messenger, conversationId: string): string[] {
  return m
    .history(conversationId, { limit: 500 })
    .messages.filter((x) => x.kind === 'text')
    .map((x) => x.body);
}

/** PUT /v1/messages/:accountId requests the relay has answered so far, by HTTP status. */
async function messagePuts(): Promise<Record<string, number>> {
  const metrics = await fetch(`${relay.url}${Routes.metrics}`, {
    headers: { authorization: `Bearer ${relay.metricsToken}` },
  });
  expect(metrics.status).toBe(200); // counting from a refused request would see no PUTs at all
  const text = await metrics.text();
  const counts: Record<string, number> = {};
  for (const [, labels = '', value = '0'] of text.matchAll(
    /^sotto_http_request_duration_seconds_count\{(.*)\} (\d+)$/gm,
  )) {
    if (labels.includes('method="PUT"') && labels.includes(`route="${Routes.messages}"`)) {
      const status = /status="(\d+)"/.exec(labels)?.[1] ?? '?';
      counts[status] = (counts[status] ?? 0) + Number(value);
    }
  }
  return counts;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const queued = (accountId: string, deviceId: number) =>
  Number(
    psql(
      `SELECT count(*) FROM envelopes WHERE account_id = '${accountId}' AND device_id = ${deviceId}`,
      relay.databaseUrl,
    ).trim(),
  );

/** An access token of the user's device, from a client of its own (as another app on the device would). */
async function tokenOf(user: Awaited<ReturnType<typeof makeUser>>): Promise<string> {
  const deviceSecret = await user.profile.secretStore.get(secretAccounts(profileIdOf(user.profile.dir)).deviceSecret);
  const client = new RelayClient({ baseUrl: relay.url });
  client.setCredentials({ accountId: user.accountId, deviceId: user.deviceId, deviceSecret: deviceSecret ?? '' });
  return client.accessToken();
}

/**
 * Adds a second device to the account through the relay (so its device-list cache hears of it), with a copy
 * of the first device's public prekeys: senders can set up a session with it; nobody reads its queue.
 */
async function addDevice(user: Awaited<ReturnType<typeof makeUser>>): Promise<number> {
  const response = await fetch(`${relay.url}${Routes.devices}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await tokenOf(user)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ deviceSecret: randomBytes(32).toString('base64url'), registrationId: 4242 }),
  });
  expect(response.status).toBe(200);
  const { deviceId } = (await response.json()) as { deviceId: number };
  for (const table of ['signed_prekeys', 'kyber_last_resort_prekeys']) {
    psql(
      `INSERT INTO ${table} (account_id, device_id, key_id, public_key, signature)
       SELECT account_id, ${deviceId}, key_id, public_key, signature FROM ${table}
       WHERE account_id = '${user.accountId}' AND device_id = 1`,
      relay.databaseUrl,
    );
  }
  return deviceId;
}

async function removeDevice(user: Awaited<ReturnType<typeof makeUser>>, deviceId: number): Promise<void> {
  const response = await fetch(`${relay.url}${Routes.devices}/${deviceId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${await tokenOf(user)}` },
  });
  expect(response.status).toBe(204);
}

describe('sending over the relay socket', () => {
  it.each(['socket', 'http'] as const)(
    'over %s: messages arrive, and 409s for an added and a removed device are repaired',
    async (transport) => {
      const alice = await makeUser('alice');
      const bob = await makeUser('bob');
      await bob.messenger.connect();
      if (transport === 'socket') {
        await alice.messenger.connect(); // resolves after the relay's `ready` and `queue_empty`
      } // else alice stays offline: no socket, so her sends take PUT /v1/messages
      const before = await messagePuts();
      const conv = await alice.messenger.startConversation(bob.username);
      const send = async (text: string) => {
        await alice.messenger.sendText(conv.id, text);
        await alice.messenger.flushOutgoing();
      };

      await send('one');
      await until(() => texts(bob.messenger, alice.accountId).length === 1, 15_000, 'bob receives one');

      // Alice has a session with bob's device 1 only: just the 409's missingDevices can tell her of device 2.
      const second = await addDevice(bob);
      await send('two');
      await until(() => texts(bob.messenger, alice.accountId).length === 2, 15_000, 'bob receives two');
      expect(queued(bob.accountId, second)).toBe(1);

      // Now device 2 is gone: accepted only once the 409's extraDevices made alice drop it.
      await removeDevice(bob, second);
      await send('three');
      await until(() => texts(bob.messenger, alice.accountId).length === 3, 15_000, 'bob receives three');

      expect(texts(bob.messenger, alice.accountId)).toEqual(['one', 'two', 'three']);
      expect(alice.messenger.history(conv.id).messages.map((m) => m.status)).not.toContain('failed');
      expect(alice.messenger.pendingOutgoing()).toBe(0);
      const after = await messagePuts();
      const puts = (status: string) => (after[status] ?? 0) - (before[status] ?? 0);
      if (transport === 'socket') {
        expect(total(after) - total(before)).toBe(0); // the 409s came back as send_error frames
      } else {
        expect({ ok: puts('200'), stale: puts('409') }).toEqual({ ok: 3, stale: 2 });
      }
    },
  );

  it('a send whose answer is lost when the socket drops is retried and shown once', async () => {
    const alice = await makeUser('alice', proxy.url); // alice's connections run through the proxy
    const bob = await makeUser('bob'); // offline: his queue shows every envelope the relay committed
    await alice.messenger.connect();
    const conv = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(conv.id, 'before the drop');
    await alice.messenger.flushOutgoing();
    expect(queued(bob.accountId, 1)).toBe(1);
    const before = await messagePuts();

    proxy.dropReplies();
    const lost = await alice.messenger.sendText(conv.id, 'answer lost');
    await until(() => queued(bob.accountId, 1) === 2, 15_000, 'the relay commits the send');
    expect(total(await messagePuts())).toBe(total(before)); // it went as a `send` frame
    expect(alice.messenger.history(conv.id).messages.find((m) => m.id === lost.id)?.status).toBe('sending');

    proxy.cut(); // the pending send fails as unreachable; the outbox retries the same ciphertext
    await until(() => alice.messenger.pendingOutgoing() === 0, 15_000, 'the retry is accepted');
    expect(alice.messenger.history(conv.id).messages.find((m) => m.id === lost.id)?.status).toBe('sent');
    expect(queued(bob.accountId, 1)).toBe(3);
    const distinct = psql(
      `SELECT count(DISTINCT content) FROM envelopes WHERE account_id = '${bob.accountId}'`,
      relay.databaseUrl,
    );
    expect(Number(distinct.trim())).toBe(2); // committed twice, byte for byte

    await bob.messenger.connect(); // resolves once his queue is drained and processed
    expect(texts(bob.messenger, alice.accountId)).toEqual(['before the drop', 'answer lost']);
    await until(() => queued(bob.accountId, 1) === 0, 15_000, 'bob acks all three envelopes');
  });

  it('leaves a connection that went silent (no pong) and reconnects; what was sent meanwhile arrives', async () => {
    // Pings every 200 ms, and a connection silent for 500 ms after one is taken for dead (25 s and 10 s in the app).
    const alice = await makeUser('alice', proxy.url, { pingIntervalMs: 200, livenessTimeoutMs: 500 });
    const bob = await makeUser('bob');
    await alice.messenger.connect();
    await bob.messenger.connect();
    const states: string[] = [];
    alice.messenger.on((event) => {
      if (event.type === 'connection') {
        states.push(event.state);
      }
    });

    // While the relay answers, its pongs keep the connection (several pings go by).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(states).not.toContain('offline');

    // Half-open: alice's frames still go out, nothing comes back (a laptop waking up on another network).
    proxy.dropReplies();
    await until(() => states.includes('offline'), 15_000, 'alice leaves "online"');
    const toAlice = await bob.messenger.startConversation(alice.username);
    await bob.messenger.sendText(toAlice.id, 'sent while alice was cut off');
    await bob.messenger.flushOutgoing();
    expect(texts(alice.messenger, bob.accountId)).toEqual([]);

    proxy.cut(); // the network is back
    await until(() => texts(alice.messenger, bob.accountId).length === 1, 30_000, 'the message after reconnecting');
    expect(states.slice(states.indexOf('offline'))).toContain('online');
    expect(alice.messenger.connectionState()).toBe('online');
  });

  it('a burst goes out two runs at a time: the next run is sent before the first is answered, never a third', async () => {
    const alice = await makeUser('alice', proxy.url);
    const bob = await makeUser('bob'); // offline: his queue shows what the relay committed
    await alice.messenger.connect();
    const conv = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(conv.id, 'warm-up');
    await alice.messenger.flushOutgoing();

    proxy.dropReplies(); // the relay commits each send, but alice never hears back
    const bodies = Array.from({ length: 70 }, (_, i) => `burst ${i}`);
    // All 70 are composed before the outbox runs: its first two runs are full (32 each).
    const composed = Promise.all(bodies.map((body) => alice.messenger.sendText(conv.id, body)));
    await composed;
    await until(() => queued(bob.accountId, 1) === 1 + 64, 15_000, 'two runs committed while unanswered');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(queued(bob.accountId, 1)).toBe(1 + 64); // no third run before the first is answered

    proxy.cut(); // the unanswered sends fail as unreachable: the outbox retries them, in order
    await until(() => alice.messenger.pendingOutgoing() === 0, 30_000, 'every send accepted');
    await bob.messenger.connect();
    expect(texts(bob.messenger, alice.accountId)).toEqual(['warm-up', ...bodies]);
    expect(alice.messenger.history(conv.id, { limit: 100 }).messages.map((m) => m.status)).not.toContain('failed');
  });

  it('a long burst to one person does not hold back a message to another', async () => {
    const alice = await makeUser('alice');
    const bob = await makeUser('bob'); // both offline: their queues show what the relay committed
    const carol = await makeUser('carol');
    await alice.messenger.connect();
    const toBob = await alice.messenger.startConversation(bob.username);
    const toCarol = await alice.messenger.startConversation(carol.username);
    await Promise.all(Array.from({ length: 600 }, (_, i) => alice.messenger.sendText(toBob.id, `bob ${i}`)));
    await until(() => queued(bob.accountId, 1) > 0, 15_000, 'the burst to bob has started');
    await alice.messenger.sendText(toCarol.id, 'hi carol');
    await until(() => alice.messenger.pendingOutgoing() === 0, 60_000, 'everything is sent');
    expect(queued(bob.accountId, 1)).toBe(600);
    expect(queued(carol.accountId, 1)).toBe(1);
    // Queue positions are given in commit order: how much of bob's burst went before carol's message.
    const ahead = psql(
      `SELECT count(*) FROM envelopes WHERE account_id = '${bob.accountId}'
         AND id < (SELECT id FROM envelopes WHERE account_id = '${carol.accountId}')`,
      relay.databaseUrl,
    );
    // Served in the next drain round (at most 8 runs of 32 per round), not after the whole burst.
    expect(Number(ahead.trim())).toBeLessThan(450);
  });

  it('a second connection of the same device takes over; the first waits instead of taking it back at once', async () => {
    const bob = await makeUser('bob');
    const url = new URL(Routes.socket, `${relay.url}/`);
    url.protocol = 'ws:';
    const states: Record<string, string[]> = { first: [], second: [] };
    const open = (name: string, displacedRetryMs?: number) =>
      new ReconnectingSocket({
        url: url.toString(),
        token: () => tokenOf(bob),
        handlers: {
          onEnvelope() {},
          onQueueEmpty() {},
          onState: (state) => states[name]?.push(state),
        } satisfies SocketHandlers,
        ...(displacedRetryMs ? { displacedRetryMs } : {}),
      });
    const displaced = (name: string) => states[name]?.filter((s) => s === 'elsewhere').length ?? 0;

    const first = open('first', 3_000);
    cleanups.push(() => first.close());
    await until(() => states.first?.includes('online') ?? false, 10_000, 'first online');
    const second = open('second');
    await until(() => (states.second?.includes('online') ?? false) && displaced('first') === 1, 10_000, 'takeover');
    // Before, the first reconnected within a quarter second and the two pushed each other off in turn.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect({ first: displaced('first'), second: displaced('second') }).toEqual({ first: 1, second: 0 });

    // Once the other connection is gone, the first comes back by itself.
    await second.close();
    const reconnects = states.first?.length ?? 0;
    await until(() => states.first?.slice(reconnects).includes('online') ?? false, 10_000, 'first back online');
    expect(displaced('first')).toBe(1);
  });

  it('a username that passed to a new account (the old one deleted) reaches the new one; the old history stays apart', async () => {
    const alice = await makeUser('alice');
    const bob = await makeUser('bob');
    await alice.messenger.connect();
    await bob.messenger.connect();
    const old = await alice.messenger.startConversation(bob.username);
    await alice.messenger.sendText(old.id, 'to the first bob');
    await until(() => texts(bob.messenger, alice.accountId).length === 1, 15_000, 'the first bob receives');
    const deleted = await fetch(`${relay.url}${Routes.me}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await tokenOf(bob)}` },
    });
    expect(deleted.status).toBe(204);

    // Someone new registers the freed name and writes first: once the relay confirms the name is theirs,
    // it names their conversation, and the gone account's conversation is renamed.
    const dir = tempDir();
    const { messenger: newBob } = await new Profile(dir.path, {
      secretStore: new MemorySecretStore(),
    }).registerMessenger({ relayUrl: relay.url, username: bob.username });
    cleanups.push(async () => {
      await newBob.close();
      dir.remove();
    });
    const newBobId = newBob.profile().accountId;
    await newBob.connect();
    await newBob.sendText((await newBob.startConversation(alice.username)).id, 'hi, I am bob now');
    const former = `${bob.username}-former-${bob.accountId.slice(0, 8)}`;
    await until(
      () => alice.messenger.listConversations().some((c) => c.username === former),
      15_000,
      'the old conversation renamed',
    );
    expect(alice.messenger.findConversation(bob.username)?.id).toBe(newBobId);
    expect(texts(alice.messenger, old.id)).toEqual(['to the first bob']);

    // Starting a conversation by name goes to the name's owner now, too.
    const current = await alice.messenger.startConversation(bob.username);
    expect(current.id).toBe(newBobId);
    await alice.messenger.sendText(current.id, 'hello, new bob');
    await until(() => texts(newBob, alice.accountId).includes('hello, new bob'), 15_000, 'the new bob receives');
  });

  it('signing out removes only this device from an account with others, and deletes an account of one', async () => {
    const frank = await makeUser('frank');
    const second = await addDevice(frank);
    await frank.messenger.signOut();
    const devices = (accountId: string) =>
      psql(`SELECT device_id FROM devices WHERE account_id = '${accountId}' ORDER BY 1`, relay.databaseUrl)
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    expect(devices(frank.accountId)).toEqual([second]);

    const gina = await makeUser('gina');
    const asker = await makeUser('hank');
    await gina.messenger.signOut();
    expect(devices(gina.accountId)).toEqual([]);
    const lookup = await fetch(`${relay.url}/v1/accounts/username/${gina.username}`, {
      headers: { authorization: `Bearer ${await tokenOf(asker)}` },
    });
    expect(lookup.status).toBe(404); // the account went with its only device: the username is free
  });

  it('drops an access token the relay refuses at the upgrade (401), so a revocation missed while away is found', async () => {
    const erin = await makeUser('erin', proxy.url);
    await erin.messenger.connect();
    const states: string[] = [];
    erin.messenger.on((event) => {
      if (event.type === 'connection') {
        states.push(event.state);
      }
    });
    proxy.dropReplies(); // erin never hears the relay close her socket when her account goes
    const deleted = await fetch(`${relay.url}${Routes.me}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await tokenOf(erin)}` },
    });
    expect(deleted.status).toBe(204);
    proxy.cut(); // she reconnects with the access token she still holds: the upgrade answers 401
    // Before: that token was offered again on every retry until it expired (15 minutes), "offline" all along.
    await until(() => states.includes('unregistered'), 15_000, 'unregistered');
  });

  it('a device the relay no longer accepts says so and stops: no retries, queued messages fail, connect fails fast', async () => {
    const carol = await makeUser('carol');
    const dave = await makeUser('dave');
    await carol.messenger.connect();
    const states: string[] = [];
    carol.messenger.on((event) => {
      if (event.type === 'connection') {
        states.push(event.state);
      }
    });
    const conv = await carol.messenger.startConversation(dave.username);
    // The account goes (from another of its devices, say): the relay closes the socket (revoked).
    const deleted = await fetch(`${relay.url}${Routes.me}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await tokenOf(carol)}` },
    });
    expect(deleted.status).toBe(204);
    await until(() => states.includes('unregistered'), 15_000, 'unregistered');
    expect(carol.messenger.connectionState()).toBe('unregistered');

    await carol.messenger.sendText(conv.id, 'into the void');
    await carol.messenger.flushOutgoing();
    expect(carol.messenger.history(conv.id).messages.map((m) => m.status)).toEqual(['failed']);

    // No reconnecting in the background (before: a token request and a refusal every few seconds, forever).
    const settled = states.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(states.slice(settled)).toEqual([]);

    await carol.messenger.close();
    carol.messenger = await carol.profile.openMessenger();
    const started = Date.now();
    const refused = await carol.messenger.connect({ timeoutMs: 20_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(SottoError);
    expect((refused as SottoError).code).toBe('unregistered');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
