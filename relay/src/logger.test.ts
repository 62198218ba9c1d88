import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logger', () => {
  it('redacts tokens, secrets and ciphertext', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info(
      {
        headers: { authorization: 'Bearer SECRET-A' },
        accessToken: 'SECRET-B',
        refreshToken: 'SECRET-C',
        deviceSecret: 'SECRET-D',
        frame: { token: 'SECRET-E', content: 'SECRET-F' },
      },
      'hello',
    );
    const out = lines.join('');
    expect(out).toContain('"msg":"hello"');
    expect(out).not.toMatch(/SECRET-/);
  });
});
