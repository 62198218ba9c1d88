import type { Context } from 'hono';
import type { z } from 'zod';
import { RelayError } from './errors.js';

/** Reads and validates a JSON body; a bad one is a 400 naming the field paths. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new RelayError({ code: 'bad_request', message: 'body is not valid JSON', extra: { fields: ['(root)'] } });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw RelayError.fromZod(result.error);
  }
  return result.data;
}

/** Validates path parameters (or any plain value) against a schema; failures are 400s. */
export function parseParams<S extends z.ZodType>(schema: S, value: unknown, where = 'path'): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw RelayError.fromZod(result.error, where);
  }
  return result.data;
}
