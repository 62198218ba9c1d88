import { z } from 'zod';
import { AccountIdSchema, base64, DeviceIdSchema, RegistrationIdSchema, UsernameSchema } from './common.js';

export const MAX_PREKEYS_PER_UPLOAD = 100;

const KeyIdSchema = z.int().min(0).max(0xffffff);
/** Serialized libsignal EC public key (33 bytes: type byte + Curve25519 point). */
const EcPublicKeySchema = base64(33).min(44);
/** Serialized libsignal Kyber-1024 public key (1569 bytes). */
const KyberPublicKeySchema = base64(1569).min(2092);
/** XEdDSA signature by the identity key (64 bytes). */
const SignatureSchema = base64(64).min(88);

export const IdentityKeySchema = EcPublicKeySchema;

export const PreKeySchema = z.strictObject({ keyId: KeyIdSchema, publicKey: EcPublicKeySchema });
export type PreKey = z.infer<typeof PreKeySchema>;

export const SignedPreKeySchema = z.strictObject({
  keyId: KeyIdSchema,
  publicKey: EcPublicKeySchema,
  signature: SignatureSchema,
});
export type SignedPreKey = z.infer<typeof SignedPreKeySchema>;

export const KyberPreKeySchema = z.strictObject({
  keyId: KeyIdSchema,
  publicKey: KyberPublicKeySchema,
  signature: SignatureSchema,
});
export type KyberPreKey = z.infer<typeof KyberPreKeySchema>;

/**
 * At most MAX_PREKEYS_PER_UPLOAD keys with distinct ids: the relay stores one key per id, so a duplicate
 * is refused with an issue at its keyId (`preKeys.1.keyId`).
 */
const oneTimeKeys = <T extends z.ZodType<{ keyId: number }>>(key: T) =>
  z
    .array(key)
    .max(MAX_PREKEYS_PER_UPLOAD)
    .superRefine((keys, ctx) => {
      const seen = new Set<number>();
      keys.forEach(({ keyId }, i) => {
        if (seen.has(keyId)) {
          ctx.addIssue({ code: 'custom', message: `duplicate keyId ${keyId}`, path: [i, 'keyId'] });
        }
        seen.add(keyId);
      });
    });

/**
 * PUT /v1/keys — the identity key is set once per account; the signed prekey and the
 * last-resort Kyber prekey replace the device's current ones; one-time keys are added.
 * Every signature is verified against the account's identity key.
 */
export const UploadKeysRequestSchema = z.strictObject({
  identityKey: IdentityKeySchema.optional(),
  signedPreKey: SignedPreKeySchema.optional(),
  lastResortKyberPreKey: KyberPreKeySchema.optional(),
  preKeys: oneTimeKeys(PreKeySchema).optional(),
  kyberPreKeys: oneTimeKeys(KyberPreKeySchema).optional(),
});
export type UploadKeysRequest = z.infer<typeof UploadKeysRequestSchema>;

/**
 * GET /v1/keys/count — one-time prekeys the relay still holds for this device, and their ids (so the device
 * can delete the private halves of keys handed out long ago that no message ever used). A relay from before
 * the ids were listed leaves them out: the device then deletes none.
 */
export const KeyCountResponseSchema = z.object({
  preKeys: z.int().min(0),
  kyberPreKeys: z.int().min(0),
  preKeyIds: z.array(KeyIdSchema).optional(),
  kyberPreKeyIds: z.array(KeyIdSchema).optional(),
});
export type KeyCountResponse = z.infer<typeof KeyCountResponseSchema>;

export const DeviceBundleSchema = z.object({
  deviceId: DeviceIdSchema,
  registrationId: RegistrationIdSchema,
  signedPreKey: SignedPreKeySchema,
  /** A one-time Kyber prekey, or the last-resort one when the one-time keys are used up. */
  kyberPreKey: KyberPreKeySchema,
  kyberPreKeyIsLastResort: z.boolean(),
  /** Absent when the device's one-time EC prekeys are used up. */
  preKey: PreKeySchema.optional(),
});
export type DeviceBundle = z.infer<typeof DeviceBundleSchema>;

/** GET /v1/keys/:accountId/:deviceId ("*" for every device) — consumes one-time prekeys. */
export const PreKeyBundleResponseSchema = z.object({
  accountId: AccountIdSchema,
  username: UsernameSchema,
  identityKey: IdentityKeySchema,
  devices: z.array(DeviceBundleSchema),
});
export type PreKeyBundleResponse = z.infer<typeof PreKeyBundleResponseSchema>;
