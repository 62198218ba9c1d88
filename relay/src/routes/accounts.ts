import { randomUUID } from 'node:crypto';
import {
  type AccountLookupResponse,
  RegisterRequestSchema,
  type RegisterResponse,
  UsernameSchema,
  type WhoAmIResponse,
} from '@sotto/shared-types';
import { Hono } from 'hono';
import { deleteAccountEverywhere } from '../account-deletion.js';
import { hashDeviceSecret } from '../auth/device-secret.js';
import { requireAuth } from '../auth/require-auth.js';
import { clientIp } from '../client-ip.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import { findAccountById, findAccountByUsername, insertAccount } from '../store/accounts.js';
import { consumeInvite } from '../store/invites.js';
import { jsonBody, parseParams } from '../validate.js';

/** /v1/accounts: registration, lookup by username, who-am-I, account deletion. */
export const accountRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { env, sql, clock, limits } = c.get('services');
    const body = await jsonBody(c, RegisterRequestSchema);
    await limits.consume('register', clientIp(c));
    if (env.REGISTRATION_POLICY === 'closed') {
      throw new RelayError({ code: 'registration_closed', message: 'this relay does not accept registrations' });
    }
    if (env.REGISTRATION_POLICY === 'invite' && !body.inviteCode) {
      throw new RelayError({ code: 'invalid_invite', message: 'an invite code is required' });
    }
    const secretHash = await hashDeviceSecret(body.deviceSecret);
    const id = randomUUID();
    const now = clock.now();
    await sql.begin(async (tx) => {
      if (env.REGISTRATION_POLICY === 'invite' && !(await consumeInvite(tx, body.inviteCode ?? '', id, now))) {
        throw new RelayError({ code: 'invalid_invite', message: 'unknown, used or expired invite code' });
      }
      const created = await insertAccount(tx, {
        id,
        username: body.username,
        registrationId: body.registrationId,
        deviceName: body.deviceName ?? null,
        secretHash,
        now,
      });
      if (!created) {
        // Throwing rolls the invite back too.
        throw new RelayError({ code: 'username_taken', message: 'that username is taken' });
      }
    });
    return c.json({ accountId: id, deviceId: 1, username: body.username } satisfies RegisterResponse, 200);
  })
  .get('/me', requireAuth, async (c) => {
    const { sql } = c.get('services');
    const auth = c.get('auth');
    const account = await findAccountById(sql, auth.accountId);
    if (!account) {
      throw new RelayError({ code: 'unauthorized', message: 'account no longer exists' });
    }
    return c.json({
      accountId: account.id,
      username: account.username,
      deviceId: auth.deviceId,
    } satisfies WhoAmIResponse);
  })
  .delete('/me', requireAuth, async (c) => {
    await deleteAccountEverywhere(c.get('services'), c.get('auth').accountId);
    return c.body(null, 204);
  })
  .get('/username/:username', requireAuth, async (c) => {
    const { sql, limits } = c.get('services');
    // Limited per account, found or not: nobody lists the relay's users by guessing names.
    await limits.consume('lookup', c.get('auth').accountId);
    const username = parseParams(UsernameSchema, c.req.param('username').toLowerCase(), 'username');
    const account = await findAccountByUsername(sql, username);
    if (!account) {
      throw new RelayError({ code: 'not_found', message: 'no such user' });
    }
    return c.json({ accountId: account.id, username: account.username } satisfies AccountLookupResponse);
  });
