import { KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import type { KeyCountResponse, PreKeyBundleResponse } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { addDevice, api, errorCode, registerDevice, type TestDevice } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { generateKeys } from '../../test/support/keys.js';

const fx = useRelay();
const limited = useRelay({ env: { RATE_PREKEY_POINTS: '2' } });
const capped = useRelay({ env: { MAX_ONE_TIME_KEYS: '100' } });

const upload = (d: TestDevice, body: unknown) => api(d.baseUrl, 'PUT', '/v1/keys', { token: d.accessToken, body });
const count = async (d: TestDevice) =>
  (await api<KeyCountResponse>(d.baseUrl, 'GET', '/v1/keys/count', { token: d.accessToken })).body;
const fetchBundle = (by: TestDevice, of: TestDevice, device: string | number = of.deviceId) =>
  api<PreKeyBundleResponse>(by.baseUrl, 'GET', `/v1/keys/${of.accountId}/${device}`, { token: by.accessToken });

describe('PUT /v1/keys', () => {
  it('stores keys signed by the identity key and counts one-time keys', async () => {
    const d = await registerDevice(fx.relay.url);
    const keys = generateKeys(5);
    expect((await upload(d, keys.upload)).status).toBe(204);
    expect(await count(d)).toEqual({
      preKeys: 5,
      kyberPreKeys: 5,
      preKeyIds: [1, 2, 3, 4, 5],
      kyberPreKeyIds: [1001, 1002, 1003, 1004, 1005],
    });
    // Refill: more one-time keys, identity key repeated unchanged.
    const more = generateKeys(2, keys.identity, 100);
    expect((await upload(d, { identityKey: keys.upload.identityKey, preKeys: more.upload.preKeys })).status).toBe(204);
    expect(await count(d)).toMatchObject({ preKeys: 7, preKeyIds: [1, 2, 3, 4, 5, 100, 101] });
  });

  it('holds at most MAX_ONE_TIME_KEYS one-time keys of each kind per device: an upload past it is refused and changes nothing', async () => {
    const d = await registerDevice(capped.relay.url);
    const keys = generateKeys(60);
    expect((await upload(d, keys.upload)).status).toBe(204);
    const identityKey = keys.upload.identityKey;
    const more = generateKeys(50, keys.identity, 100).upload;
    for (const body of [
      { identityKey, preKeys: more.preKeys },
      { identityKey, kyberPreKeys: more.kyberPreKeys },
    ]) {
      const refused = await upload(d, body);
      expect(refused.status).toBe(413);
      expect(errorCode(refused)).toBe('quota_exceeded');
    }
    expect(await count(d)).toMatchObject({ preKeys: 60, kyberPreKeys: 60 });
    // Up to the limit, and keys uploaded again under ids it holds (a lost answer's retry), are taken.
    const upTo = generateKeys(40, keys.identity, 200).upload;
    expect((await upload(d, { identityKey, preKeys: upTo.preKeys, kyberPreKeys: upTo.kyberPreKeys })).status).toBe(204);
    expect((await upload(d, { identityKey, preKeys: upTo.preKeys })).status).toBe(204);
    expect(await count(d)).toMatchObject({ preKeys: 100, kyberPreKeys: 100 });
  });

  it('rejects a bad signature with 400 and changes nothing', async () => {
    const d = await registerDevice(fx.relay.url);
    const keys = generateKeys(2);
    const otherIdentity = PrivateKey.generate();
    const pub = KEMKeyPair.generate().getPublicKey().serialize();
    const forged = {
      keyId: 7,
      publicKey: Buffer.from(pub).toString('base64'),
      signature: Buffer.from(otherIdentity.sign(pub)).toString('base64'),
    };
    const r = await api<{ error: { code: string; fields?: string[] } }>(d.baseUrl, 'PUT', '/v1/keys', {
      token: d.accessToken,
      body: { ...keys.upload, kyberPreKeys: [...(keys.upload.kyberPreKeys ?? []), forged] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_signature');
    expect(r.body.error.fields).toEqual(['kyberPreKeys.2.signature']);
    expect(await count(d)).toEqual({ preKeys: 0, kyberPreKeys: 0, preKeyIds: [], kyberPreKeyIds: [] });
    const other = await registerDevice(fx.relay.url);
    expect((await fetchBundle(other, d)).status).toBe(404);
  });

  it('validates shapes (400), needs a token (401) and keeps the first identity key (409)', async () => {
    const d = await registerDevice(fx.relay.url);
    const bad = await upload(d, { preKeys: [{ keyId: -1, publicKey: 'x' }] });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { fields: string[] } }).error.fields).toEqual(
      expect.arrayContaining(['preKeys.0.keyId', 'preKeys.0.publicKey']),
    );
    const tooMany = await upload(d, {
      preKeys: Array.from({ length: 101 }, (_, i) => ({ keyId: i, publicKey: generateKeys(0).upload.identityKey })),
    });
    expect(tooMany.status).toBe(400);
    expect((await api(d.baseUrl, 'PUT', '/v1/keys', { body: {} })).status).toBe(401);
    expect((await upload(d, generateKeys(1).upload)).status).toBe(204);
    const other = await upload(d, generateKeys(1).upload);
    expect(other.status).toBe(409);
    expect(errorCode(other)).toBe('identity_key_exists');
  });

  it('refuses duplicate key ids in one upload with 400 at the duplicate, storing nothing', async () => {
    const d = await registerDevice(fx.relay.url);
    const keys = generateKeys(3);
    const preKeys = keys.upload.preKeys ?? [];
    const kyberPreKeys = keys.upload.kyberPreKeys ?? [];
    const cases = [
      [{ preKeys: [preKeys[0], { ...preKeys[1], keyId: preKeys[0]?.keyId }, preKeys[2]] }, 'preKeys.1.keyId'],
      [
        { kyberPreKeys: [kyberPreKeys[0], kyberPreKeys[1], { ...kyberPreKeys[2], keyId: kyberPreKeys[0]?.keyId }] },
        'kyberPreKeys.2.keyId',
      ],
    ] as const;
    for (const [duplicate, field] of cases) {
      const r = await api<{ error: { code: string; fields?: string[] } }>(d.baseUrl, 'PUT', '/v1/keys', {
        token: d.accessToken,
        body: { ...keys.upload, ...duplicate },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('bad_request');
      expect(r.body.error.fields).toEqual([field]);
      expect(await count(d)).toEqual({ preKeys: 0, kyberPreKeys: 0, preKeyIds: [], kyberPreKeyIds: [] });
    }
    // Nothing else was written either: the account takes another identity key (a stored one would answer 409).
    expect((await upload(d, generateKeys(3).upload)).status).toBe(204);
    expect(await count(d)).toMatchObject({ preKeys: 3, kyberPreKeys: 3 });
  });
});

describe('GET /v1/keys/:accountId/:deviceId', () => {
  it('hands out each one-time key once, then falls back to the last-resort Kyber key', async () => {
    const bob = await registerDevice(fx.relay.url);
    const keys = generateKeys(1);
    await upload(bob, keys.upload);
    const alice = await registerDevice(fx.relay.url);

    expect(await count(bob)).toMatchObject({ preKeyIds: [1], kyberPreKeyIds: [1001] });
    const first = await fetchBundle(alice, bob);
    expect(first.status).toBe(200);
    expect(first.body.identityKey).toBe(keys.upload.identityKey);
    const device = first.body.devices[0];
    expect(device?.preKey).toEqual(keys.upload.preKeys?.[0]);
    expect(device?.kyberPreKeyIsLastResort).toBe(false);
    expect(device?.kyberPreKey).toEqual(keys.upload.kyberPreKeys?.[0]);
    expect(device?.signedPreKey).toEqual(keys.upload.signedPreKey);

    const second = await fetchBundle(alice, bob);
    expect(second.body.devices[0]?.preKey).toBeUndefined();
    expect(second.body.devices[0]?.kyberPreKeyIsLastResort).toBe(true);
    expect(second.body.devices[0]?.kyberPreKey).toEqual(keys.upload.lastResortKyberPreKey);
    expect(await count(bob)).toEqual({ preKeys: 0, kyberPreKeys: 0, preKeyIds: [], kyberPreKeyIds: [] });
  });

  it('returns every device for "*" and 404 for unknown accounts or devices', async () => {
    const bob = await registerDevice(fx.relay.url);
    const keys = generateKeys(1);
    await upload(bob, keys.upload);
    const bob2 = await addDevice(bob);
    await upload(bob2, { ...generateKeys(1, keys.identity).upload, identityKey: keys.upload.identityKey });
    const alice = await registerDevice(fx.relay.url);
    const all = await fetchBundle(alice, bob, '*');
    expect(all.body.devices.map((d) => d.deviceId)).toEqual([1, 2]);
    expect((await fetchBundle(alice, bob, 9)).status).toBe(404);
    const nobody = await api(alice.baseUrl, 'GET', `/v1/keys/${crypto.randomUUID()}/1`, { token: alice.accessToken });
    expect(nobody.status).toBe(404);
    expect((await api(alice.baseUrl, 'GET', '/v1/keys/not-a-uuid/1', { token: alice.accessToken })).status).toBe(400);
  });

  it('never hands out the same one-time prekey to parallel fetches', async () => {
    const bob = await registerDevice(fx.relay.url);
    await upload(bob, generateKeys(20).upload);
    const fetchers = await Promise.all(Array.from({ length: 4 }, () => registerDevice(fx.relay.url)));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => fetchBundle(fetchers[i % fetchers.length] as TestDevice, bob)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const ec = results.flatMap((r) => (r.body.devices[0]?.preKey ? [r.body.devices[0].preKey.keyId] : []));
    const kyber = results.flatMap((r) =>
      r.body.devices[0]?.kyberPreKeyIsLastResort === false ? [r.body.devices[0].kyberPreKey.keyId] : [],
    );
    expect(ec).toHaveLength(20);
    expect(new Set(ec).size).toBe(20);
    expect(kyber).toHaveLength(20);
    expect(new Set(kyber).size).toBe(20);
  });

  it('rate-limits bundle fetches per account with 429', async () => {
    const bob = await registerDevice(limited.relay.url);
    await upload(bob, generateKeys(3).upload);
    const alice = await registerDevice(limited.relay.url);
    await fetchBundle(alice, bob);
    await fetchBundle(alice, bob);
    const r = await fetchBundle(alice, bob);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });
});
