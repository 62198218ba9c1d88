import { LibSignalErrorBase, ErrorCode as SignalErrorCode } from '@signalapp/libsignal-client';

/** Every failure the core reports. Closed: add a code here before throwing a new kind. */
export type SottoErrorCode =
  | 'no_secret_store'
  | 'locked'
  | 'wrong_key'
  | 'invalid_recovery_key'
  | 'no_profile'
  | 'profile_exists'
  | 'invalid_argument'
  | 'not_found'
  | 'relay_unreachable'
  | 'relay_error'
  | 'invalid_response'
  | 'untrusted_identity'
  | 'duplicate_message'
  | 'invalid_message'
  | 'invalid_key'
  | 'invalid_session'
  | 'invalid_content'
  | 'protocol'
  | 'closed'
  | 'unregistered'
  | 'internal';

export interface SottoErrorOptions {
  cause?: unknown;
  /** The relay's error code and HTTP status when `code` is `relay_error`. */
  relayCode?: string;
  status?: number;
  details?: Record<string, unknown>;
}

export class SottoError extends Error {
  override readonly name = 'SottoError';
  readonly code: SottoErrorCode;
  readonly relayCode: string | undefined;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SottoErrorCode, message: string, options: SottoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.relayCode = options.relayCode;
    this.status = options.status;
    this.details = options.details;
  }

  is<C extends SottoErrorCode>(code: C): this is SottoError & { code: C } {
    return this.code === code;
  }

  static is(error: unknown, code: SottoErrorCode): error is SottoError {
    return error instanceof SottoError && error.code === code;
  }
}

/** The relay refused this device's own secret: it was removed, or its account deleted. Retrying cannot help. */
export function unregisteredError(cause?: unknown): SottoError {
  return new SottoError(
    'unregistered',
    'the relay no longer accepts this device: it was removed from its account, or the account was deleted. ' +
      'Register again to use this relay',
    { cause, status: 401 },
  );
}

/** Maps libsignal failures by their code (never their message text). Other errors pass through wrapped. */
export function fromLibSignal(error: unknown, operation: string): SottoError {
  if (error instanceof SottoError) {
    return error;
  }
  if (error instanceof LibSignalErrorBase) {
    const code = mapSignalCode(error.code);
    return new SottoError(code, `${operation}: ${code}`, { cause: error });
  }
  return new SottoError('internal', `${operation} failed`, { cause: error });
}

function mapSignalCode(code: SignalErrorCode): SottoErrorCode {
  switch (code) {
    case SignalErrorCode.UntrustedIdentity:
      return 'untrusted_identity';
    case SignalErrorCode.DuplicatedMessage:
      return 'duplicate_message';
    case SignalErrorCode.InvalidSession:
      return 'invalid_session';
    case SignalErrorCode.VerificationFailed:
      return 'invalid_key';
    case SignalErrorCode.InvalidRegistrationId:
    case SignalErrorCode.InvalidProtocolAddress:
      return 'invalid_argument';
    default:
      return 'invalid_message';
  }
}

/** A short, secret-free description for logs. */
export function toLogFormat(error: unknown): string {
  if (error instanceof SottoError) {
    return `${error.code}: ${error.message}`;
  }
  if (error instanceof LibSignalErrorBase) {
    return `libsignal ${String(error.code)}`;
  }
  if (error instanceof Error) {
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}

export function missingCaseError(value: never): Error {
  return new Error(`unhandled case: ${String(value)}`);
}
