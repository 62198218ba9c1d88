import { type ErrorBody, ErrorBodySchema } from '@sotto/shared-types';
import { SottoError } from '../errors.js';

/**
 * A refusal by the relay as the core sees it, whether it came as an HTTP response or as a socket
 * `send_error` frame: code `relay_error` with the relay's code, the HTTP status and the device lists
 * of a 409/410 (empty when the body has none). `body` undefined: the relay sent no valid error body.
 */
export function relayError(status: number, body: ErrorBody | undefined): SottoError {
  return new SottoError('relay_error', body ? `relay: ${body.error.message}` : `relay answered HTTP ${status}`, {
    relayCode: body?.error.code ?? `http_${status}`,
    status,
    details: {
      missingDevices: body?.error.missingDevices ?? [],
      extraDevices: body?.error.extraDevices ?? [],
      staleDevices: body?.error.staleDevices ?? [],
    },
  });
}

/** The same for an HTTP response's raw text, which may not be JSON or not an error body at all. */
export function relayErrorFromText(status: number, text: string): SottoError {
  let body: ErrorBody | undefined;
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    body = parsed.success ? parsed.data : undefined;
  } catch {
    body = undefined;
  }
  return relayError(status, body);
}

/**
 * True when the relay (or a proxy before it) answered a request with a refusal, a 4xx: the request took no
 * effect. Any other failure leaves that open: the connection dropped or timed out after the relay stored the
 * request, or a proxy answered 502/504 when the relay had done its work, and a 5xx may come after a commit.
 * A 401 after the token was renewed (or a refused token) is a refusal too: the request was never applied.
 */
export function relayRefused(error: unknown): boolean {
  return error instanceof SottoError && error.status !== undefined && error.status >= 400 && error.status < 500;
}
