import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "[redacted]". Request bodies are never logged at all. */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'token',
  'accessToken',
  'refreshToken',
  'deviceSecret',
  'secret',
  'password',
  'inviteCode',
  'content',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.deviceSecret',
  '*.secret',
  '*.content',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sotto-relay' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A compact, secret-free description of an error for logs. */
export function toLogFormat(err: unknown): { name: string; message: string; code?: string; stack?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    };
  }
  return { name: 'NonError', message: String(err) };
}
