import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { CloseCode, MAX_ENVELOPE_BYTES, MAX_SENDS_IN_FLIGHT } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { addDevice, api, registerDevice, SocketClient, sendTo, target } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { MAX_EPHEMERAL_BACKLOG_BYTES } from './session.js';

const METRICS_TOKEN = 'metrics-token-0123456789';
const fx = useRelay({ env: { RATE_SEND_POINTS: '400', RATE_SEND_WINDOW: '60', METRICS_TOKEN } });

const queued = async (accountId: string) => {
  const [row] = await fx.relay.relay.services.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM envelopes WHERE account_id = ${accountId}`;
  return row?.n ?? 0;
};

describe('send frames on the socket', () => {
  it('commits, answers with the guid, delivers to the recipient at once, and keeps it queued until acked', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const aliceSocket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);
    const bobSocket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);

    const result = await aliceSocket.send(target(bob), 'AAECAw==');
    expect(result.type).toBe('send_result');
    const guid = result.type === 'send_result' ? result.body.messages[0]?.guid : undefined;
    await bobSocket.waitForEnvelopes(1);
    expect(bobSocket.envelopes()[0]).toMatchObject({
      guid,
      sourceAccountId: alice.accountId,
      sourceDeviceId: 1,
      destinationDeviceId: 1,
      content: 'AAECAw==',
    });
    expect(await queued(bob.accountId)).toBe(1);
    bobSocket.ack([guid as string]);
    await bobSocket.sync();
    expect(await queued(bob.accountId)).toBe(0);
    aliceSocket.close();
    bobSocket.close();
  });

  it('answers 409, 410, 404 and 400 (with field paths) like the PUT, stores nothing, and stays open', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    await addDevice(bob);
    const socket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);

    const stale = await socket.send(target(bob));
    expect(stale).toMatchObject({ type: 'send_error', status: 409, body: { error: { code: 'stale_devices' } } });
    expect(stale.type === 'send_error' && stale.body.error.missingDevices).toEqual([2]);

    const reregistered = await socket.send({
      accountId: bob.accountId,
      devices: [
        { deviceId: 1, registrationId: bob.registrationId + 1 },
        { deviceId: 2, registrationId: 4242 },
      ],
    });
    expect(reregistered).toMatchObject({ type: 'send_error', status: 410 });
    expect(reregistered.type === 'send_error' && reregistered.body.error.staleDevices).toEqual([1]);

    const nobody = await socket.send({ ...target(bob), accountId: '00000000-0000-4000-8000-000000000000' });
    expect(nobody).toMatchObject({ type: 'send_error', status: 404, body: { error: { code: 'not_found' } } });

    socket.sendFrame({
      type: 'send',
      id: 99,
      destination: bob.accountId,
      request: { timestamp: 1, messages: [{ destinationDeviceId: 1, destinationRegistrationId: 1, type: 'whisper' }] },
    });
    await socket.waitFor((f) => f.some((x) => x.type === 'send_error' && x.id === 99));
    const invalid = socket.frames.find((x) => x.type === 'send_error' && x.id === 99);
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(invalid?.type === 'send_error' && invalid.body.error.fields).toContain('request.messages.0.content');

    expect(await queued(bob.accountId)).toBe(0);
    const metrics = await (
      await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    for (const status of ['400', '404', '409', '410']) {
      expect(metrics).toMatch(new RegExp(`sotto_socket_sends_total\\{status="${status}"\\} [1-9]`));
    }
    await socket.sync();
    expect(socket.closeCode).toBeUndefined();
    socket.close();
  });

  it('sees a device added or removed at once, even right after sends to the same account', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);
    for (let i = 0; i < 3; i++) {
      expect((await socket.send(target(bob))).type).toBe('send_result');
    }
    const bob2 = await addDevice(bob, 777);
    const missing = await socket.send(target(bob));
    expect(missing.type === 'send_error' && missing.body.error.missingDevices).toEqual([2]);
    const both = {
      accountId: bob.accountId,
      devices: [
        { deviceId: 1, registrationId: bob.registrationId },
        { deviceId: 2, registrationId: 777 },
      ],
    };
    expect((await socket.send(both)).type).toBe('send_result');
    expect((await api(bob.baseUrl, 'DELETE', '/v1/devices/2', { token: bob.accessToken })).status).toBe(204);
    const extra = await socket.send(both);
    expect(extra.type === 'send_error' && extra.body.error.extraDevices).toEqual([bob2.deviceId]);
    socket.close();
  });

  it(`answers every one of many pipelined sends (more than ${MAX_SENDS_IN_FLIGHT} at once) and delivers them all`, async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const aliceSocket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);
    const bobSocket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const count = MAX_SENDS_IN_FLIGHT * 3;
    const results = await Promise.all(Array.from({ length: count }, () => aliceSocket.send(target(bob))));
    expect(results.every((r) => r.type === 'send_result')).toBe(true);
    const guids = new Set(results.map((r) => (r.type === 'send_result' ? r.body.messages[0]?.guid : '')));
    expect(guids.size).toBe(count);
    // The window is smaller than the burst: acks make room for the rest.
    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (seen.size < count && Date.now() < deadline) {
      const fresh = bobSocket
        .envelopes()
        .map((e) => e.guid)
        .filter((g) => !seen.has(g));
      for (const g of fresh) {
        seen.add(g);
      }
      if (fresh.length > 0) {
        bobSocket.ack(fresh);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toEqual(guids);
    aliceSocket.close();
    bobSocket.close();
  });

  it('answers 429 with rate_limited once the send budget is spent', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);
    const results = await Promise.all(Array.from({ length: 420 }, () => socket.send(target(bob))));
    const limited = results.filter((r) => r.type === 'send_error');
    expect(limited.length).toBe(20);
    expect(limited[0]).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(limited[0]?.type === 'send_error' && limited[0].retryAfter).toBeGreaterThan(0);
    expect(await queued(bob.accountId)).toBe(400);
    socket.close();
  });

  it('shares the limit with the device\u2019s HTTP sends: prepaid socket sends never exceed it, and lose at most a chunk', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    for (let i = 0; i < 10; i++) {
      expect((await sendTo(alice, target(bob))).status).toBe(200);
    }
    const socket = await SocketClient.connect(fx.relay.wsUrl, alice.accessToken);
    const results = await Promise.all(Array.from({ length: 400 }, () => socket.send(target(bob))));
    const accepted = results.filter((r) => r.type === 'send_result').length;
    // 400 points: 10 went to the PUTs, the socket prepays 4 at a time (400 / 100), so the last chunk may not fit.
    expect(accepted).toBeLessThanOrEqual(390);
    expect(accepted).toBeGreaterThanOrEqual(390 - 3);
    expect(
      results.filter((r) => r.type === 'send_error').every((r) => r.type === 'send_error' && r.status === 429),
    ).toBe(true);
    expect(await queued(bob.accountId)).toBe(10 + accepted);
    socket.close();
  });

  it('drops online envelopes for a socket that stops reading instead of buffering them without bound', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const victim = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const session = fx.relay.relay.sockets.sessions().find((s) => s.device?.accountId === bob.accountId);
    const tcp = (victim.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    // 80 of the largest envelopes, about 27 MB: far more than the kernel's socket buffers hold.
    const content = randomBytes(MAX_ENVELOPE_BYTES).toString('base64');
    for (let i = 0; i < 80; i++) {
      expect((await sendTo(alice, target(bob), content, { online: true })).status).toBe(200);
    }
    // At most one envelope beyond the bound was accepted into the relay's buffer.
    expect(session?.bufferedBytes).toBeLessThan(MAX_EPHEMERAL_BACKLOG_BYTES + 2 * MAX_ENVELOPE_BYTES);
    const metrics = await (
      await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/sotto_ephemeral_dropped_total [1-9]/);
    // Reading again, the socket gets what was not dropped and works on.
    tcp.resume();
    await victim.sync();
    expect(victim.envelopes().length).toBeGreaterThan(0);
    expect(victim.closeCode).toBeUndefined();
    victim.close();
  });

  it('closes a socket that sends before authenticating', async () => {
    const bob = await registerDevice(fx.relay.url);
    const socket = await SocketClient.open(fx.relay.wsUrl);
    socket.sendFrame({
      type: 'send',
      id: 1,
      destination: bob.accountId,
      request: {
        timestamp: 1,
        messages: [
          { destinationDeviceId: 1, destinationRegistrationId: bob.registrationId, type: 'whisper', content: 'AA==' },
        ],
      },
    });
    expect(await socket.waitClosed()).toBe(CloseCode.unauthorized);
    expect(await queued(bob.accountId)).toBe(0);
  });
});
