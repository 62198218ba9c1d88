import { describe, expect, it } from 'vitest';
import { useRelayProcess } from '../reliability/support/relay-fixture.js';
import { registerDevice } from '../support/client.js';
import { metricValue } from '../support/prometheus.js';

const METRICS_TOKEN = 'metrics-token-0123456789';
const fx = useRelayProcess({ env: { LOG_LEVEL: 'warn', METRICS_TOKEN } });

async function scrape(): Promise<string> {
  const res = await fetch(`${fx.relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('the relay server process', () => {
  it("adds its process's figures to /metrics: CPU, memory, open files, GC pauses and event-loop lag", async () => {
    // Some work, so that its event loop has turned.
    for (let i = 0; i < 5; i++) {
      await registerDevice(fx.relay.url);
    }
    const text = await scrape();
    expect(metricValue(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // The relay's RSS as the kernel sees it, give or take what it allocated between the two readings.
    const rss = metricValue(text, 'process_resident_memory_bytes') ?? 0;
    expect(Math.abs(rss - fx.relay.rss()) / rss).toBeLessThan(0.25);
    expect(metricValue(text, 'process_open_fds')).toBeGreaterThan(10);
    expect(metricValue(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // A histogram by kind (samples appear with the first collection, which a few requests may not cause yet).
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
    expect(metricValue(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0);
    // The app's own metrics are still there, once each.
    expect(text.match(/^# TYPE sotto_messages_accepted_total counter$/gm)).toHaveLength(1);
  });
});
