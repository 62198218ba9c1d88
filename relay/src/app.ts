import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import type { AppEnv, Services } from './context.js';
import { allowedOrigins } from './env.js';
import { onError, RelayError } from './errors.js';
import { accountRoutes } from './routes/accounts.js';
import { attachmentRoutes } from './routes/attachments.js';
import { authRoutes } from './routes/auth.js';
import { callingRoutes } from './routes/calling.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { messageRoutes } from './routes/messages.js';

/** Attachment bytes (PATCH /v1/attachments/:id) are streamed to disk under their own limits, not the JSON one. */
const isBlobUpload = (method: string, path: string) => method === 'PATCH' && path.startsWith('/v1/attachments/');

/** Builds the relay's HTTP app around its services. Never listens: server.ts does. */
export function createApp(services: Services) {
  const { env, logger, metrics } = services;
  const origins = allowedOrigins(env);
  const jsonLimit = bodyLimit({
    maxSize: env.MAX_BODY_BYTES,
    onError: () => {
      throw new RelayError({ code: 'payload_too_large', message: `body larger than ${env.MAX_BODY_BYTES} bytes` });
    },
  });

  const app = new Hono<AppEnv>()
    .use(requestId({ headerName: 'X-Request-Id' }))
    .use(async (c, next) => {
      c.set('services', services);
      const started = performance.now();
      await next();
      const seconds = (performance.now() - started) / 1000;
      const route = c.req.routePath || 'unmatched';
      metrics.requestDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
      // Never the body, the query string or headers: only what is needed to operate the service.
      logger.info(
        {
          requestId: c.get('requestId'),
          method: c.req.method,
          route,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    })
    .use(
      '/v1/*',
      cors({
        origin: origins,
        allowHeaders: ['Authorization', 'Content-Type', 'Upload-Offset', 'Range'],
        allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'],
        exposeHeaders: ['Upload-Offset', 'Upload-Length', 'Content-Range', 'Location', 'Retry-After'],
        maxAge: 600,
      }),
    )
    .use('/v1/*', async (c, next) => {
      if (isBlobUpload(c.req.method, c.req.path) || c.req.method === 'GET' || c.req.method === 'HEAD') {
        return next();
      }
      // Node's HTTP parser never reads past Content-Length, so a declared length is enough to check; only
      // chunked bodies need the (costly) counting stream of bodyLimit.
      const declared = c.req.header('content-length');
      if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
        if (Number(declared) > env.MAX_BODY_BYTES) {
          throw new RelayError({ code: 'payload_too_large', message: `body larger than ${env.MAX_BODY_BYTES} bytes` });
        }
        return next();
      }
      return jsonLimit(c, next);
    })
    .route('/', healthRoutes)
    .route('/v1/accounts', accountRoutes)
    .route('/v1/auth', authRoutes)
    .route('/v1/devices', deviceRoutes)
    .route('/v1/keys', keyRoutes)
    .route('/v1/messages', messageRoutes)
    .route('/v1/calling', callingRoutes)
    .route('/v1/attachments', attachmentRoutes);

  app.notFound(() => {
    throw new RelayError({ code: 'not_found', message: 'no such route' });
  });
  app.onError(onError);
  return app;
}

export type RelayApp = ReturnType<typeof createApp>;
export type AppType = RelayApp;
