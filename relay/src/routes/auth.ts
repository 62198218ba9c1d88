import { randomUUID } from 'node:crypto';
import { TokenRequestSchema, type TokenResponse } from '@sotto/shared-types';
import { Hono } from 'hono';
import { DUMMY_SECRET_HASH, verifyDeviceSecret } from '../auth/device-secret.js';
import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens.js';
import { closeDeviceSockets } from '../auth/revoke.js';
import { clientIp } from '../client-ip.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import { getDeviceSecretHash } from '../store/devices.js';
import { createFamily, rotateRefreshToken } from '../store/tokens.js';
import { jsonBody } from '../validate.js';

const denied = (message = 'invalid credentials') => new RelayError({ code: 'unauthorized', message });

/** /v1/auth: device secret or refresh token → access token + rotated refresh token. */
export const authRoutes = new Hono<AppEnv>().post('/token', async (c) => {
  const services = c.get('services');
  const { env, sql, clock, limits, tokens, logger } = services;
  const body = await jsonBody(c, TokenRequestSchema);
  await limits.consume('token', clientIp(c));
  const now = clock.now();
  const refreshToken = newRefreshToken();
  const refreshExpiresAt = now + env.REFRESH_TOKEN_TTL_SECONDS * 1000;
  let accountId: string;
  let deviceId: number;
  let familyId: string;

  if (body.grant === 'device_secret') {
    const stored = await getDeviceSecretHash(sql, body.accountId, body.deviceId);
    const ok = await verifyDeviceSecret(body.deviceSecret, stored ?? DUMMY_SECRET_HASH);
    if (!stored || !ok) {
      throw denied();
    }
    accountId = body.accountId;
    deviceId = body.deviceId;
    familyId = randomUUID();
    await createFamily(sql, {
      id: familyId,
      accountId,
      deviceId,
      tokenHash: hashRefreshToken(refreshToken),
      now,
      expiresAt: refreshExpiresAt,
    });
  } else {
    const result = await rotateRefreshToken(
      sql,
      hashRefreshToken(body.refreshToken),
      hashRefreshToken(refreshToken),
      now,
      refreshExpiresAt,
    );
    switch (result.kind) {
      case 'rotated':
        break;
      case 'reused':
        logger.warn({ accountId: result.family.accountId, deviceId: result.family.deviceId }, 'refresh token reused');
        await closeDeviceSockets(services, result.family.accountId, result.family.deviceId, result.family.id);
        throw denied('refresh token already used; its family is revoked');
      case 'unknown':
      case 'expired':
      case 'revoked':
        throw denied('invalid refresh token');
      default:
        throw new Error(`unexpected ${String((result satisfies never as { kind: string }).kind)}`);
    }
    ({ accountId, deviceId } = result.family);
    familyId = result.family.id;
  }

  const accessToken = await tokens.sign({ sub: accountId, did: deviceId, fam: familyId });
  return c.json({
    accessToken,
    expiresIn: tokens.ttlSeconds,
    refreshToken,
    refreshExpiresIn: env.REFRESH_TOKEN_TTL_SECONDS,
    accountId,
    deviceId,
  } satisfies TokenResponse);
});
