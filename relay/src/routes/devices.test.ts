import { CloseCode, type DeviceListResponse } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { addDevice, api, errorCode, newDeviceSecret, registerDevice, SocketClient } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';

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
});
