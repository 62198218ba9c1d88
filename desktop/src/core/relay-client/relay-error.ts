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
