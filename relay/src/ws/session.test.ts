import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { CloseCode, MAX_CLIENT_FRAME_BYTES } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDevice, SocketClient, sendTo, type TestDevice, target } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { randomRedisPrefix, startTestRelay, TEST_REDIS_URL, type TestRelay } from '../../test/support/relay.js';
import type { Sql } from '../store/db.js';

/** Puts an envelope into a device's queue as a sender's INSERT would (at `position`, if one was taken earlier). */
async function insertEnvelope(q: Sql, accountId: string, content: string, position?: string): Promise<string> {
  const guid = crypto.randomUUID();
  await q`INSERT INTO envelopes (id, guid, account_id, device_id, type, client_timestamp, server_timestamp, expires_at, content)
          VALUES (COALESCE(${position ?? null}::bigint, nextval('envelopes_id_seq')), ${guid}, ${accountId}, 1, 'whisper',
                  1, 1, ${Date.now() + 60_000}, ${Buffer.from(content)})`;
  return guid;
}

const fx = useRelay({
  env: {
    WS_AUTH_TIMEOUT_MS: '300',
    WS_MAX_IN_FLIGHT: '5',
    WS_HEARTBEAT_MS: '200',
    CORS_ORIGINS: 'https://app.example',
  },
});

describe('GET /v1/ws', () => {
  it('sends ready, the queue in order, queue_empty, then live envelopes', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const sent = [];
    for (let i = 0; i < 3; i++) {
      sent.push((await sendTo(alice, target(bob), Buffer.from(`m${i}`).toString('base64'))).body.messages[0]?.guid);
    }
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(socket.frames.map((f) => f.type)).toEqual(['ready', 'envelope', 'envelope', 'envelope', 'queue_empty']);
    expect(socket.envelopes().map((e) => e.guid)).toEqual(sent);
    const live = await sendTo(alice, target(bob));
    await socket.waitForEnvelopes(4);
    expect(socket.envelopes()[3]?.guid).toBe(live.body.messages[0]?.guid);
    socket.close();
  });

  it('authenticates with a first auth frame and answers pings', async () => {
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.open(fx.relay.wsUrl, { authFrame: bob.accessToken });
    await socket.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
    expect(socket.frames[0]).toEqual({ type: 'ready', accountId: bob.accountId, deviceId: 1 });
    socket.sendFrame({ type: 'ping', id: 7 });
    await socket.waitFor((f) => f.some((x) => x.type === 'pong'));
    expect(socket.frames.at(-1)).toEqual({ type: 'pong', id: 7 });
    socket.close();
  });

  it('closes with authTimeout when no auth frame comes, and unauthorized for a bad token', async () => {
    const silent = await SocketClient.open(fx.relay.wsUrl);
    expect(await silent.waitClosed()).toBe(CloseCode.authTimeout);
    const bad = await SocketClient.open(fx.relay.wsUrl, { authFrame: 'not.a.token' });
    expect(await bad.waitClosed()).toBe(CloseCode.unauthorized);
    await expect(SocketClient.open(fx.relay.wsUrl, { token: 'not.a.token' })).rejects.toThrow(/401/);
  });

  it('refuses a browser origin that is not allowed with 403, accepts an allowed one', async () => {
    const bob = await registerDevice(fx.relay.url);
    await expect(
      SocketClient.open(fx.relay.wsUrl, { token: bob.accessToken, headers: { origin: 'https://evil.example' } }),
    ).rejects.toThrow(/403/);
    const ok = await SocketClient.open(fx.relay.wsUrl, {
      token: bob.accessToken,
      headers: { origin: 'https://app.example' },
    });
    await ok.waitFor((f) => f.some((x) => x.type === 'ready'));
    ok.close();
  });

  it('closes with badFrame on an invalid frame and 1009 on an oversized one', async () => {
    const bob = await registerDevice(fx.relay.url);
    const invalid = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    invalid.sendFrame({ type: 'ack', guids: ['nope'] });
    expect(await invalid.waitClosed()).toBe(CloseCode.badFrame);
    const big = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    big.ws.send('x'.repeat(MAX_CLIENT_FRAME_BYTES + 1));
    expect(await big.waitClosed()).toBe(CloseCode.tooBig);
  });

  it('closes the older socket of a device with connectedElsewhere', async () => {
    const bob = await registerDevice(fx.relay.url);
    const first = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const second = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(await first.waitClosed()).toBe(CloseCode.connectedElsewhere);
    expect(second.closeCode).toBeUndefined();
    second.close();
  });

  it('keeps at most the in-flight window unacked, sends more after acks, and acks delete', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    for (let i = 0; i < 8; i++) {
      await sendTo(alice, target(bob));
    }
    const socket = await SocketClient.open(fx.relay.wsUrl, { token: bob.accessToken });
    await socket.waitForEnvelopes(5);
    await new Promise((r) => setTimeout(r, 200));
    expect(socket.envelopes()).toHaveLength(5);
    expect(socket.frames.some((f) => f.type === 'queue_empty')).toBe(false);
    socket.ack(socket.envelopes().map((e) => e.guid));
    await socket.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
    expect(socket.envelopes()).toHaveLength(8);
    socket.ack(
      socket
        .envelopes()
        .slice(5)
        .map((e) => e.guid),
    );
    await socket.sync();
    socket.close();
    await socket.closed;
    const again = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(again.envelopes()).toEqual([]);
    again.close();
  });

  it('still delivers an envelope whose transaction committed after a later one', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const { sql, fanout } = fx.relay.relay.services;
    const slow = await sql.reserve();
    let slowGuid = '';
    try {
      // A slow sender's INSERT takes its queue position first but commits last.
      await slow`BEGIN`;
      slowGuid = await insertEnvelope(slow, bob.accountId, 'slow');
      const fast = await sendTo(alice, target(bob));
      await socket.waitForEnvelopes(1);
      expect(socket.envelopes()[0]?.guid).toBe(fast.body.messages[0]?.guid);
      await slow`COMMIT`;
    } finally {
      slow.release();
    }
    await fanout.publish({ accountId: bob.accountId, deviceId: 1 }, { kind: 'mail' });
    await socket.waitForEnvelopes(2);
    expect(socket.envelopes()[1]?.guid).toBe(slowGuid);
    socket.close();
  });

  it('reads on from where a full batch ended, but finds a position that committed late before queue_empty', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const { sql } = fx.relay.relay.services;
    // A slow sender takes its queue position before the others and commits only after bob read past it.
    const [{ id: latePosition } = { id: '0' }] = await sql<
      { id: string }[]
    >`SELECT nextval('envelopes_id_seq')::text AS id`;
    for (let i = 0; i < 8; i++) {
      await sendTo(alice, target(bob));
    }
    const socket = await SocketClient.open(fx.relay.wsUrl, { token: bob.accessToken });
    await socket.waitForEnvelopes(5);
    const lateGuid = await insertEnvelope(sql, bob.accountId, 'late', latePosition);
    socket.ack(socket.envelopes().map((e) => e.guid));
    await socket.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
    const beforeEmpty = socket.frames.slice(
      0,
      socket.frames.findIndex((f) => f.type === 'queue_empty'),
    );
    expect(beforeEmpty.filter((f) => f.type === 'envelope')).toHaveLength(9);
    expect(socket.envelopes().map((e) => e.guid)).toContain(lateGuid);
    socket.close();
  });

  it('never sends an envelope twice when its copy arrives after a queue read delivered it and it was acked', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const { sql, fanout } = fx.relay.relay.services;
    await sendTo(alice, target(bob));
    await socket.waitForEnvelopes(1);
    const envelope = socket.envelopes()[0];
    const [row] = await sql<{ id: string }[]>`SELECT id::text FROM envelopes WHERE guid = ${envelope?.guid ?? ''}`;
    socket.ack([envelope?.guid as string]);
    await socket.sync();
    // The doorbell's copy comes in late (from another instance, through a busy Redis).
    fanout.deliverLocal(
      { accountId: bob.accountId, deviceId: 1 },
      { kind: 'mail', queued: { id: Number(row?.id), envelope: envelope as NonNullable<typeof envelope> } },
    );
    await socket.sync();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.envelopes()).toHaveLength(1);
    socket.close();
  });

  it("cannot ack another device's envelopes", async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const eve = await registerDevice(fx.relay.url);
    const guid = (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;
    const eveSocket = await SocketClient.connect(fx.relay.wsUrl, eve.accessToken);
    eveSocket.ack([guid]);
    await eveSocket.sync();
    eveSocket.close();
    const bobSocket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(bobSocket.envelopes().map((e) => e.guid)).toEqual([guid]);
    bobSocket.close();
  });

  it('terminates a socket that stops answering pings', async () => {
    const bob = await registerDevice(fx.relay.url);
    // A raw client that completes the handshake and then never answers the heartbeat pings.
    const raw = connect(fx.relay.port, '127.0.0.1');
    raw.write(
      [
        'GET /v1/ws HTTP/1.1',
        `Host: 127.0.0.1:${fx.relay.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        `Authorization: Bearer ${bob.accessToken}`,
        '',
        '',
      ].join('\r\n'),
    );
    raw.on('data', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      raw.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(closed).toBe(true);
  });
});

// A paused socket cannot read the pongs of the heartbeat: these sockets are held longer than the file's 200 ms.
describe('GET /v1/ws, when Postgres fails a statement once', () => {
  const prefix = randomRedisPrefix();
  const once = useRelay({ redisUrl: TEST_REDIS_URL, redisPrefix: prefix, env: { WS_HEARTBEAT_MS: '60000' } });
  /** Another instance, where alice sends: its doorbells reach bob's socket through Redis. */
  let other: TestRelay;
  beforeAll(async () => {
    other = await startTestRelay({ databaseUrl: once.db.url, redisUrl: TEST_REDIS_URL, redisPrefix: prefix });
  });
  afterAll(async () => {
    await other?.close();
  });
  /** Content too large to travel with its doorbell to another instance: the recipient's socket reads its queue. */
  const large = () => randomBytes(9000).toString('base64');
  const connected = async (device: TestDevice) => {
    const socket = await SocketClient.connect(once.relay.wsUrl, device.accessToken);
    await new Promise((r) => setTimeout(r, 300)); // its channel listens, and copies are trusted
    return socket;
  };

  it('never sends an envelope again on the socket whose ack failed to commit; the ack is tried again', async () => {
    const alice = await registerDevice(other.url);
    const bob = await registerDevice(once.relay.url);
    const first = (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;
    const socket = await connected(bob);
    const { acks } = once.relay.relay.services;
    const remove = acks.delete.bind(acks);
    let failed = 0;
    acks.delete = async (...args) => {
      if (failed++ === 0) {
        throw new Error('connection to Postgres lost');
      }
      return remove(...args);
    };
    try {
      socket.ack([first]);
      await new Promise((r) => setTimeout(r, 100));
      const second = (await sendTo(alice, target(bob), large())).body.messages[0]?.guid as string;
      await socket.waitForEnvelopes(2);
      await new Promise((r) => setTimeout(r, 300));
      expect(socket.envelopes().map((e) => e.guid)).toEqual([first, second]);
      await expect
        .poll(async () => (await once.relay.relay.services.sql`SELECT 1 FROM envelopes WHERE guid = ${first}`).length)
        .toBe(0);
    } finally {
      acks.delete = remove;
      socket.close();
    }
  });

  it('reads on and answers sends while acks keep failing (more than the socket may have in flight)', async () => {
    const alice = await registerDevice(other.url);
    const bob = await registerDevice(once.relay.url);
    const socket = await connected(bob);
    for (let i = 0; i < 10; i++) {
      await sendTo(alice, target(bob));
    }
    await socket.waitForEnvelopes(10);
    const { acks } = once.relay.relay.services;
    const remove = acks.delete.bind(acks);
    let failing = true;
    acks.delete = async (...args) => {
      if (failing) {
        throw new Error('connection to Postgres lost');
      }
      return remove(...args);
    };
    try {
      for (const envelope of socket.envelopes()) {
        socket.ack([envelope.guid]);
      }
      // Ten acks retrying (the socket stops reading beyond 8 being committed): a send is still answered.
      const reply = await socket.send(target(alice));
      expect(reply.type).toBe('send_result');
      failing = false;
      await expect
        .poll(
          async () =>
            (await once.relay.relay.services.sql`SELECT 1 FROM envelopes WHERE account_id = ${bob.accountId}`).length,
          { timeout: 5000 },
        )
        .toBe(0);
    } finally {
      failing = false;
      acks.delete = remove;
      socket.close();
    }
  });

  it('keeps the order when a queue read failed and a later message came as a copy meanwhile', async () => {
    const alice = await registerDevice(other.url);
    const bob = await registerDevice(once.relay.url);
    const socket = await connected(bob);
    const { lookups } = once.relay.relay.services;
    const read = lookups.readQueue.bind(lookups);
    let failed = 0;
    lookups.readQueue = async (...args) => {
      if (failed++ === 0) {
        throw new Error('connection to Postgres lost');
      }
      return read(...args);
    };
    try {
      const older = (await sendTo(alice, target(bob), large())).body.messages[0]?.guid as string;
      await expect.poll(() => failed).toBeGreaterThan(0);
      const newer = (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;
      await socket.waitForEnvelopes(2);
      expect(socket.envelopes().map((e) => e.guid)).toEqual([older, newer]);
    } finally {
      lookups.readQueue = read;
      socket.close();
    }
  });
});

describe('GET /v1/ws, acks that cannot commit yet', () => {
  const held = useRelay({ env: { WS_HEARTBEAT_MS: '60000' } });

  /** Bob's socket with one envelope from alice, whose row another transaction holds: an ack of it cannot commit. */
  async function socketWithHeldEnvelope() {
    const alice = await registerDevice(held.relay.url);
    const bob = await registerDevice(held.relay.url);
    const guid = (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;
    const socket = await SocketClient.connect(held.relay.wsUrl, bob.accessToken);
    expect(socket.envelopes().map((e) => e.guid)).toEqual([guid]);
    const holder = await held.relay.relay.services.sql.reserve();
    await holder`BEGIN`;
    await holder`SELECT 1 FROM envelopes WHERE guid = ${guid} FOR UPDATE`;
    const release = async () => {
      await holder`COMMIT`;
      holder.release();
    };
    return { alice, guid, socket, release };
  }

  it('answers a send that follows an ack without waiting for the ack to commit; a pong waits for it', async () => {
    const { alice, guid, socket, release } = await socketWithHeldEnvelope();
    try {
      socket.ack([guid]);
      socket.sendFrame({ type: 'ping', id: 1 });
      const reply = await socket.send(target(alice));
      expect(reply.type).toBe('send_result');
      await new Promise((r) => setTimeout(r, 100));
      expect(socket.frames.some((f) => f.type === 'pong')).toBe(false);
    } finally {
      await release();
    }
    await socket.waitFor((f) => f.some((x) => x.type === 'pong' && x.id === 1));
    expect(await held.relay.relay.services.sql`SELECT 1 FROM envelopes WHERE guid = ${guid}`).toHaveLength(0);
    socket.close();
  });

  it('stops reading a socket whose acks cannot commit, and reads on once they do', async () => {
    const { alice, guid, socket, release } = await socketWithHeldEnvelope();
    let reply: ReturnType<SocketClient['send']>;
    try {
      // Acks beyond the per-socket limit (8 being deleted) are not handled, nor anything after them, even
      // when they all arrive in one TCP chunk (corked here; under load that happens by itself).
      const tcp = (socket.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      tcp.cork();
      for (let i = 0; i < 12; i++) {
        socket.ack([guid]);
      }
      reply = socket.send(target(alice));
      tcp.uncork();
      await new Promise((r) => setTimeout(r, 300));
      expect(socket.frames.some((f) => f.type === 'send_result')).toBe(false);
    } finally {
      await release();
    }
    expect((await reply).type).toBe('send_result');
    socket.close();
  });
});
