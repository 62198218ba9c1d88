import { afterEach, describe, expect, it, vi } from 'vitest';
import { relayBaseUrl } from './http-client.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

// The device secret is sent at registration and on every token request: over plain http to another
// machine anyone on the way could take this device's place at the relay.
describe('the relay URL given at registration', () => {
  it('takes https anywhere and plain http on this machine only', () => {
    expect(relayBaseUrl('https://relay.example.org/')).toBe('https://relay.example.org');
    expect(relayBaseUrl('wss://relay.example.org/sotto')).toBe('https://relay.example.org/sotto');
    expect(relayBaseUrl('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(relayBaseUrl('ws://127.0.0.2:8787')).toBe('http://127.0.0.2:8787');
    expect(relayBaseUrl('http://localhost:8787')).toBe('http://localhost:8787');
    expect(relayBaseUrl('http://[::1]:8787')).toBe('http://[::1]:8787');
  });

  it('refuses plain http to another machine, saying what to do', () => {
    for (const url of [
      'http://relay.example.org',
      'ws://relay.example.org',
      'http://192.168.1.10:8787',
      'http://127.0.0.1.example.org',
    ]) {
      expect(() => relayBaseUrl(url)).toThrow(/would be reached without encryption \(http:\/\/\).*use https:\/\//);
    }
  });

  it('takes plain http to another machine when SOTTO_ALLOW_PLAIN_HTTP=1 (a test relay on the local network)', () => {
    vi.stubEnv('SOTTO_ALLOW_PLAIN_HTTP', '1');
    expect(relayBaseUrl('http://192.168.1.10:8787')).toBe('http://192.168.1.10:8787');
  });
});
