import type { HealthResponse } from '@sotto/shared-types';
import { Hono } from 'hono';
import { RELAY_VERSION } from './version.js';

/** Builds the relay's HTTP app. Never listens: server.ts does. */
export function createApp() {
  return new Hono().get('/healthz', (c) => c.json({ status: 'ok', version: RELAY_VERSION } satisfies HealthResponse));
}

export type AppType = ReturnType<typeof createApp>;
