import type { DeviceListResponse, KeyCountResponse, PreKeyBundleResponse, WhoAmIResponse } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { addDevice, api, registerDevice, SocketClient, sendTo, type TestDevice } from '../support/client.js';
import { generateKeys } from '../support/keys.js';
import { recordFigures } from './support/profile.js';
import { useRelayProcess } from './support/relay-fixture.js';

const fx = useRelayProcess({ env: { LOG_LEVEL: 'warn' } });

const upload = async (d: TestDevice, keys: ReturnType<typeof generateKeys>) =>
  expect((await api(fx.relay.url, 'PUT', '/v1/keys', { token: d.accessToken, body: keys.upload })).status).toBe(204);

describe('another account\u2019s ids (IDOR)', () => {
  it('refuses every route tried with the victim\u2019s ids and leaks nothing of the victim', async () => {
    const attacker = await registerDevice(fx.relay.url);
    const victim = await registerDevice(fx.relay.url);
    const victim2 = await addDevice(victim, 777);
    const carol = await registerDevice(fx.relay.url);
    const victimKeys = generateKeys(5);
    await upload(attacker, generateKeys(2));
    await upload(victim, victimKeys);
    await upload(victim2, generateKeys(5, victimKeys.identity, 100));
    // The victim's queue: three envelopes from Carol.
    const guids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await sendTo(carol, {
        accountId: victim.accountId,
        devices: [victim, victim2].map((d) => ({ deviceId: d.deviceId, registrationId: d.registrationId })),
      });
      guids.push(r.body.messages.find((m) => m.destinationDeviceId === 1)?.guid as string);
    }
    const victimCount = (
      await api<KeyCountResponse>(fx.relay.url, 'GET', '/v1/keys/count', { token: victim.accessToken })
    ).body;
    const attackerCount = (
      await api<KeyCountResponse>(fx.relay.url, 'GET', '/v1/keys/count', { token: attacker.accessToken })
    ).body;

    const refused: { name: string; ok: boolean; body: unknown }[] = [];
    const check = (name: string, ok: boolean, body: unknown = undefined) => refused.push({ name, ok, body });
    const as = (method: string, path: string, body?: unknown) =>
      api(fx.relay.url, method, path, { token: attacker.accessToken, ...(body === undefined ? {} : { body }) });

    // 1. Acking the victim's GUIDs on the attacker's own socket deletes nothing.
    const socket = await SocketClient.connect(fx.relay.wsUrl, attacker.accessToken);
    socket.ack(guids);
    await socket.sync();
    check('ack another device\u2019s GUIDs', socket.envelopes().length === 0 && socket.closeCode === undefined);
    socket.close();
    // 2. Socket URL parameters do not select another device.
    const sneaky = await SocketClient.connect(
      `${fx.relay.wsUrl}?accountId=${victim.accountId}&deviceId=1`,
      attacker.accessToken,
    );
    const ready = sneaky.frames.find((f) => f.type === 'ready');
    check(
      'socket with the victim\u2019s ids in the URL',
      ready?.type === 'ready' && ready.accountId === attacker.accountId && sneaky.envelopes().length === 0,
      sneaky.frames,
    );
    sneaky.close();
    // 3. Deleting device 2 means the attacker's own device 2 (there is none), never the victim's.
    const del = await as('DELETE', `/v1/devices/${victim2.deviceId}`);
    check('delete the victim\u2019s device id', del.status === 404, del.body);
    const delQ = await as('DELETE', `/v1/devices/${victim2.deviceId}?accountId=${victim.accountId}`);
    check('delete the victim\u2019s device id with ?accountId', delQ.status === 404, delQ.body);
    // 4. Key counts, device lists and who-am-I answer for the caller, whatever the query says.
    const count = await api<KeyCountResponse>(
      fx.relay.url,
      'GET',
      `/v1/keys/count?accountId=${victim.accountId}&deviceId=1`,
      {
        token: attacker.accessToken,
      },
    );
    check(
      'read the victim\u2019s key count',
      count.status === 200 && JSON.stringify(count.body) === JSON.stringify(attackerCount),
      count.body,
    );
    const list = await api<DeviceListResponse>(fx.relay.url, 'GET', `/v1/devices?accountId=${victim.accountId}`, {
      token: attacker.accessToken,
    });
    check(
      'list the victim\u2019s devices',
      list.status === 200 &&
        list.body.devices.length === 1 &&
        list.body.devices[0]?.registrationId === attacker.registrationId,
      list.body,
    );
    const me = await api<WhoAmIResponse>(fx.relay.url, 'GET', `/v1/accounts/me?accountId=${victim.accountId}`, {
      token: attacker.accessToken,
    });
    check('who-am-I with ?accountId', me.body.accountId === attacker.accountId, me.body);
    // 5. Logging in as the victim's device with the attacker's secret.
    for (const deviceId of [1, 2]) {
      const t = await api(fx.relay.url, 'POST', '/v1/auth/token', {
        body: { grant: 'device_secret', accountId: victim.accountId, deviceId, deviceSecret: attacker.deviceSecret },
      });
      check(`log in as the victim\u2019s device ${deviceId}`, t.status === 401, t.body);
    }
    // 6. The victim's signed prekey and Kyber key, copied from a bundle, do not verify under the attacker's identity.
    const bundle = await api<PreKeyBundleResponse>(fx.relay.url, 'GET', `/v1/keys/${victim.accountId}/2`, {
      token: attacker.accessToken,
    });
    const stolen = bundle.body.devices[0];
    const replay = await as('PUT', '/v1/keys', {
      signedPreKey: stolen?.signedPreKey,
      lastResortKyberPreKey: stolen?.kyberPreKey,
    });
    check('upload the victim\u2019s signed keys as one\u2019s own', replay.status === 400, replay.body);
    const identity = await as('PUT', '/v1/keys', { identityKey: bundle.body.identityKey });
    check('replace one\u2019s identity key with the victim\u2019s', identity.status === 409, identity.body);
    // 7. Sending with a forged source is refused by the schema (the relay sets the source itself).
    const spoof = await as('PUT', `/v1/messages/${carol.accountId}`, {
      timestamp: Date.now(),
      messages: [
        {
          destinationDeviceId: 1,
          destinationRegistrationId: carol.registrationId,
          type: 'whisper',
          content: 'AAAA',
          sourceAccountId: victim.accountId,
        },
      ],
    });
    check('send with the victim as source', spoof.status === 400, spoof.body);
    // 8. A throwaway account deleting "itself" with the victim's id in the query deletes only itself.
    const mallory = await registerDevice(fx.relay.url);
    const delMe = await api(fx.relay.url, 'DELETE', `/v1/accounts/me?accountId=${victim.accountId}`, {
      token: mallory.accessToken,
    });
    check('delete account with ?accountId of the victim', delMe.status === 204);

    // The victim is untouched: same devices, same key counts, every envelope still queued.
    const victimList = await api<DeviceListResponse>(fx.relay.url, 'GET', '/v1/devices', { token: victim.accessToken });
    check('victim keeps both devices', victimList.body.devices.length === 2);
    const victimCountAfter = (
      await api<KeyCountResponse>(fx.relay.url, 'GET', '/v1/keys/count', { token: victim.accessToken })
    ).body;
    check('victim keeps its one-time keys', JSON.stringify(victimCountAfter) === JSON.stringify(victimCount));
    const victimSocket = await SocketClient.connect(fx.relay.wsUrl, victim.accessToken);
    check(
      'victim still gets every envelope',
      JSON.stringify(victimSocket.envelopes().map((e) => e.guid)) === JSON.stringify(guids),
    );
    victimSocket.close();
    check(
      'victim still logs in',
      (await api(fx.relay.url, 'GET', '/v1/accounts/me', { token: victim.accessToken })).status === 200,
    );

    // Nothing of the victim in anything the attacker got back (GUIDs, device names, registration ids).
    const leakedInto = refused.filter(({ body }) => {
      const text = JSON.stringify(body ?? '');
      return guids.some((g) => text.includes(g)) || text.includes(`"registrationId":${victim2.registrationId}`);
    });
    const failures = refused.filter((r) => !r.ok).map((r) => `${r.name}: ${JSON.stringify(r.body)?.slice(0, 200)}`);
    recordFigures('idor', {
      idor_cases: refused.length,
      auth_bypasses: failures.length,
      leaks: leakedInto.length,
    });
    expect(failures).toEqual([]);
    expect(leakedInto.map((r) => r.name)).toEqual([]);
  });
});
