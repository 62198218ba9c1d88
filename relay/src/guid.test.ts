import { describe, expect, it } from 'vitest';
import { newGuid } from './guid.js';

describe('newGuid', () => {
  it('makes distinct UUIDv7s whose order follows time from one millisecond to the next', async () => {
    const first = Array.from({ length: 1000 }, () => newGuid());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = newGuid();
    expect(new Set(first).size).toBe(1000);
    for (const guid of [...first, later]) {
      expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(first.every((guid) => guid < later)).toBe(true);
  });
});
