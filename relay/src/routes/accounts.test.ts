import type { AccountLookupResponse, ErrorBody, WhoAmIResponse } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { api, errorCode, newDeviceSecret, registerDevice, uniqueUsername } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { createInvite } from '../store/invites.js';

const open = useRelay({ env: { MAX_BODY_BYTES: '2048' } });
const invite = useRelay({ env: { REGISTRATION_POLICY: 'invite' } });
const lookups = useRelay({ env: { RATE_LOOKUP_POINTS: '3' } });
const closed = useRelay({ env: { REGISTRATION_POLICY: 'closed', RATE_REGISTER_POINTS: '2' } });

const registration = (extra: Record<string, unknown> = {}) => ({
  username: uniqueUsername(),
  deviceSecret: newDeviceSecret(),
  registrationId: 77,
  ...extra,
});

describe('POST /v1/accounts', () => {
  it('registers an account with device 1 that can log in and see itself', async () => {
    const device = await registerDevice(open.relay.url);
    const me = await api<WhoAmIResponse>(open.relay.url, 'GET', '/v1/accounts/me', { token: device.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ accountId: device.accountId, username: device.username, deviceId: 1 });
  });

  it('answers 400 with the field paths and creates nothing', async () => {
    const body = registration({ username: 'Bad-Name', registrationId: 0 });
    const r = await api<ErrorBody>(open.relay.url, 'POST', '/v1/accounts', { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_request');
    expect(r.body.error.fields).toEqual(expect.arrayContaining(['username', 'registrationId']));
    expect(r.body.error.requestId).toBeTruthy();
    const bad = await api(open.relay.url, 'POST', '/v1/accounts', {
      rawBody: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
  });

  it('refuses a taken username with 409', async () => {
    const body = registration();
    expect((await api(open.relay.url, 'POST', '/v1/accounts', { body })).status).toBe(200);
    const again = await api(open.relay.url, 'POST', '/v1/accounts', {
      body: { ...body, deviceSecret: newDeviceSecret() },
    });
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('username_taken');
  });

  it('answers 413 for a body over the limit', async () => {
    const r = await api(open.relay.url, 'POST', '/v1/accounts', {
      body: registration({ deviceName: 'x'.repeat(4000) }),
    });
    expect(r.status).toBe(413);
    expect(errorCode(r)).toBe('payload_too_large');
  });

  it('requires a valid, unused invite under the invite policy', async () => {
    const url = invite.relay.url;
    const missing = await api(url, 'POST', '/v1/accounts', { body: registration() });
    expect(missing.status).toBe(403);
    expect(errorCode(missing)).toBe('invalid_invite');
    const wrong = await api(url, 'POST', '/v1/accounts', { body: registration({ inviteCode: 'not-a-code' }) });
    expect(errorCode(wrong)).toBe('invalid_invite');

    const code = await createInvite(invite.relay.relay.services.sql, Date.now());
    const ok = await api(url, 'POST', '/v1/accounts', { body: registration({ inviteCode: code }) });
    expect(ok.status).toBe(200);
    const reused = await api(url, 'POST', '/v1/accounts', { body: registration({ inviteCode: code }) });
    expect(reused.status).toBe(403);
    expect(errorCode(reused)).toBe('invalid_invite');
  });

  it('keeps the invite when the username is taken', async () => {
    const url = invite.relay.url;
    const sql = invite.relay.relay.services.sql;
    const first = registration({ inviteCode: await createInvite(sql, Date.now()) });
    expect((await api(url, 'POST', '/v1/accounts', { body: first })).status).toBe(200);
    const code = await createInvite(sql, Date.now());
    const clash = await api(url, 'POST', '/v1/accounts', {
      body: registration({ username: first.username, inviteCode: code }),
    });
    expect(errorCode(clash)).toBe('username_taken');
    expect((await api(url, 'POST', '/v1/accounts', { body: registration({ inviteCode: code }) })).status).toBe(200);
  });

  it('refuses every registration under the closed policy, then rate-limits with Retry-After', async () => {
    const url = closed.relay.url;
    const r = await api(url, 'POST', '/v1/accounts', { body: registration() });
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('registration_closed');
    await api(url, 'POST', '/v1/accounts', { body: registration() });
    const limited = await api(url, 'POST', '/v1/accounts', { body: registration() });
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('accounts of a signed-in device', () => {
  it('looks a user up by username (case-insensitively) and answers 404 for an unknown one', async () => {
    const alice = await registerDevice(open.relay.url);
    const bob = await registerDevice(open.relay.url);
    const found = await api<AccountLookupResponse>(
      open.relay.url,
      'GET',
      `/v1/accounts/username/${bob.username.toUpperCase()}`,
      {
        token: alice.accessToken,
      },
    );
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ accountId: bob.accountId, username: bob.username });
    const unknown = await api(open.relay.url, 'GET', '/v1/accounts/username/nobody_here', { token: alice.accessToken });
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('not_found');
    const invalid = await api(open.relay.url, 'GET', '/v1/accounts/username/a', { token: alice.accessToken });
    expect(invalid.status).toBe(400);
  });

  it('rate-limits username lookups per account, found or not, with 429 and Retry-After', async () => {
    const alice = await registerDevice(lookups.relay.url);
    const bob = await registerDevice(lookups.relay.url);
    const lookup = (token: string, name: string) =>
      api(lookups.relay.url, 'GET', `/v1/accounts/username/${name}`, { token });
    expect((await lookup(alice.accessToken, bob.username)).status).toBe(200);
    expect((await lookup(alice.accessToken, 'nobody_here')).status).toBe(404);
    expect((await lookup(alice.accessToken, 'nobody_either')).status).toBe(404);
    const limited = await lookup(alice.accessToken, bob.username);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    // Another account's lookups are its own.
    expect((await lookup(bob.accessToken, alice.username)).status).toBe(200);
  });

  it('answers 401 without a token or with a forged one', async () => {
    expect((await api(open.relay.url, 'GET', '/v1/accounts/me')).status).toBe(401);
    const forged = await api(open.relay.url, 'GET', '/v1/accounts/me', { token: 'eyJhbGciOiJub25lIn0.e30.' });
    expect(forged.status).toBe(401);
    expect(errorCode(forged)).toBe('unauthorized');
  });

  it('deletes the account: its tokens stop working and its username is free again', async () => {
    const device = await registerDevice(open.relay.url);
    const del = await api(open.relay.url, 'DELETE', '/v1/accounts/me', { token: device.accessToken });
    expect(del.status).toBe(204);
    expect((await api(open.relay.url, 'GET', '/v1/accounts/me', { token: device.accessToken })).status).toBe(401);
    const again = await registerDevice(open.relay.url, { username: device.username });
    expect(again.accountId).not.toBe(device.accountId);
  });
});
