import { describe, expect, it } from 'vitest';
import { CreateUploadRequestSchema, ErrorBodySchema, UploadStatusSchema } from './index.js';

describe('attachment upload contract', () => {
  it('accepts an announcement and a status, and rejects a bad digest', () => {
    const sha256 = 'ab'.repeat(32);
    expect(CreateUploadRequestSchema.parse({ size: 10, sha256 })).toEqual({ size: 10, sha256 });
    expect(CreateUploadRequestSchema.safeParse({ size: 10, sha256: 'AB'.repeat(32) }).success).toBe(false);
    expect(CreateUploadRequestSchema.safeParse({ size: 0, sha256 }).success).toBe(false);
    const status = { id: 'A'.repeat(32), size: 10, offset: 4, complete: false, expiresAt: 1 };
    expect(UploadStatusSchema.parse(status)).toEqual(status);
  });

  it('carries the relay offset in a 409 and knows the 416 code', () => {
    const conflict = ErrorBodySchema.parse({ error: { code: 'conflict', message: 'm', requestId: 'r', offset: 4096 } });
    expect(conflict.error.offset).toBe(4096);
    expect(
      ErrorBodySchema.safeParse({ error: { code: 'conflict', message: 'm', requestId: 'r', offset: -1 } }).success,
    ).toBe(false);
    expect(
      ErrorBodySchema.parse({ error: { code: 'range_not_satisfiable', message: 'm', requestId: 'r' } }).error.code,
    ).toBe('range_not_satisfiable');
  });
});
