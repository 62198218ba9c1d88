import { z } from 'zod';
import { AccountIdSchema, DeviceIdSchema } from './common.js';
import { EnvelopeSchema, SendMessagesRequestSchema, SendMessagesResponseSchema } from './envelope.js';
import { ErrorBodySchema } from './errors.js';

/**
 * Largest frame a client may send. A `send` frame must fit; a larger send (many devices, a big
 * ciphertext) goes over `PUT /v1/messages/:accountId`, whose body limit is far higher.
 */
export const MAX_CLIENT_FRAME_BYTES = 256 * 1024;
/** Envelopes the relay has sent but the device has not acked, per socket. */
export const MAX_IN_FLIGHT_ENVELOPES = 256;
export const MAX_ACKS_PER_FRAME = 256;
/** `send` frames a socket may have unanswered; beyond this the relay stops reading the socket until results go out. */
export const MAX_SENDS_IN_FLIGHT = 64;

/** Correlates a `send` frame with its `send_result`; chosen by the client. */
export const SendIdSchema = z
  .int()
  .min(0)
  .max(2 ** 31);

/** Client → relay. `auth` must be the first frame unless the upgrade carried a bearer token. */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal('ack'), guids: z.array(z.uuid()).min(1).max(MAX_ACKS_PER_FRAME) }),
  /** Answered by a `pong` (with the same id) once every ack sent before it is committed. */
  z.strictObject({ type: z.literal('ping'), id: SendIdSchema.optional() }),
  /**
   * The same request as `PUT /v1/messages/:destination`, on the socket: no HTTP request per message.
   * Answered by one `send_result` or `send_error` with the same id, in any order relative to other frames.
   */
  z.strictObject({
    type: z.literal('send'),
    id: SendIdSchema,
    destination: AccountIdSchema,
    request: SendMessagesRequestSchema,
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
  /** A `send` was accepted: the body the PUT would have answered with 200. */
  z.object({ type: z.literal('send_result'), id: SendIdSchema, body: SendMessagesResponseSchema }),
  /** A `send` was refused: the HTTP status and error body the PUT would have answered with (409, 410, 429 …). */
  z.object({
    type: z.literal('send_error'),
    id: SendIdSchema,
    status: z.int().min(400).max(599),
    body: ErrorBodySchema,
    /** Seconds to wait before trying again (429), as the PUT's Retry-After header. */
    retryAfter: z.int().min(1).optional(),
  }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
