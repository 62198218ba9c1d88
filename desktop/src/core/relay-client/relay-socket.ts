import { type ClientFrame, CloseCode, ServerFrameSchema } from '@sotto/shared-types';
import WebSocket from 'ws';
import { toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import type { RelaySocket, SocketHandlers } from './relay-api.js';

const log = createLogger('relay-socket');
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
const PING_INTERVAL_MS = 25_000;

export interface ReconnectingSocketOptions {
  url: string;
  token: () => Promise<string>;
  handlers: SocketHandlers;
}

/** The relay WebSocket: bearer token on the upgrade, frames validated, reconnects with jittered exponential backoff. */
export class ReconnectingSocket implements RelaySocket {
  #ws: WebSocket | undefined;
  #closed = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectingSocketOptions) {
    void this.#connect();
  }

  ack(guids: string[], onWritten?: () => void): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || guids.length === 0) {
      return; // unacked envelopes are redelivered after reconnecting; their GUIDs are already recorded
    }
    for (let i = 0; i < guids.length; i += 256) {
      const frame: ClientFrame = { type: 'ack', guids: guids.slice(i, i + 256) };
      const last = i + 256 >= guids.length;
      ws.send(JSON.stringify(frame), last && onWritten ? () => onWritten() : undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ping);
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(CloseCode.normal);
        setTimeout(resolve, 1000).unref();
      });
    }
    this.options.handlers.onState('offline');
  }

  async #connect(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.options.handlers.onState('connecting');
    let token: string;
    try {
      token = await this.options.token();
    } catch (error) {
      log.warn('token failed', { error: toLogFormat(error) });
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      return;
    }
    const ws = new WebSocket(this.options.url, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: 10_000,
    });
    this.#ws = ws;
    ws.on('message', (data) => this.#onMessage(data.toString()));
    ws.on('open', () => {
      this.#ping = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: 'ping' } satisfies ClientFrame));
        }
      }, PING_INTERVAL_MS);
    });
    ws.on('error', (error) => log.debug('socket error', { error: toLogFormat(error) }));
    ws.on('close', (code) => {
      clearInterval(this.#ping);
      if (this.#ws === ws) {
        this.#ws = undefined;
      }
      log.debug('socket closed', { code });
      if (!this.#closed) {
        this.options.handlers.onState('offline');
        this.#scheduleReconnect();
      }
    });
  }

  #onMessage(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      log.warn('non-JSON frame from relay');
      return;
    }
    const parsed = ServerFrameSchema.safeParse(json);
    if (!parsed.success) {
      log.warn('invalid frame from relay');
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'ready':
        this.#attempt = 0;
        this.options.handlers.onState('online');
        return;
      case 'envelope':
        this.options.handlers.onEnvelope(frame.envelope);
        return;
      case 'queue_empty':
        this.#attempt = 0;
        this.options.handlers.onState('online');
        this.options.handlers.onQueueEmpty();
        return;
      case 'pong':
        return;
      case 'error':
        log.warn('relay socket error frame', { code: frame.code });
        return;
    }
  }

  #scheduleReconnect(): void {
    if (this.#closed) {
      return;
    }
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
