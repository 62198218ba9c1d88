import { z } from 'zod';

/** GET /v1/calling/turn — coturn REST-API (use-auth-secret) credentials. */
export const TurnCredentialsSchema = z.object({
  urls: z.array(z.string()),
  /** `<expiry unix seconds>:<accountId>` */
  username: z.string(),
  /** base64(HMAC-SHA1(secret, username)) */
  credential: z.string(),
  ttl: z.int().positive(),
});
export type TurnCredentials = z.infer<typeof TurnCredentialsSchema>;
