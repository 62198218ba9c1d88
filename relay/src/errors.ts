import { describeIssues, type ErrorBody, type ErrorCode, issuePaths } from '@sotto/shared-types';
import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { AppEnv } from './context.js';
import { toLogFormat } from './logger.js';

/** The HTTP status of each error code. */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  username_taken: 409,
  stale_devices: 409,
  stale_registration: 410,
  gone: 410,
  payload_too_large: 413,
  quota_exceeded: 413,
  device_limit: 403,
  registration_closed: 403,
  invalid_invite: 403,
  invalid_signature: 400,
  identity_key_exists: 409,
  rate_limited: 429,
  request_timeout: 408,
  range_not_satisfiable: 416,
  unavailable: 503,
  internal: 500,
};

type Extra = Omit<ErrorBody['error'], 'code' | 'message' | 'requestId'>;

export interface RelayErrorOptions {
  code: ErrorCode;
  message: string;
  extra?: Extra;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The relay's one error type. Throw it anywhere in a request; app.onError renders the ErrorBody. */
export class RelayError extends HTTPException {
  readonly code: ErrorCode;
  readonly extra: Extra;
  readonly headers: Record<string, string>;

  constructor({ code, message, extra, headers, cause }: RelayErrorOptions) {
    super(STATUS_OF[code], { message, cause });
    this.name = 'RelayError';
    this.code = code;
    this.extra = extra ?? {};
    this.headers = headers ?? {};
  }

  is(code: ErrorCode): boolean {
    return this.code === code;
  }

  static fromZod(error: z.ZodError, where = 'body'): RelayError {
    return new RelayError({
      code: 'bad_request',
      message: `invalid ${where}: ${describeIssues(error)}`.slice(0, 1000),
      extra: { fields: issuePaths(error) },
    });
  }
}

const POSTGRES_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02',
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
]);

/** True when an error means "the database (or another backing service) is unreachable". */
export function isUnavailableError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && POSTGRES_DOWN_CODES.has(code)) {
    return true;
  }
  const errors = (err as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.some(isUnavailableError);
}

/** True when a write referred to a row that is gone (Postgres foreign_key_violation), say a device removed meanwhile. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23503';
}

/** Any failure as the relay's one error type: RelayError as is, an outage as 503, anything else as 500. */
export function asRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) {
    return err;
  }
  if (isUnavailableError(err)) {
    return new RelayError({ code: 'unavailable', message: 'a backing service is unavailable', cause: err });
  }
  if (err instanceof HTTPException) {
    const code = codeForStatus(err.status);
    return new RelayError({ code, message: err.message || code });
  }
  return new RelayError({ code: 'internal', message: 'internal error' });
}

/** The one JSON error shape, for HTTP responses and socket `send_error` frames alike. */
export function errorBody(error: RelayError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, requestId, ...error.extra } };
}

/** The one error handler: every failure becomes an ErrorBody with the request id. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const requestId = c.get('requestId') ?? 'unknown';
  const relayError = asRelayError(err);
  const services = c.get('services');
  if (relayError.status >= 500) {
    services?.logger.error({ requestId, err: toLogFormat(err) }, 'request failed');
  }
  for (const [name, value] of Object.entries(relayError.headers)) {
    c.header(name, value);
  }
  return c.json(errorBody(relayError, requestId), relayError.status as ContentfulStatusCode);
};

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status < 500 ? 'bad_request' : 'internal';
  }
}
