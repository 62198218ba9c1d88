import { z } from 'zod';

/** GET /healthz (process is up) and GET /readyz (Postgres and Redis answer). */
export const HealthResponseSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  version: z.string(),
  checks: z.record(z.string(), z.enum(['ok', 'down'])).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
