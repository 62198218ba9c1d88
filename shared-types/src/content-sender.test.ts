import { describe, expect, it } from 'vitest';
import { ContentSchema } from './content.js';

describe('text content senderUsername', () => {
  const base = { kind: 'text', id: '0b4f7a52-7c39-4c84-8f2a-9e3c1e4f6a11', body: 'hi', sentAt: 1 };

  it('accepts a valid username and stays optional', () => {
    expect(ContentSchema.safeParse({ ...base, senderUsername: 'alice' }).success).toBe(true);
    expect(ContentSchema.safeParse(base).success).toBe(true);
  });

  it('rejects a username the relay would refuse', () => {
    expect(ContentSchema.safeParse({ ...base, senderUsername: 'Alice!' }).success).toBe(false);
  });
});
