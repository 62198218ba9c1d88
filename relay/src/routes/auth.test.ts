import type { TokenResponse } from '@sotto/shared-types';
import { CloseCode } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { api, errorCode, registerDevice, SocketClient } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';

const fx = useRelay();
const limited = useRelay({ env: { RATE_TOKEN_POINTS: '2' } });

const refresh = (url: string, refreshToken: string) =>
  api<TokenResponse>(url, 'POST', '/v1/auth/token', { body: { grant: 'refresh_token', refreshToken } });

describe('POST /v1/auth/token', () => {
  it('trades the device secret for an access token and a refresh token', async () => {
    const d = await registerDevice(fx.relay.url);
    const r = await api<TokenResponse>(fx.relay.url, 'POST', '/v1/auth/token', {
      body: { grant: 'device_secret', accountId: d.accountId, deviceId: 1, deviceSecret: d.deviceSecret },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      accountId: d.accountId,
      deviceId: 1,
      expiresIn: 900,
      refreshExpiresIn: 30 * 24 * 3600,
    });
    const [header] = r.body.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header ?? '', 'base64url').toString())).toMatchObject({ alg: 'EdDSA' });
    expect((await api(fx.relay.url, 'GET', '/v1/accounts/me', { token: r.body.accessToken })).status).toBe(200);
  });

  it('answers 401 for a wrong secret or an unknown device, 400 for a malformed request', async () => {
    const d = await registerDevice(fx.relay.url);
    const wrong = await api(fx.relay.url, 'POST', '/v1/auth/token', {
      body: { grant: 'device_secret', accountId: d.accountId, deviceId: 1, deviceSecret: 'w'.repeat(43) },
    });
    expect(wrong.status).toBe(401);
    const unknown = await api(fx.relay.url, 'POST', '/v1/auth/token', {
      body: { grant: 'device_secret', accountId: d.accountId, deviceId: 9, deviceSecret: d.deviceSecret },
    });
    expect(unknown.status).toBe(401);
    const bad = await api(fx.relay.url, 'POST', '/v1/auth/token', { body: { grant: 'password' } });
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('bad_request');
  });

  it('rotates the refresh token on every use', async () => {
    const d = await registerDevice(fx.relay.url);
    const first = await refresh(fx.relay.url, d.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(d.refreshToken);
    const second = await refresh(fx.relay.url, first.body.refreshToken);
    expect(second.status).toBe(200);
    expect((await api(fx.relay.url, 'GET', '/v1/accounts/me', { token: second.body.accessToken })).status).toBe(200);
    expect((await refresh(fx.relay.url, 'x'.repeat(43))).status).toBe(401);
  });

  it('revokes the whole family when a used refresh token comes back, closing its socket', async () => {
    const d = await registerDevice(fx.relay.url);
    const rotated = await refresh(fx.relay.url, d.refreshToken);
    const socket = await SocketClient.connect(fx.relay.wsUrl, rotated.body.accessToken);

    const reuse = await refresh(fx.relay.url, d.refreshToken);
    expect(reuse.status).toBe(401);
    expect(await socket.waitClosed()).toBe(CloseCode.revoked);
    // Every token of the family is dead: the latest access token and the latest refresh token.
    expect((await api(fx.relay.url, 'GET', '/v1/accounts/me', { token: rotated.body.accessToken })).status).toBe(401);
    expect((await refresh(fx.relay.url, rotated.body.refreshToken)).status).toBe(401);
    // The device itself can still log in again with its secret.
    const fresh = await api<TokenResponse>(fx.relay.url, 'POST', '/v1/auth/token', {
      body: { grant: 'device_secret', accountId: d.accountId, deviceId: 1, deviceSecret: d.deviceSecret },
    });
    expect(fresh.status).toBe(200);
  });

  it('rate-limits token requests per IP with 429 and Retry-After', async () => {
    const body = { grant: 'refresh_token', refreshToken: 'y'.repeat(43) };
    await api(limited.relay.url, 'POST', '/v1/auth/token', { body });
    await api(limited.relay.url, 'POST', '/v1/auth/token', { body });
    const r = await api(limited.relay.url, 'POST', '/v1/auth/token', { body });
    expect(r.status).toBe(429);
    expect(errorCode(r)).toBe('rate_limited');
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
