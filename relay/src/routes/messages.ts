import { AccountIdSchema, SendMessagesRequestSchema } from '@sotto/shared-types';
import { Hono } from 'hono';
import { requireAuth } from '../auth/require-auth.js';
import type { AppEnv } from '../context.js';
import { acceptSend } from '../send.js';
import { jsonBody, parseParams } from '../validate.js';

/** /v1/messages: one envelope per device of one destination account; 200 only once all are committed. */
export const messageRoutes = new Hono<AppEnv>().use(requireAuth).put('/:accountId', async (c) => {
  const destination = parseParams(AccountIdSchema, c.req.param('accountId'), 'accountId');
  const body = await jsonBody(c, SendMessagesRequestSchema);
  return c.json(await acceptSend(c.get('services'), c.get('auth'), destination, body));
});
