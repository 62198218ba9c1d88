import type { ErrorBody } from '@sotto/shared-types';
import { afterAll, describe, expect, it } from 'vitest';
import { addDevice, api, errorCode, registerDevice, SocketClient, sendTo, target } from '../../test/support/client.js';
import { createTestDatabase } from '../../test/support/database.js';
import { useRelay } from '../../test/support/fixture.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

const fx = useRelay({ env: { MAX_BODY_BYTES: '4096' } });
const limited = useRelay({ env: { RATE_SEND_POINTS: '2' } });

describe('PUT /v1/messages/:accountId', () => {
  it('queues one envelope per device and answers guids and the server time', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const bob2 = await addDevice(bob, 3001);
    const before = Date.now();
    const r = await sendTo(alice, {
      accountId: bob.accountId,
      devices: [
        { deviceId: 1, registrationId: bob.registrationId },
        { deviceId: 2, registrationId: 3001 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.messages.map((m) => m.destinationDeviceId)).toEqual([1, 2]);
    expect(new Set(r.body.messages.map((m) => m.guid)).size).toBe(2);
    expect(r.body.messages[0]?.serverTimestamp).toBeGreaterThanOrEqual(before);

    const socket = await SocketClient.connect(fx.relay.wsUrl, bob2.accessToken);
    expect(socket.envelopes()).toEqual([
      expect.objectContaining({
        guid: r.body.messages[1]?.guid,
        sourceAccountId: alice.accountId,
        sourceDeviceId: 1,
        destinationDeviceId: 2,
        type: 'whisper',
      }),
    ]);
    socket.close();
  });

  it('omits the sender of sealed envelopes', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    expect((await sendTo(alice, target(bob), undefined, { type: 'sealed' })).status).toBe(200);
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    const [envelope] = socket.envelopes();
    expect(envelope?.type).toBe('sealed');
    expect(envelope?.sourceAccountId).toBeUndefined();
    expect(envelope?.sourceDeviceId).toBeUndefined();
    socket.close();
  });

  it('answers 409 with missing and extra devices, and stores nothing', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    await addDevice(bob, 3002);
    const r = await api<ErrorBody>(fx.relay.url, 'PUT', `/v1/messages/${bob.accountId}`, {
      token: alice.accessToken,
      body: {
        timestamp: 1,
        messages: [
          { destinationDeviceId: 1, destinationRegistrationId: bob.registrationId, type: 'whisper', content: 'AAAA' },
          { destinationDeviceId: 5, destinationRegistrationId: 1, type: 'whisper', content: 'AAAA' },
        ],
      },
    });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'stale_devices', missingDevices: [2], extraDevices: [5] });
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(socket.envelopes()).toEqual([]);
    socket.close();
  });

  it('answers 410 with the re-registered devices', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const r = await sendTo(alice, {
      accountId: bob.accountId,
      devices: [{ deviceId: 1, registrationId: bob.registrationId + 1 }],
    });
    expect(r.status).toBe(410);
    expect((r.body as unknown as ErrorBody).error).toMatchObject({ code: 'stale_registration', staleDevices: [1] });
  });

  it('answers 409 or 404, never 500, when a device or the account went away after its list was cached', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    await addDevice(bob, 3004);
    const both = {
      accountId: bob.accountId,
      devices: [
        { deviceId: 1, registrationId: bob.registrationId },
        { deviceId: 2, registrationId: 3004 },
      ],
    };
    // Fills the relay's cache of bob's device list.
    expect((await sendTo(alice, both)).status).toBe(200);
    // Removed behind the relay's back, as if the change were not announced yet: the cached list still has it.
    const { sql } = fx.relay.relay.services;
    await sql`DELETE FROM devices WHERE account_id = ${bob.accountId} AND device_id = 2`;
    const stale = await sendTo(alice, both);
    expect(stale.status).toBe(409);
    expect((stale.body as unknown as ErrorBody).error).toMatchObject({
      code: 'stale_devices',
      missingDevices: [],
      extraDevices: [2],
    });
    // The fresh list is what later sends see too.
    expect((await sendTo(alice, target(bob))).status).toBe(200);
    await sql`DELETE FROM accounts WHERE id = ${bob.accountId}`;
    const gone = await sendTo(alice, target(bob));
    expect(gone.status).toBe(404);
    expect(errorCode(gone)).toBe('not_found');
  });

  it('sends to my other devices but never to the sending device', async () => {
    const me = await registerDevice(fx.relay.url);
    const other = await addDevice(me, 3003);
    expect((await sendTo(me, target(other))).status).toBe(200);
    const toSelf = await sendTo(me, target(me));
    expect(toSelf.status).toBe(409);
    expect((toSelf.body as unknown as ErrorBody).error).toMatchObject({ missingDevices: [2], extraDevices: [1] });
  });

  it('answers 400, 401, 404 and 413 on bad sends', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const bad = await api<ErrorBody>(fx.relay.url, 'PUT', `/v1/messages/${bob.accountId}`, {
      token: alice.accessToken,
      body: {
        timestamp: 1,
        messages: [{ destinationDeviceId: 1, destinationRegistrationId: 1, type: 'x', content: '!' }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual(expect.arrayContaining(['messages.0.type', 'messages.0.content']));
    expect((await api(fx.relay.url, 'PUT', `/v1/messages/${bob.accountId}`, { body: {} })).status).toBe(401);
    const nobody = await sendTo(alice, {
      accountId: crypto.randomUUID(),
      devices: [{ deviceId: 1, registrationId: 1 }],
    });
    expect(nobody.status).toBe(404);
    const huge = await sendTo(alice, target(bob), Buffer.alloc(6000).toString('base64'));
    expect(huge.status).toBe(413);
    expect(errorCode(huge)).toBe('payload_too_large');
  });

  it('delivers online (ephemeral) messages only to connected devices and never queues them', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    expect((await sendTo(alice, target(bob), 'b2ZmbGluZQ==', { online: true })).status).toBe(200);
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    expect(socket.envelopes()).toEqual([]);
    await sendTo(alice, target(bob), 'b25saW5l', { online: true });
    await socket.waitForEnvelopes(1);
    expect(socket.envelopes()[0]?.content).toBe('b25saW5l');
    socket.close();
  });

  it('rate-limits sends per device with 429', async () => {
    const alice = await registerDevice(limited.relay.url);
    const bob = await registerDevice(limited.relay.url);
    await sendTo(alice, target(bob));
    await sendTo(alice, target(bob));
    const r = await sendTo(alice, target(bob));
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });
});

describe('when Postgres goes away', () => {
  let relay: TestRelay | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await relay?.close();
    await drop?.();
  });

  it('answers 503 unavailable to sends, never a 2xx, and /readyz says so', async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const proxy = await TcpProxy.start(5432);
    const url = new URL(db.url);
    url.port = String(proxy.port);
    relay = await startTestRelay({ databaseUrl: url.toString() });
    const alice = await registerDevice(relay.url);
    const bob = await registerDevice(relay.url);
    expect((await sendTo(alice, target(bob))).status).toBe(200);
    expect((await api(relay.url, 'GET', '/readyz')).status).toBe(200);

    await proxy.cut();
    const r = await sendTo(alice, target(bob));
    expect(r.status).toBe(503);
    expect(errorCode(r)).toBe('unavailable');
    const ready = await api<{ status: string; checks: Record<string, string> }>(relay.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.postgres).toBe('down');
  });
});
