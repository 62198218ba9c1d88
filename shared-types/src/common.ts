import { z } from 'zod';

/** Lowercase username: 3–32 of [a-z0-9_.]. Clients lowercase before sending; the relay compares case-insensitively. */
export const UsernameSchema = z
  .string()
  .min(3)
  .max(32)
  .regex(/^[a-z0-9_.]+$/, 'only a-z, 0-9, "_" and "." are allowed');
export type Username = z.infer<typeof UsernameSchema>;

export const AccountIdSchema = z.uuid();
export type AccountId = z.infer<typeof AccountIdSchema>;

/** The highest device id (libsignal's limit). */
export const MAX_DEVICE_ID = 127;

/** Device ids are small positive integers; device 1 is the one created at registration. */
export const DeviceIdSchema = z.int().min(1).max(MAX_DEVICE_ID);
export type DeviceId = z.infer<typeof DeviceIdSchema>;

/** libsignal registration ids are 14-bit. */
export const RegistrationIdSchema = z.int().min(1).max(16380);

/** Standard base64 with a byte-length ceiling (checked on the encoded length). */
export const base64 = (maxBytes: number) => z.base64().max(Math.ceil(maxBytes / 3) * 4, `at most ${maxBytes} bytes`);

/** Milliseconds since the Unix epoch. */
export const TimestampSchema = z.int().min(0).max(8.64e15);

/** A random per-device secret chosen by the client: at least 32 base64url characters (192 bits). */
export const DeviceSecretSchema = z
  .string()
  .min(32)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'base64url characters only');

export const DeviceNameSchema = z.string().min(1).max(64);
