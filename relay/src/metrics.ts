import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per relay instance (tests run two in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly messagesAccepted = new Counter({
    name: 'sotto_messages_accepted_total',
    help: 'Envelopes committed to a device queue (or handed to connected devices for online sends).',
    registers: [this.registry],
  });
  readonly messagesDelivered = new Counter({
    name: 'sotto_messages_delivered_total',
    help: 'Envelopes acknowledged by their destination device.',
    registers: [this.registry],
  });
  readonly openSockets = new Gauge({
    name: 'sotto_open_sockets',
    help: 'Authenticated WebSocket connections on this instance.',
    registers: [this.registry],
  });
  readonly ephemeralDropped = new Counter({
    name: 'sotto_ephemeral_dropped_total',
    help: 'Online (never queued) envelopes dropped because their socket had too much unread (see MAX_EPHEMERAL_BACKLOG_BYTES).',
    registers: [this.registry],
  });
  readonly socketSends = new Counter({
    name: 'sotto_socket_sends_total',
    help: 'Sends made with a socket `send` frame, by the HTTP status they were answered with.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'sotto_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /**
   * Adds the process's own figures (CPU, memory, open files, garbage-collection pauses by kind, event-loop
   * lag since the last scrape) under the usual `process_` and `nodejs_` names. Once per process: the server
   * calls it; relays created in a test process share it and leave it off.
   */
  includeProcess(): void {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  constructor(queueDepth: () => Promise<number>) {
    new Gauge({
      name: 'sotto_queue_depth',
      help: 'Envelopes waiting in device queues (all instances).',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await queueDepth());
        } catch {
          // Postgres down: leave the last value; /readyz reports the outage.
        }
      },
    });
  }
}
