import { describe, expect, it } from 'vitest';
import { api, newDeviceSecret, uniqueUsername } from '../test/support/client.js';
import { useRelay } from '../test/support/fixture.js';
import { forwardedClient } from './client-ip.js';

const fx = useRelay({ env: { TRUST_PROXY: 'true', RATE_REGISTER_POINTS: '2' } });

describe('forwardedClient', () => {
  it('takes the entry the trusted proxy appended (the last), never one the client sent', () => {
    expect(forwardedClient('203.0.113.7')).toBe('203.0.113.7');
    expect(forwardedClient('10.0.0.1, 203.0.113.7')).toBe('203.0.113.7');
    expect(forwardedClient('10.0.0.1,10.0.0.2 ,  2001:db8::1 ')).toBe('2001:db8::1');
    expect(forwardedClient('10.0.0.1, ')).toBeUndefined();
    expect(forwardedClient('')).toBeUndefined();
    expect(forwardedClient(undefined)).toBeUndefined();
  });
});

describe('per-IP limits behind a proxy that appends to X-Forwarded-For', () => {
  it('count the address the proxy saw, however the client varies what it sends before it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api(fx.relay.url, 'POST', '/v1/accounts', {
        body: { username: uniqueUsername(), deviceSecret: newDeviceSecret(), registrationId: 1 + i },
        headers: { 'x-forwarded-for': `10.0.0.${i}, 127.0.0.1` },
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
  });
});
