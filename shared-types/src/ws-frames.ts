import { z } from 'zod';
import { AccountIdSchema, DeviceIdSchema } from './common.js';
import { EnvelopeSchema } from './envelope.js';

/** Largest frame a client may send. Acks are small; nothing else travels upstream. */
export const MAX_CLIENT_FRAME_BYTES = 16 * 1024;
/** Envelopes the relay has sent but the device has not acked, per socket. */
export const MAX_IN_FLIGHT_ENVELOPES = 256;
export const MAX_ACKS_PER_FRAME = 256;

/** Client → relay. `auth` must be the first frame unless the upgrade carried a bearer token. */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal('ack'), guids: z.array(z.uuid()).min(1).max(MAX_ACKS_PER_FRAME) }),
  z.strictObject({
    type: z.literal('ping'),
    id: z
      .int()
      .min(0)
      .max(2 ** 31)
      .optional(),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** Relay → client. */
export const ServerFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), accountId: AccountIdSchema, deviceId: DeviceIdSchema }),
  z.object({ type: z.literal('envelope'), envelope: EnvelopeSchema }),
  /** Everything queued at connect time has been sent; what follows is live. */
  z.object({ type: z.literal('queue_empty') }),
  z.object({ type: z.literal('pong'), id: z.int().optional() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
