import { z } from 'zod';
import {
  AccountIdSchema,
  DeviceIdSchema,
  DeviceNameSchema,
  DeviceSecretSchema,
  RegistrationIdSchema,
  TimestampSchema,
  UsernameSchema,
} from './common.js';

/** POST /v1/accounts — creates the account and its first device (id 1). */
export const RegisterRequestSchema = z.strictObject({
  username: UsernameSchema,
  inviteCode: z.string().min(1).max(64).optional(),
  deviceSecret: DeviceSecretSchema,
  registrationId: RegistrationIdSchema,
  deviceName: DeviceNameSchema.optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;

export const RegisterResponseSchema = z.object({
  accountId: AccountIdSchema,
  deviceId: DeviceIdSchema,
  username: UsernameSchema,
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/** POST /v1/devices — an authenticated device adds another device to its account. */
export const AddDeviceRequestSchema = z.strictObject({
  deviceSecret: DeviceSecretSchema,
  registrationId: RegistrationIdSchema,
  deviceName: DeviceNameSchema.optional(),
});
export type AddDeviceRequest = z.infer<typeof AddDeviceRequestSchema>;

export const AddDeviceResponseSchema = z.object({
  accountId: AccountIdSchema,
  deviceId: DeviceIdSchema,
});
export type AddDeviceResponse = z.infer<typeof AddDeviceResponseSchema>;

export const DeviceInfoSchema = z.object({
  deviceId: DeviceIdSchema,
  name: z.string().nullable(),
  registrationId: RegistrationIdSchema,
  createdAt: TimestampSchema,
  lastSeenAt: TimestampSchema.nullable(),
});
export type DeviceInfo = z.infer<typeof DeviceInfoSchema>;

/** GET /v1/devices */
export const DeviceListResponseSchema = z.object({ devices: z.array(DeviceInfoSchema) });
export type DeviceListResponse = z.infer<typeof DeviceListResponseSchema>;

/** GET /v1/accounts/username/:username — resolve a username to an account. */
export const AccountLookupResponseSchema = z.object({
  accountId: AccountIdSchema,
  username: UsernameSchema,
});
export type AccountLookupResponse = z.infer<typeof AccountLookupResponseSchema>;

/** GET /v1/accounts/me */
export const WhoAmIResponseSchema = z.object({
  accountId: AccountIdSchema,
  username: UsernameSchema,
  deviceId: DeviceIdSchema,
});
export type WhoAmIResponse = z.infer<typeof WhoAmIResponseSchema>;
