import { CloseCode, type DeviceListResponse, type ErrorBody, type KeyCountResponse } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import {
  addDevice,
  api,
  errorCode,
  newDeviceSecret,
  registerDevice,
  SocketClient,
  sendTo,
} from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { generateKeys } from '../../test/support/keys.js';

const fx = useRelay({ env: { MAX_DEVICES_PER_ACCOUNT: '3' } });

describe('/v1/devices', () => {
  it('adds and lists devices', async () => {
    const owner = await registerDevice(fx.relay.url);
    const second = await addDevice(owner, 555);
    expect(second.deviceId).toBe(2);
    const list = await api<DeviceListResponse>(fx.relay.url, 'GET', '/v1/devices', { token: second.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.devices.map((d) => [d.deviceId, d.registrationId])).toEqual([
      [1, owner.registrationId],
      [2, 555],
    ]);
  });

  it('refuses more devices than the limit with 403 device_limit', async () => {
    const owner = await registerDevice(fx.relay.url);
    await addDevice(owner);
    await addDevice(owner);
    const r = await api(fx.relay.url, 'POST', '/v1/devices', {
      token: owner.accessToken,
      body: { deviceSecret: newDeviceSecret(), registrationId: 9 },
    });
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('device_limit');
  });

  it('validates input (400) and needs a token (401)', async () => {
    const owner = await registerDevice(fx.relay.url);
    const bad = await api(fx.relay.url, 'POST', '/v1/devices', {
      token: owner.accessToken,
      body: { deviceSecret: 'short' },
    });
    expect(bad.status).toBe(400);
    expect((await api(fx.relay.url, 'GET', '/v1/devices')).status).toBe(401);
    expect((await api(fx.relay.url, 'DELETE', '/v1/devices/abc', { token: owner.accessToken })).status).toBe(400);
  });

  it('removes a device: its token stops working at once and its socket closes', async () => {
    const owner = await registerDevice(fx.relay.url);
    const second = await addDevice(owner);
    const socket = await SocketClient.connect(fx.relay.wsUrl, second.accessToken);
    const del = await api(fx.relay.url, 'DELETE', `/v1/devices/${second.deviceId}`, { token: owner.accessToken });
    expect(del.status).toBe(204);
    expect(await socket.waitClosed()).toBe(CloseCode.revoked);
    expect((await api(fx.relay.url, 'GET', '/v1/devices', { token: second.accessToken })).status).toBe(401);
    const again = await api(fx.relay.url, 'DELETE', `/v1/devices/${second.deviceId}`, { token: owner.accessToken });
    expect(again.status).toBe(404);
  });
  it('gives a new device the lowest free id, with nothing left of the removed device that had it', async () => {
    const owner = await registerDevice(fx.relay.url);
    const alice = await registerDevice(fx.relay.url);
    const second = await addDevice(owner, 555);
    const third = await addDevice(owner, 556);
    expect([second.deviceId, third.deviceId]).toEqual([2, 3]);
    const keys = generateKeys(2);
    expect((await api(fx.relay.url, 'PUT', '/v1/keys', { token: second.accessToken, body: keys.upload })).status).toBe(
      204,
    );
    const all = (regOf2: number) => ({
      accountId: owner.accountId,
      devices: [
        { deviceId: 1, registrationId: owner.registrationId },
        { deviceId: 2, registrationId: regOf2 },
        { deviceId: 3, registrationId: 556 },
      ],
    });
    expect((await sendTo(alice, all(555))).status).toBe(200);
    const removed = await api(fx.relay.url, 'DELETE', '/v1/devices/2', { token: owner.accessToken });
    expect(removed.status).toBe(204);

    const again = await addDevice(owner, 777);
    expect(again.deviceId).toBe(2);
    // The old device's queue and keys went with it.
    const socket = await SocketClient.connect(fx.relay.wsUrl, again.accessToken);
    expect(socket.envelopes()).toEqual([]);
    socket.close();
    const count = await api<KeyCountResponse>(fx.relay.url, 'GET', '/v1/keys/count', { token: again.accessToken });
    expect(count.body).toEqual({ preKeys: 0, kyberPreKeys: 0, preKeyIds: [], kyberPreKeyIds: [] });
    // A sender with a session for the old device learns it was replaced.
    const stale = await sendTo(alice, all(555));
    expect(stale.status).toBe(410);
    expect((stale.body as unknown as ErrorBody).error).toMatchObject({ staleDevices: [2] });
    expect((await sendTo(alice, all(777))).status).toBe(200);
    // The old device's token does not come back to life with the id.
    expect((await api(fx.relay.url, 'GET', '/v1/devices', { token: second.accessToken })).status).toBe(401);
  });

  it('still adds a device after more add and remove cycles than there are device ids', async () => {
    const owner = await registerDevice(fx.relay.url);
    for (let i = 0; i < 130; i++) {
      const added = await api<{ deviceId: number }>(fx.relay.url, 'POST', '/v1/devices', {
        token: owner.accessToken,
        body: { deviceSecret: newDeviceSecret(), registrationId: 100 + i },
      });
      expect(added.status).toBe(200);
      expect(added.body.deviceId).toBe(2);
      const removed = await api(fx.relay.url, 'DELETE', '/v1/devices/2', { token: owner.accessToken });
      expect(removed.status).toBe(204);
    }
    const last = await addDevice(owner, 999);
    expect(last.deviceId).toBe(2);
  });
});
