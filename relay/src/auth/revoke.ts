import type { Services } from '../context.js';

/** Closes the device's open sockets on every instance (all of them, or only those of one token family). */
export async function closeDeviceSockets(
  services: Services,
  accountId: string,
  deviceId: number,
  familyId?: string,
): Promise<void> {
  await services.fanout.publish({ accountId, deviceId }, familyId ? { kind: 'revoke', familyId } : { kind: 'revoke' });
}
