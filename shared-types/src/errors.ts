import { z } from 'zod';

/** Every error code the relay can answer with. One JSON error shape for all of them. */
export const ErrorCodeSchema = z.enum([
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'username_taken',
  'stale_devices',
  'stale_registration',
  'gone',
  'payload_too_large',
  'quota_exceeded',
  'device_limit',
  'registration_closed',
  'invalid_invite',
  'invalid_signature',
  'identity_key_exists',
  'rate_limited',
  /** 408: an upload request got no bytes for too long (its connection silently gone). */
  'request_timeout',
  /** 416: a download's Range lies outside the blob. */
  'range_not_satisfiable',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    requestId: z.string(),
    /** Field paths of a validation failure, e.g. ["messages.0.content"]. */
    fields: z.array(z.string()).optional(),
    /** 409 stale_devices: the sender's view of the recipient's devices is out of date. */
    missingDevices: z.array(z.int()).optional(),
    extraDevices: z.array(z.int()).optional(),
    /** 410 stale_registration: these devices were re-registered; drop their sessions. */
    staleDevices: z.array(z.int()).optional(),
    /** 409 on an attachment upload: the relay's current `Upload-Offset`; resume from there. */
    offset: z.int().min(0).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** WebSocket close codes used by the relay. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooBig: 1009,
  badFrame: 4000,
  unauthorized: 4001,
  authTimeout: 4002,
  originRefused: 4003,
  revoked: 4004,
  connectedElsewhere: 4009,
  rateLimited: 4029,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
