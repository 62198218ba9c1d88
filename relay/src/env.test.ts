import { MAX_DEVICES_PER_SEND } from '@sotto/shared-types';
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

  it('caps MAX_DEVICES_PER_ACCOUNT at the devices one send can carry, saying why', () => {
    expect(loadEnv({ MAX_DEVICES_PER_ACCOUNT: String(MAX_DEVICES_PER_SEND) }).MAX_DEVICES_PER_ACCOUNT).toBe(
      MAX_DEVICES_PER_SEND,
    );
    let error: unknown;
    try {
      loadEnv({ MAX_DEVICES_PER_ACCOUNT: String(MAX_DEVICES_PER_SEND + 1) });
    } catch (err) {
      error = err;
    }
    expect((error as EnvError).problems).toEqual([
      `MAX_DEVICES_PER_ACCOUNT: at most ${MAX_DEVICES_PER_SEND}: one send carries at most ${MAX_DEVICES_PER_SEND} devices, so an account with more could never be messaged`,
    ]);
  });

  it('refuses ports, URLs and TURN URIs that cannot work, and takes an empty value as unset', () => {
    let error: unknown;
    try {
      loadEnv({
        PORT: '70000',
        DATABASE_URL: 'http://db.example:5432/sotto',
        REDIS_URL: 'redis.example:6379',
        PUBLIC_URL: 'ftp://relay.example',
        TURN_URLS: 'turn:turn.example:3478, turn.example:3478',
      });
    } catch (err) {
      error = err;
    }
    expect((error as EnvError).problems).toEqual([
      'PORT: Too big: expected number to be <=65535',
      'DATABASE_URL: expected a postgres:// URL',
      'REDIS_URL: expected a redis:// or rediss:// URL',
      'PUBLIC_URL: expected a http:// or https:// URL',
      'TURN_URLS.1: expected turn:HOST[:PORT][?transport=udp|tcp], turns: or stun: URIs',
    ]);
    const env = loadEnv({
      PORT: '',
      DATABASE_URL: 'postgresql://sotto@db:5432/sotto',
      REDIS_URL: 'rediss://cache:6380',
      TURN_URLS: 'turn:turn.example:3478?transport=udp,turns:turn.example:5349,stun:turn.example',
    });
    expect(env.PORT).toBe(8787); // `PORT=` in an env file: the default, not a random port
    expect(env.TURN_URLS).toHaveLength(3);
    expect(loadEnv({ PORT: '0' }).PORT).toBe(0);
  });

  it('splits origin lists', () => {
    expect(loadEnv({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
