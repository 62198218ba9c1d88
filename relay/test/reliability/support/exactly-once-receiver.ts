import { type ServerFrame, ServerFrameSchema } from '@sotto/shared-types';
import WebSocket from 'ws';
import type { TestDevice } from '../../support/client.js';
import { decodeProbe } from './probe.js';

export interface Delivery {
  guid: string;
  sender: string;
  seq: number;
  at: number;
  serverTimestamp: number;
}

export interface ReceiverOptions {
  /** WebSocket URLs to use; on a failed connection the receiver moves to the next one. */
  urls: string[];
  /** Probability of dropping the connection after recording an envelope and before acking it. */
  dropBeforeAck?: number;
  /** No frame for this long (while pinging every second) means the path is dead: reconnect. */
  deadAfterMs?: number;
}

/**
 * A relay-level client with exactly-once display: it records each envelope's GUID (its "commit") before
 * acking, acks again what it already has, and reconnects by itself (moving to another instance when one
 * is unreachable). What it displayed is `deliveries`.
 */
export class ExactlyOnceReceiver {
  readonly deliveries: Delivery[] = [];
  /** Same GUID shown twice (must never happen: it is what the GUID record prevents). */
  displayedTwice = 0;
  /** Envelopes the relay sent again after a lost ack (expected under faults; not displayed again). */
  redelivered = 0;
  connects = 0;
  refused = 0;
  private readonly committed = new Set<string>();
  private ws: WebSocket | undefined;
  private stopped = false;
  private urlIndex = 0;
  private lastFrameAt = 0;
  private pinger: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly device: TestDevice,
    private readonly options: ReceiverOptions,
  ) {}

  start(): void {
    this.connect();
    this.pinger = setInterval(() => this.checkAlive(), 1000);
  }

  /** True when this GUID was displayed. */
  has(guid: string): boolean {
    return this.committed.has(guid);
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  private connect(): void {
    if (this.stopped) {
      return;
    }
    const url = this.options.urls[this.urlIndex % this.options.urls.length] as string;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.device.accessToken}` } });
    this.ws = ws;
    this.lastFrameAt = Date.now();
    let opened = false;
    ws.on('open', () => {
      opened = true;
      this.connects += 1;
    });
    ws.on('unexpected-response', (_req, res) => {
      this.refused += 1;
      res.resume();
      ws.terminate();
    });
    ws.on('message', (data) => {
      this.lastFrameAt = Date.now();
      let frame: ServerFrame;
      try {
        frame = ServerFrameSchema.parse(JSON.parse(data.toString()));
      } catch {
        return;
      }
      if (frame.type === 'envelope') {
        this.onEnvelope(ws, frame.envelope.guid, frame.envelope.content, frame.envelope.serverTimestamp);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws !== ws) {
        return;
      }
      this.ws = undefined;
      if (!opened) {
        this.urlIndex += 1;
      }
      this.scheduleReconnect(opened ? 100 : 250);
    });
  }

  private scheduleReconnect(ms: number): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), ms);
  }

  private checkAlive(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      if (ws && Date.now() - this.lastFrameAt > (this.options.deadAfterMs ?? 4000)) {
        ws.terminate();
      }
      return;
    }
    if (Date.now() - this.lastFrameAt > (this.options.deadAfterMs ?? 4000)) {
      // Nothing came back (not even pongs): the path is dead. Drop it and move to the next URL.
      this.urlIndex += 1;
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify({ type: 'ping' }));
  }

  private onEnvelope(ws: WebSocket, guid: string, content: string, serverTimestamp: number): void {
    if (this.committed.has(guid)) {
      this.redelivered += 1;
    } else {
      const probe = decodeProbe(content);
      this.committed.add(guid);
      this.deliveries.push({
        guid,
        sender: probe?.sender ?? '?',
        seq: probe?.seq ?? -1,
        at: Date.now(),
        serverTimestamp,
      });
      for (const w of this.waiters) {
        w();
      }
      if (this.options.dropBeforeAck && Math.random() < this.options.dropBeforeAck) {
        // Recorded but not acked: the relay must send it again, and it must not be displayed twice.
        ws.terminate();
        return;
      }
    }
    ws.send(JSON.stringify({ type: 'ack', guids: [guid] }));
  }

  /** Resolves once every GUID in `guids` was displayed, or after `timeoutMs` (returns false then). */
  async waitForAll(guids: Iterable<string>, timeoutMs: number): Promise<boolean> {
    const wanted = [...guids];
    const deadline = Date.now() + timeoutMs;
    while (!wanted.every((g) => this.committed.has(g))) {
      const left = deadline - Date.now();
      if (left <= 0) {
        return false;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 250));
        this.waiters.add(done);
      });
    }
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pinger);
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
    for (const w of this.waiters) {
      w();
    }
  }
}
