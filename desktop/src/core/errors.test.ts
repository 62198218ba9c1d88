import { ErrorCode, LibSignalErrorBase, PreKeySignalMessage } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { fromLibSignal, SottoError } from './errors.js';

describe('errors', () => {
  it('narrows with is(code)', () => {
    const error = new SottoError('locked', 'locked');
    expect(error.is('locked')).toBe(true);
    expect(error.is('wrong_key')).toBe(false);
    expect(SottoError.is(error, 'locked')).toBe(true);
  });

  it('maps libsignal errors by code, not message', () => {
    let thrown: unknown;
    try {
      PreKeySignalMessage.deserialize(new Uint8Array([1, 2, 3]));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LibSignalErrorBase);
    const mapped = fromLibSignal(thrown, 'parse');
    expect(mapped.code).toBe('invalid_message');
    expect(mapped.cause).toBe(thrown);
    const duplicate = Object.assign(Object.create(LibSignalErrorBase.prototype) as LibSignalErrorBase, {
      code: ErrorCode.DuplicatedMessage,
      message: 'anything at all',
    });
    expect(fromLibSignal(duplicate, 'decrypt').code).toBe('duplicate_message');
  });
});
