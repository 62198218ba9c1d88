import { z } from 'zod';
import { AccountIdSchema, base64, DeviceIdSchema, RegistrationIdSchema, TimestampSchema } from './common.js';

/** Largest ciphertext the relay accepts for one destination device. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/** A user has at most this many devices, so one send holds at most this many envelopes. */
export const MAX_DEVICES_PER_SEND = 16;

/**
 * What kind of libsignal message the content holds:
 * - `prekey`: PreKeySignalMessage (first message of a session),
 * - `whisper`: SignalMessage,
 * - `sealed`: sealed-sender (UnidentifiedSenderMessage); the relay does not learn the sender,
 * - `plaintext`: PlaintextContent (a DecryptionErrorMessage asking the sender to resend).
 */
export const EnvelopeTypeSchema = z.enum(['prekey', 'whisper', 'sealed', 'plaintext']);
export type EnvelopeType = z.infer<typeof EnvelopeTypeSchema>;

export const OutgoingMessageSchema = z.strictObject({
  destinationDeviceId: DeviceIdSchema,
  destinationRegistrationId: RegistrationIdSchema,
  type: EnvelopeTypeSchema,
  content: base64(MAX_ENVELOPE_BYTES).min(1),
});
export type OutgoingMessage = z.infer<typeof OutgoingMessageSchema>;

/** PUT /v1/messages/:accountId — one envelope per device of the destination account. */
export const SendMessagesRequestSchema = z.strictObject({
  messages: z.array(OutgoingMessageSchema).min(1).max(MAX_DEVICES_PER_SEND),
  /** The sender's clock, for display ordering; the relay adds its own timestamp. */
  timestamp: TimestampSchema,
  /** Ephemeral (typing): delivered only to connected devices, never queued. */
  online: z.boolean().optional(),
});
export type SendMessagesRequest = z.infer<typeof SendMessagesRequestSchema>;

export const SendMessagesResponseSchema = z.object({
  messages: z.array(
    z.object({
      destinationDeviceId: DeviceIdSchema,
      guid: z.uuid(),
      serverTimestamp: TimestampSchema,
    }),
  ),
});
export type SendMessagesResponse = z.infer<typeof SendMessagesResponseSchema>;

/** What a device receives: one queued ciphertext. */
export const EnvelopeSchema = z.object({
  guid: z.uuid(),
  type: EnvelopeTypeSchema,
  /** Absent for sealed-sender envelopes. */
  sourceAccountId: AccountIdSchema.optional(),
  sourceDeviceId: DeviceIdSchema.optional(),
  destinationDeviceId: DeviceIdSchema,
  clientTimestamp: TimestampSchema,
  serverTimestamp: TimestampSchema,
  content: base64(MAX_ENVELOPE_BYTES).min(1),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;
