import { generateKeyPairSync } from 'node:crypto';
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

  it('reads a JWT key written on one line with "\\n" (as .env.example says), and lists one that cannot sign', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const oneLine = pem.trim().split('\n').join('\\n');
    expect(loadEnv({ JWT_PRIVATE_KEY: oneLine }).JWT_PRIVATE_KEY).toBe(pem.trim());
    expect(loadEnv({ JWT_PRIVATE_KEY: pem }).JWT_PRIVATE_KEY).toBe(pem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const problems = (value: string) => {
      try {
        loadEnv({ JWT_PRIVATE_KEY: value, PORT: 'x' });
      } catch (err) {
        return (err as EnvError).problems;
      }
      return [];
    };
    expect(problems(rsa)).toEqual([
      'PORT: Invalid input: expected number, received NaN',
      'JWT_PRIVATE_KEY: expected an Ed25519 key, not rsa',
    ]);
    expect(problems('-----BEGIN PRIVATE KEY-----\\nnot a key\\n-----END PRIVATE KEY-----')[1]).toMatch(
      /^JWT_PRIVATE_KEY: expected a PKCS#8 PEM private key/,
    );
  });

  it('refuses ports, URLs and TURN URIs that cannot work, and takes an empty value as unset', () => {
    let error: unknown;
    try {
      loadEnv({
        PORT: '70000',
        DATABASE_URL: 'http://db.example:5432/sotto',
        REDIS_URL: 'redis.example:6379',
        TURN_URLS: 'turn:turn.example:3478, turn.example:3478',
      });
    } catch (err) {
      error = err;
    }
    expect((error as EnvError).problems).toEqual([
      'PORT: Too big: expected number to be <=65535',
      'DATABASE_URL: expected a postgres:// URL',
      'REDIS_URL: expected a redis:// or rediss:// URL',
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
