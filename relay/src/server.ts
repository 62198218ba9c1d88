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
    relay.services.metrics.includeProcess();
    port = await relay.listen(env.PORT, env.HOST);
  } catch (err) {
    failedToStart(err, env);
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

/** One fatal JSON line, with what to do when the cause is known (`env` once it is loaded), then exit 1. */
function failedToStart(err: unknown, env?: Parameters<typeof startupHint>[1]): never {
  const hint = env ? startupHint(err, env) : undefined;
  const msg = hint ? `relay failed to start: ${hint}` : 'relay failed to start';
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg, err: toLogFormat(err) })}\n`);
  process.exit(1);
}

main().catch((err: unknown) => failedToStart(err));
