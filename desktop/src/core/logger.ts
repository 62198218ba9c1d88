/**
 * A tiny structured logger for the core: JSON lines to stderr, off unless SOTTO_LOG_LEVEL is set.
 * Never pass plaintext, keys or tokens: only ids, counts and error codes.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(name: string, level = process.env.SOTTO_LOG_LEVEL as LogLevel | undefined): Logger {
  const threshold = level && level in ORDER ? ORDER[level] : Number.POSITIVE_INFINITY;
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < threshold) {
      return;
    }
    process.stderr.write(`${JSON.stringify({ level: lvl, time: Date.now(), name, msg, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
