import {
  AddDeviceRequestSchema,
  type AddDeviceResponse,
  DeviceIdSchema,
  type DeviceListResponse,
} from '@sotto/shared-types';
import { Hono } from 'hono';
import { z } from 'zod';
import { hashDeviceSecret } from '../auth/device-secret.js';
import { requireAuth } from '../auth/require-auth.js';
import { closeDeviceSockets } from '../auth/revoke.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import { addDevice, listDevices, removeDevice } from '../store/devices.js';
import { jsonBody, parseParams } from '../validate.js';

// Canonical decimal only: z.coerce.number would also read "0x1", " 1" or "1e0" as device 1.
const DeviceParamSchema = z.object({
  deviceId: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/)
    .transform(Number)
    .pipe(DeviceIdSchema),
});

/** /v1/devices: list, add (by an authenticated device of the account), remove. */
export const deviceRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get('/', async (c) => {
    const { sql } = c.get('services');
    const devices = await listDevices(sql, c.get('auth').accountId);
    return c.json({ devices } satisfies DeviceListResponse);
  })
  .post('/', async (c) => {
    const { sql, env, clock } = c.get('services');
    const auth = c.get('auth');
    const body = await jsonBody(c, AddDeviceRequestSchema);
    const result = await addDevice(sql, auth.accountId, {
      registrationId: body.registrationId,
      name: body.deviceName ?? null,
      secretHash: await hashDeviceSecret(body.deviceSecret),
      now: clock.now(),
      maxDevices: env.MAX_DEVICES_PER_ACCOUNT,
    });
    if (!result.ok) {
      throw result.reason === 'limit'
        ? new RelayError({
            code: 'device_limit',
            message: `at most ${env.MAX_DEVICES_PER_ACCOUNT} devices per account`,
          })
        : new RelayError({ code: 'unauthorized', message: 'account no longer exists' });
    }
    await c.get('services').fanout.announceDevicesChanged(auth.accountId);
    return c.json({ accountId: auth.accountId, deviceId: result.deviceId } satisfies AddDeviceResponse, 200);
  })
  .delete('/:deviceId', async (c) => {
    const services = c.get('services');
    const auth = c.get('auth');
    const { deviceId } = parseParams(DeviceParamSchema, c.req.param());
    if (!(await removeDevice(services.sql, auth.accountId, deviceId))) {
      throw new RelayError({ code: 'not_found', message: 'no such device' });
    }
    await services.fanout.announceDevicesChanged(auth.accountId);
    await closeDeviceSockets(services, auth.accountId, deviceId);
    return c.body(null, 204);
  });
