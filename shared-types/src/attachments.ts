import { z } from 'zod';
import { TimestampSchema } from './common.js';

/** Hex SHA-256 of the encrypted blob. */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');

/**
 * POST /v1/attachments — announce an encrypted blob. The bytes follow with
 * PATCH /v1/attachments/:id (header `Upload-Offset`, body = the next bytes);
 * HEAD /v1/attachments/:id answers the current `Upload-Offset` so a dropped upload resumes.
 * Once all bytes are in, the relay checks length and digest. GET supports `Range`.
 */
export const CreateUploadRequestSchema = z.strictObject({
  size: z.int().min(1),
  sha256: Sha256HexSchema,
});
export type CreateUploadRequest = z.infer<typeof CreateUploadRequestSchema>;

export const UploadStatusSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  size: z.int().min(1),
  offset: z.int().min(0),
  complete: z.boolean(),
  /**
   * When the relay drops the blob: an upload that gets no more bytes by then (a day after its last bytes by
   * default), a complete blob 30 days after its last byte (by default).
   */
  expiresAt: TimestampSchema,
});
export type UploadStatus = z.infer<typeof UploadStatusSchema>;
