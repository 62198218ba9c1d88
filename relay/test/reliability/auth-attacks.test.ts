import { CloseCode, type TokenResponse } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addDevice, api, registerDevice, SocketClient, type TestDevice } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { randomRedisPrefix, TEST_REDIS_URL } from '../support/relay.js';
import { type ForgedToken, forgeTokens, readServerKey } from './support/forged-tokens.js';
import { recordFigures } from './support/profile.js';
import { RelayProcess } from './support/relay-process.js';

const ALLOWED_ORIGIN = 'https://app.sotto.example';

let db: TestDatabase;
let relay: RelayProcess;
const figures: Record<string, number> = { auth_bypasses: 0 };

beforeAll(async () => {
  db = await createTestDatabase();
  relay = await RelayProcess.start({
    databaseUrl: db.url,
    redisUrl: TEST_REDIS_URL,
    redisPrefix: randomRedisPrefix(),
    env: { LOG_LEVEL: 'warn', ALLOWED_ORIGINS: ALLOWED_ORIGIN, CORS_ORIGINS: ALLOWED_ORIGIN },
  });
}, 60_000);
afterAll(async () => {
  recordFigures('auth-attacks', figures);
  await relay?.stop();
  await db?.drop();
});

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { fam: string };
const refresh = (refreshToken: string) =>
  api<TokenResponse>(relay.url, 'POST', '/v1/auth/token', { body: { grant: 'refresh_token', refreshToken } });
const login = (d: TestDevice) =>
  api<TokenResponse>(relay.url, 'POST', '/v1/auth/token', {
    body: { grant: 'device_secret', accountId: d.accountId, deviceId: d.deviceId, deviceSecret: d.deviceSecret },
  });

/** What a socket authenticated with `token` gets: refused at the upgrade, or the close code after an auth frame. */
async function socketOutcome(token: string, how: 'header' | 'frame'): Promise<'refused' | 'ready' | number> {
  const ws = new WebSocket(relay.wsUrl, how === 'header' ? { headers: { authorization: `Bearer ${token}` } } : {});
  ws.on('error', () => undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(-1);
    }, 5000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode === 401 ? 'refused' : (res.statusCode ?? -2));
    });
    ws.on('open', () => {
      if (how === 'frame') {
        ws.send(JSON.stringify({ type: 'auth', token }));
      }
    });
    ws.on('message', (d) => {
      if ((JSON.parse(d.toString()) as { type: string }).type === 'ready') {
        clearTimeout(timer);
        ws.terminate();
        resolve('ready');
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('token attacks', () => {
  it('refuses every forged, tampered, truncated, expired, future-dated or mis-addressed token (REST and WebSocket)', async () => {
    const victim = await registerDevice(relay.url);
    await addDevice(victim);
    const other = await registerDevice(relay.url);
    const doomed = await login(victim);
    await refresh(doomed.body.refreshToken);
    expect((await refresh(doomed.body.refreshToken)).status).toBe(401); // reuse: family revoked
    const { privateJwk, publicJwk } = await readServerKey(db.url);
    const forged: ForgedToken[] = await forgeTokens({
      privateJwk,
      publicJwk,
      issuer: 'sotto-relay',
      audience: 'sotto',
      victimToken: victim.accessToken,
      victim: { accountId: victim.accountId, deviceId: 1, familyId: claimsOf(victim.accessToken).fam },
      other: { accountId: other.accountId },
      revokedFamilyId: claimsOf(doomed.body.accessToken).fam,
    });
    const accepted: string[] = [];
    for (const { name, token } of forged) {
      const rest = await api(relay.url, 'GET', '/v1/accounts/me', { token });
      if (rest.status !== 401) {
        accepted.push(`REST ${rest.status}: ${name}`);
      }
      const header = await socketOutcome(token, 'header');
      if (header !== 'refused') {
        accepted.push(`WS header ${header}: ${name}`);
      }
      const frame = await socketOutcome(token, 'frame');
      if (frame !== CloseCode.unauthorized) {
        accepted.push(`WS auth frame ${frame}: ${name}`);
      }
    }
    // The genuine token still works (the checks above are not refusing everything).
    expect((await api(relay.url, 'GET', '/v1/accounts/me', { token: victim.accessToken })).status).toBe(200);
    expect(await socketOutcome(victim.accessToken, 'frame')).toBe('ready');
    figures.forged_tokens = forged.length;
    figures.forged_token_checks = forged.length * 3;
    figures.auth_bypasses = (figures.auth_bypasses ?? 0) + accepted.length;
    expect(forged.length).toBeGreaterThanOrEqual(25);
    expect(accepted).toEqual([]);
  });

  it('revokes the whole family when a used refresh token comes back, and closes its socket', async () => {
    const d = await registerDevice(relay.url);
    const rotated = await refresh(d.refreshToken);
    expect(rotated.status).toBe(200);
    const socket = await SocketClient.connect(relay.wsUrl, rotated.body.accessToken);
    const started = performance.now();
    const reuse = await refresh(d.refreshToken);
    const code = await socket.waitClosed(5000);
    figures.refresh_reuse_close_ms = Math.round(performance.now() - started);
    const after = [
      await api(relay.url, 'GET', '/v1/accounts/me', { token: rotated.body.accessToken }),
      await refresh(rotated.body.refreshToken),
    ];
    const bypasses = (reuse.status === 401 ? 0 : 1) + after.filter((r) => r.status !== 401).length;
    figures.auth_bypasses = (figures.auth_bypasses ?? 0) + bypasses + (code === CloseCode.revoked ? 0 : 1);
    expect(reuse.status).toBe(401);
    expect(code).toBe(CloseCode.revoked);
    expect(after.map((r) => r.status)).toEqual([401, 401]);
  });

  it('closes a removed device\u2019s socket at once and refuses its token from then on', async () => {
    const owner = await registerDevice(relay.url);
    const second = await addDevice(owner);
    const socket = await SocketClient.connect(relay.wsUrl, second.accessToken);
    const started = performance.now();
    const del = await api(relay.url, 'DELETE', `/v1/devices/${second.deviceId}`, { token: owner.accessToken });
    const code = await socket.waitClosed(5000);
    figures.revoked_socket_close_ms = Math.round(performance.now() - started);
    const later = await api(relay.url, 'GET', '/v1/devices', { token: second.accessToken });
    const relogin = await login(second);
    figures.auth_bypasses =
      (figures.auth_bypasses ?? 0) +
      (code === CloseCode.revoked ? 0 : 1) +
      (later.status === 401 ? 0 : 1) +
      (relogin.status === 401 ? 0 : 1);
    expect(del.status).toBe(204);
    expect(code).toBe(CloseCode.revoked);
    expect(later.status).toBe(401);
    expect(relogin.status).toBe(401);
  });

  it('refuses WebSocket upgrades and CORS from a foreign Origin, with or without a valid token', async () => {
    const d = await registerDevice(relay.url);
    const foreign = [
      'https://evil.example',
      'null',
      `${ALLOWED_ORIGIN}.evil.example`,
      `${ALLOWED_ORIGIN}/`,
      'HTTPS://APP.SOTTO.EXAMPLE',
      'http://app.sotto.example',
      'file://',
    ];
    const outcomes: string[] = [];
    for (const origin of foreign) {
      for (const token of [d.accessToken, undefined]) {
        const status = await new Promise<number>((resolve) => {
          const ws = new WebSocket(relay.wsUrl, {
            headers: { origin, ...(token ? { authorization: `Bearer ${token}` } : {}) },
          });
          ws.on('error', () => undefined);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? -1));
          ws.on('open', () => {
            ws.terminate();
            resolve(101);
          });
        });
        if (status !== 403) {
          outcomes.push(`${origin} (${token ? 'with' : 'without'} token): ${status}`);
        }
      }
      const preflight = await fetch(`${relay.url}/v1/accounts/me`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      const allow = preflight.headers.get('access-control-allow-origin');
      if (allow === origin || allow === '*') {
        outcomes.push(`CORS allows ${origin}`);
      }
    }
    // The allowed origin works, so the refusals above are about the origin.
    const ok = await SocketClient.open(relay.wsUrl, { token: d.accessToken, headers: { origin: ALLOWED_ORIGIN } });
    await ok.waitFor((f) => f.some((x) => x.type === 'ready'));
    ok.close();
    figures.foreign_origin_checks = foreign.length * 3;
    figures.auth_bypasses = (figures.auth_bypasses ?? 0) + outcomes.length;
    expect(outcomes).toEqual([]);
  });
});
