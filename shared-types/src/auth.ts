import { z } from 'zod';
import { AccountIdSchema, DeviceIdSchema, DeviceSecretSchema } from './common.js';

/** POST /v1/auth/token — trade a device secret, or a refresh token, for an access token. */
export const TokenRequestSchema = z.discriminatedUnion('grant', [
  z.strictObject({
    grant: z.literal('device_secret'),
    accountId: AccountIdSchema,
    deviceId: DeviceIdSchema,
    deviceSecret: DeviceSecretSchema,
  }),
  z.strictObject({
    grant: z.literal('refresh_token'),
    refreshToken: z.string().min(32).max(256),
  }),
]);
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

export const TokenResponseSchema = z.object({
  accessToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.int().positive(),
  /** Single use: every refresh rotates it; presenting a used one revokes the whole family. */
  refreshToken: z.string(),
  refreshExpiresIn: z.int().positive(),
  accountId: AccountIdSchema,
  deviceId: DeviceIdSchema,
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** Claims of the access JWT (EdDSA). */
export const AccessClaimsSchema = z.object({
  sub: AccountIdSchema,
  did: DeviceIdSchema,
  /** Refresh-token family; revoking the family kills its access tokens and sockets. */
  fam: z.string(),
});
export type AccessClaims = z.infer<typeof AccessClaimsSchema>;
