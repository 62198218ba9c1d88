import closeWithGrace from 'close-with-grace';
import { EnvError, loadEnv } from './env.js';
import { createLogger, toLogFormat } from './logger.js';
import { createRelay } from './relay.js';
import { startupHint } from './startup-hint.js';

/** The only file that listens. Prints one JSON line `"msg":"relay listening"` with the actual port. */
async function main(): Promise<void> {
  let env: ReturnType<typeof loadEnv>;
  try {
    env = loadEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(env.LOG_LEVEL);
  let relay: Awaited<ReturnType<typeof createRelay>>;
  let port: number;
  try {
    relay = await createRelay({ env, logger });
    port = await relay.listen(env.PORT, env.HOST);
  } catch (err) {
    const hint = startupHint(err, env);
    const msg = hint ? `relay failed to start: ${hint}` : 'relay failed to start';
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg, err: toLogFormat(err) })}\n`);
    process.exit(1);
  }
  logger.info({ port, host: env.HOST, embedded: relay.embedded, redis: Boolean(env.REDIS_URL) }, 'relay listening');

  closeWithGrace({ delay: env.SHUTDOWN_GRACE_MS + 5000 }, async ({ signal, err }) => {
    if (err) {
      logger.error({ err: toLogFormat(err) }, 'fatal error, shutting down');
    } else {
      logger.info({ signal }, 'shutting down');
    }
    await relay.close();
    logger.info('relay stopped');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'relay failed to start', err: toLogFormat(err) })}\n`);
  process.exit(1);
});
