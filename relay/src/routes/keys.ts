import {
  AccountIdSchema,
  DeviceIdSchema,
  type KeyCountResponse,
  type PreKeyBundleResponse,
  UploadKeysRequestSchema,
} from '@sotto/shared-types';
import { Hono } from 'hono';
import { z } from 'zod';
import { requireAuth } from '../auth/require-auth.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import { checkKeyUpload, parseIdentityKey } from '../prekey-checks.js';
import { findAccountById, setIdentityKey } from '../store/accounts.js';
import { countOneTimeKeys, storeDeviceKeys, takeBundles } from '../store/keys.js';
import { jsonBody, parseParams } from '../validate.js';

const BundleParamsSchema = z.object({
  accountId: AccountIdSchema,
  // Canonical decimal only (z.coerce.number would also read "0x1" or " 1" as device 1).
  deviceId: z.union([
    z.literal('*'),
    z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/)
      .transform(Number)
      .pipe(DeviceIdSchema),
  ]),
});

const b64 = (b: Buffer) => b.toString('base64');

/** /v1/keys: upload (identity once, signed + last-resort replace, one-time add), count, fetch bundles. */
export const keyRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .put('/', async (c) => {
    const { sql } = c.get('services');
    const auth = c.get('auth');
    const body = await jsonBody(c, UploadKeysRequestSchema);
    const account = await findAccountById(sql, auth.accountId);
    if (!account) {
      throw new RelayError({ code: 'unauthorized', message: 'account no longer exists' });
    }
    let identity = account.identityKey ? parseIdentityKey(account.identityKey.toString('base64')) : undefined;
    if (body.identityKey) {
      const offered = parseIdentityKey(body.identityKey);
      if (identity && !identity.equals(offered)) {
        throw new RelayError({ code: 'identity_key_exists', message: 'the account already has another identity key' });
      }
      identity = offered;
    }
    const upload = checkKeyUpload(identity, body);
    await sql.begin(async (tx) => {
      if (body.identityKey) {
        const outcome = await setIdentityKey(tx, auth.accountId, Buffer.from(body.identityKey, 'base64'));
        if (outcome === 'different') {
          throw new RelayError({
            code: 'identity_key_exists',
            message: 'the account already has another identity key',
          });
        }
      }
      await storeDeviceKeys(tx, auth.accountId, auth.deviceId, upload);
      if (upload.preKeys?.length || upload.kyberPreKeys?.length) {
        // Counted after the INSERTs: a key re-uploaded under an id the relay holds replaces it, adding none.
        const held = await countOneTimeKeys(tx, auth.accountId, auth.deviceId);
        const most = c.get('services').env.MAX_ONE_TIME_KEYS;
        if (held.preKeys > most || held.kyberPreKeys > most) {
          throw new RelayError({
            code: 'quota_exceeded',
            message: `the relay holds at most ${most} one-time prekeys of each kind for a device`,
          });
        }
      }
    });
    return c.body(null, 204);
  })
  .get('/count', async (c) => {
    const { sql } = c.get('services');
    const auth = c.get('auth');
    return c.json((await countOneTimeKeys(sql, auth.accountId, auth.deviceId)) satisfies KeyCountResponse);
  })
  .get('/:accountId/:deviceId', async (c) => {
    const { sql, limits } = c.get('services');
    const auth = c.get('auth');
    const params = parseParams(BundleParamsSchema, c.req.param());
    await limits.consume('prekey', auth.accountId);
    const account = await findAccountById(sql, params.accountId);
    if (!account?.identityKey) {
      throw new RelayError({ code: 'not_found', message: 'no such account, or it has no keys yet' });
    }
    const bundles = await takeBundles(sql, params.accountId, params.deviceId === '*' ? undefined : params.deviceId);
    if (bundles.length === 0) {
      throw new RelayError({ code: 'not_found', message: 'no such device, or it has no keys yet' });
    }
    return c.json({
      accountId: account.id,
      username: account.username,
      identityKey: b64(account.identityKey),
      devices: bundles.map((d) => ({
        deviceId: d.deviceId,
        registrationId: d.registrationId,
        signedPreKey: {
          keyId: d.signedPreKey.keyId,
          publicKey: b64(d.signedPreKey.publicKey),
          signature: b64(d.signedPreKey.signature),
        },
        kyberPreKey: {
          keyId: d.kyberPreKey.keyId,
          publicKey: b64(d.kyberPreKey.publicKey),
          signature: b64(d.kyberPreKey.signature),
        },
        kyberPreKeyIsLastResort: d.kyberPreKeyIsLastResort,
        ...(d.preKey ? { preKey: { keyId: d.preKey.keyId, publicKey: b64(d.preKey.publicKey) } } : {}),
      })),
    } satisfies PreKeyBundleResponse);
  });
