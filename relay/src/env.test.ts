import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from './env.js';

describe('loadEnv', () => {
  it('gives the documented defaults', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({
      PORT: 8787,
      REGISTRATION_POLICY: 'open',
      MAX_DEVICES_PER_ACCOUNT: 6,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      SOTTO_DATA_DIR: './data',
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadEnv({ PORT: 'eighty', REGISTRATION_POLICY: 'maybe', REDIS_URL: 'nope', MAX_DEVICES_PER_ACCOUNT: '500' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvError);
    const problems = (error as EnvError).problems.join('\n');
    for (const name of ['PORT', 'REGISTRATION_POLICY', 'REDIS_URL', 'MAX_DEVICES_PER_ACCOUNT']) {
      expect(problems).toContain(name);
    }
  });

  it('splits origin lists', () => {
    expect(loadEnv({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
