import { HealthResponseSchema } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

describe('GET /healthz', () => {
  it('answers ok with the version', async () => {
    const res = await createApp().request('/healthz');
    expect(res.status).toBe(200);
    const body = HealthResponseSchema.parse(await res.json());
    expect(body.status).toBe('ok');
  });
});
