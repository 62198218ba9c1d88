import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 8787);
serve({ fetch: createApp().fetch, port, hostname: process.env.HOST ?? '0.0.0.0' }, (info) => {
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'relay listening', port: info.port })}\n`);
});
