import { createHmac } from 'node:crypto';
import type { HealthResponse, TurnCredentials } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import { api, errorCode, registerDevice, SocketClient, sendTo, target } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { metricValue } from '../../test/support/prometheus.js';

const METRICS_TOKEN = 'metrics-token-0123456789';
const fx = useRelay({
  env: {
    TURN_SECRET: 'turn-shared-secret-0123456789',
    TURN_URLS: 'turn:turn.example:3478,turns:turn.example:5349',
    TURN_TTL_SECONDS: '600',
    METRICS_TOKEN,
  },
});
/** No TURN secret, no metrics token. */
const noTurn = useRelay({});

describe('operability routes', () => {
  it('answers /healthz and /readyz with Postgres checked', async () => {
    const health = await api<HealthResponse>(fx.relay.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    const ready = await api<HealthResponse>(fx.relay.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok' });
  });

  it('exposes Prometheus metrics that count accepted and delivered messages and open sockets', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    await sendTo(alice, target(bob));
    const socket = await SocketClient.connect(fx.relay.wsUrl, bob.accessToken);
    socket.ack(socket.envelopes().map((e) => e.guid));
    await socket.sync();
    const res = await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    expect(res.status).toBe(200);
    const value = (name: string) => metricValue(text, name);
    expect(value('sotto_messages_accepted_total')).toBeGreaterThanOrEqual(1);
    expect(value('sotto_messages_delivered_total')).toBeGreaterThanOrEqual(1);
    expect(value('sotto_open_sockets')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('sotto_queue_depth');
    expect(text).toContain('sotto_http_request_duration_seconds_bucket');
    socket.close();
  });

  it('serves /metrics only with METRICS_TOKEN set, and only to its bearer', async () => {
    const off = await api(noTurn.relay.url, 'GET', '/metrics');
    expect(off.status).toBe(404);
    expect(JSON.stringify(off.body)).toContain('set METRICS_TOKEN');
    expect((await api(fx.relay.url, 'GET', '/metrics')).status).toBe(401);
    expect(
      (await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token' } })).status,
    ).toBe(401);
    const res = await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it('answers unknown routes with the JSON error shape', async () => {
    const r = await api(fx.relay.url, 'GET', '/v1/nothing');
    expect(r.status).toBe(404);
    expect(errorCode(r)).toBe('not_found');
  });
});

describe('GET /v1/calling/turn', () => {
  it('hands out coturn use-auth-secret credentials', async () => {
    const d = await registerDevice(fx.relay.url);
    const r = await api<TurnCredentials>(fx.relay.url, 'GET', '/v1/calling/turn', { token: d.accessToken });
    expect(r.status).toBe(200);
    expect(r.body.urls).toEqual(['turn:turn.example:3478', 'turns:turn.example:5349']);
    expect(r.body.ttl).toBe(600);
    const [expiry, account] = r.body.username.split(':');
    expect(account).toBe(d.accountId);
    expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000);
    const expected = createHmac('sha1', 'turn-shared-secret-0123456789').update(r.body.username).digest('base64');
    expect(r.body.credential).toBe(expected);
  });

  it('answers 401 without a token and 404 when no TURN server is configured', async () => {
    expect((await api(fx.relay.url, 'GET', '/v1/calling/turn')).status).toBe(401);
    const d = await registerDevice(noTurn.relay.url);
    expect((await api(noTurn.relay.url, 'GET', '/v1/calling/turn', { token: d.accessToken })).status).toBe(404);
  });
});
