import type { Duplex } from 'node:stream';
import {
  type ClientFrame,
  CloseCode,
  MAX_CLIENT_FRAME_BYTES,
  MAX_SENDS_IN_FLIGHT,
  SendIdSchema,
  type SendMessagesRequest,
  type SendMessagesResponse,
  ServerFrameSchema,
} from '@sotto/shared-types';
import WebSocket from 'ws';
import { z } from 'zod';
import { missingCaseError, SottoError, toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import type { RelaySocket, SocketHandlers } from './relay-api.js';
import { relayError } from './relay-error.js';

const log = createLogger('relay-socket');
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/**
 * Another connection of this device took over (close "connected elsewhere": the same profile open in the
 * app and a `sotto receive`, say). Reconnecting at once would take it back, and the two would push each
 * other off several times a second; this one waits instead, doubling while it keeps happening.
 */
const DISPLACED_RETRY_MS = 30_000;
const MAX_DISPLACED_RETRY_MS = 5 * 60_000;
const PING_INTERVAL_MS = 25_000;
/**
 * After a ping, some frame (the relay answers `pong`) must arrive within this long, or the connection is taken
 * for dead and replaced. A half-open connection (the laptop woke, the network changed) otherwise stays
 * "online" receiving nothing until TCP gives up, about a quarter of an hour later.
 */
const LIVENESS_TIMEOUT_MS = 10_000;
/** As long as an HTTP request may take (REQUEST_TIMEOUT_MS in http-client.ts). */
const SEND_TIMEOUT_MS = 15_000;

/** Just enough of a result frame the full schema refused to settle its send. */
const UnreadableResultSchema = z.object({
  type: z.enum(['send_result', 'send_error']),
  id: SendIdSchema,
  status: z.int().optional(),
});

interface PendingSend {
  /** The connection the frame went out on: only its answer or its close settles the send. */
  ws: WebSocket;
  timer: NodeJS.Timeout;
  resolve: (body: SendMessagesResponse) => void;
  reject: (error: SottoError) => void;
}

export interface ReconnectingSocketOptions {
  url: string;
  token: () => Promise<string>;
  handlers: SocketHandlers;
  /** First wait after being displaced by another connection of this device (default DISPLACED_RETRY_MS). */
  displacedRetryMs?: number;
  /** The relay refused the token (revoked, or the device removed): the next `token()` must not return it. */
  invalidateToken?: () => void;
  /** How often a `ping` frame goes out (default PING_INTERVAL_MS). */
  pingIntervalMs?: number;
  /** Silence after a ping for this long ends the connection, and it reconnects (default LIVENESS_TIMEOUT_MS). */
  livenessTimeoutMs?: number;
}

/**
 * The relay WebSocket: bearer token on the upgrade, frames validated, reconnects with jittered exponential
 * backoff. Once the relay said `ready` it also carries sends (`send` frames, answered by id).
 */
export class ReconnectingSocket implements RelaySocket {
  #ws: WebSocket | undefined;
  /** The TCP socket under #ws (from its upgrade response), corked while a burst of frames is written. */
  #tcp: Duplex | undefined;
  #corked = false;
  /** The current connection is authenticated: the relay sent `ready` and it has not closed since. */
  #ready = false;
  #closed = false;
  #lastSendId = 0;
  readonly #sends = new Map<number, PendingSend>();
  #attempt = 0;
  /** Times in a row another connection of this device took over. */
  #displaced = 0;
  #readyAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  /** Set by a ping while no frame has arrived since: fires if none comes in time. */
  #liveness: { ws: WebSocket; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly options: ReconnectingSocketOptions) {
    void this.#connect();
  }

  ack(guids: string[], onWritten?: () => void): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || guids.length === 0) {
      return; // unacked envelopes are redelivered after reconnecting; their GUIDs are already recorded
    }
    this.#corkForThisTick();
    for (let i = 0; i < guids.length; i += 256) {
      const frame: ClientFrame = { type: 'ack', guids: guids.slice(i, i + 256) };
      const last = i + 256 >= guids.length;
      ws.send(JSON.stringify(frame), last && onWritten ? () => onWritten() : undefined);
    }
  }

  /**
   * The same request as `PUT /v1/messages/:destination`, on the socket. Returns undefined when the socket
   * cannot take it: not authenticated and open, MAX_SENDS_IN_FLIGHT sends unanswered, or a frame larger
   * than MAX_CLIENT_FRAME_BYTES; the caller sends over HTTP then. The promise settles as the PUT would:
   * the response body, the `relay_error` the same refusal over HTTP gives (409, 410, 429 …), or
   * `relay_unreachable` when the connection closed first or the relay did not answer within
   * SEND_TIMEOUT_MS. The send may then have been committed: a retry resends the same ciphertexts, which
   * the recipient drops as duplicates.
   */
  send(destination: string, request: SendMessagesRequest): Promise<SendMessagesResponse> | undefined {
    const ws = this.#ws;
    if (!this.#ready || !ws || ws.readyState !== WebSocket.OPEN || this.#sends.size >= MAX_SENDS_IN_FLIGHT) {
      return undefined;
    }
    const id = this.#nextSendId();
    const text = JSON.stringify({ type: 'send', id, destination, request } satisfies ClientFrame);
    if (Buffer.byteLength(text) > MAX_CLIENT_FRAME_BYTES) {
      return undefined; // the relay would close the socket (1009); the PUT takes far larger bodies
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(new SottoError('relay_unreachable', 'the relay did not answer a send in time'));
        // The relay answers every send it reads: no answer for this long means a dead connection (the
        // client notices no other way), so reconnect instead of sending more into it.
        ws.terminate();
      }, SEND_TIMEOUT_MS);
      timer.unref();
      this.#sends.set(id, { ws, timer, resolve, reject });
      this.#corkForThisTick();
      ws.send(text, (error) => {
        if (error) {
          this.#settle(id)?.reject(
            new SottoError('relay_unreachable', 'could not write to the relay', { cause: error }),
          );
        }
      });
    });
  }

  /**
   * The frames written in this tick (a run of sends, acks) leave in one system call instead of one each:
   * the sending client spent more time in `writev` than in encryption.
   */
  #corkForThisTick(): void {
    const tcp = this.#tcp;
    if (this.#corked || !tcp) {
      return;
    }
    this.#corked = true;
    tcp.cork();
    process.nextTick(() => {
      this.#corked = false;
      tcp.uncork();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = false;
    clearTimeout(this.#timer);
    clearInterval(this.#ping);
    clearTimeout(this.#liveness?.timer);
    this.#liveness = undefined;
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(CloseCode.normal);
        setTimeout(resolve, 1000).unref();
      });
    }
    this.#rejectSends(undefined);
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
      if (SottoError.is(error, 'unregistered')) {
        // Retrying cannot help: the device is gone from the relay. Say so and stop.
        this.options.handlers.onState('unregistered');
        return;
      }
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
    this.#tcp = undefined;
    ws.on('upgrade', (response) => {
      if (this.#ws === ws) {
        this.#tcp = response.socket;
      }
    });
    ws.on('message', (data) => {
      this.#heard(ws);
      this.#onMessage(data.toString());
    });
    ws.on('ping', () => this.#heard(ws));
    ws.on('pong', () => this.#heard(ws));
    ws.on('open', () => {
      this.#ping = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: 'ping' } satisfies ClientFrame));
          this.#expectFrame(ws);
        }
      }, this.options.pingIntervalMs ?? PING_INTERVAL_MS);
    });
    ws.on('unexpected-response', (_request, response) => {
      if (response.statusCode === 401) {
        this.options.invalidateToken?.(); // the upgrade refused the token
      }
      response.resume();
      ws.terminate(); // what ws does itself without this listener: an error, then close (and a retry)
    });
    ws.on('error', (error) => log.debug('socket error', { error: toLogFormat(error) }));
    ws.on('close', (code) => {
      clearInterval(this.#ping);
      this.#heard(ws);
      if (this.#ws === ws) {
        this.#ws = undefined;
        this.#ready = false;
      }
      this.#rejectSends(ws);
      log.debug('socket closed', { code });
      if (!this.#closed) {
        this.options.handlers.onState(code === CloseCode.connectedElsewhere ? 'elsewhere' : 'offline');
        if (code === CloseCode.revoked || code === CloseCode.unauthorized) {
          this.options.invalidateToken?.();
        }
        if (code === CloseCode.connectedElsewhere) {
          this.#scheduleAfterDisplaced();
        } else {
          this.#scheduleReconnect();
        }
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
      this.#settleUnreadable(json);
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'ready':
        this.#attempt = 0;
        this.#readyAt = Date.now();
        this.#ready = true;
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
      case 'send_result':
        this.#settle(frame.id)?.resolve(frame.body);
        return;
      case 'send_error':
        this.#settle(frame.id)?.reject(relayError(frame.status, frame.body));
        return;
      default:
        throw missingCaseError(frame);
    }
  }

  /**
   * After a ping: unless a frame arrives within the liveness timeout, terminate the connection (its close
   * handler reconnects, and its unanswered sends fail as unreachable and are retried). A timer already running
   * since an earlier ping is kept, so a timeout longer than the ping interval still fires.
   */
  #expectFrame(ws: WebSocket): void {
    if (this.#liveness) {
      return;
    }
    const timeoutMs = this.options.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS;
    const timer = setTimeout(() => {
      // Checked after the poll phase: a frame that came in while this process was busy (a long transaction)
      // is read first, and is not taken for silence.
      setImmediate(() => {
        if (this.#liveness?.timer === timer) {
          this.#liveness = undefined;
          log.warn('no frame from the relay since a ping: reconnecting', { timeoutMs });
          ws.terminate();
        }
      });
    }, timeoutMs);
    timer.unref();
    this.#liveness = { ws, timer };
  }

  /** A frame arrived on `ws` (or it closed): it is alive, or no longer ours to watch. */
  #heard(ws: WebSocket): void {
    if (this.#liveness?.ws === ws) {
      clearTimeout(this.#liveness.timer);
      this.#liveness = undefined;
    }
  }

  #nextSendId(): number {
    do {
      this.#lastSendId = (this.#lastSendId + 1) % 2 ** 31;
    } while (this.#sends.has(this.#lastSendId));
    return this.#lastSendId;
  }

  /** Takes a send out of the pending map (undefined if it was settled already). */
  #settle(id: number): PendingSend | undefined {
    const pending = this.#sends.get(id);
    if (pending) {
      this.#sends.delete(id);
      clearTimeout(pending.timer);
    }
    return pending;
  }

  /** A connection closed (undefined: the socket was closed for good): its unanswered sends fail, retryably. */
  #rejectSends(ws: WebSocket | undefined): void {
    for (const [id, pending] of this.#sends) {
      if (ws === undefined || pending.ws === ws) {
        this.#settle(id)?.reject(
          new SottoError('relay_unreachable', 'the relay connection closed before the send was answered'),
        );
      }
    }
  }

  /**
   * A send's answer that does not match the contract still settles it, as the PUT would: an error status
   * without a readable body is a `relay_error` for that status, an unreadable result is `invalid_response`.
   */
  #settleUnreadable(json: unknown): void {
    const result = UnreadableResultSchema.safeParse(json);
    if (!result.success) {
      return;
    }
    const { type, id, status } = result.data;
    this.#settle(id)?.reject(
      type === 'send_error' && status !== undefined
        ? relayError(status, undefined)
        : new SottoError('invalid_response', 'relay answered a send with a frame that does not match the contract'),
    );
  }

  #scheduleAfterDisplaced(): void {
    const first = this.options.displacedRetryMs ?? DISPLACED_RETRY_MS;
    if (Date.now() - this.#readyAt > MAX_DISPLACED_RETRY_MS) {
      this.#displaced = 0; // held the connection a good while: a new round
    }
    const wait = Math.min(MAX_DISPLACED_RETRY_MS, first * 2 ** this.#displaced) * (0.75 + Math.random() * 0.5);
    this.#displaced += 1;
    log.warn('another connection of this device took over: trying again later', { seconds: Math.round(wait / 1000) });
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), wait);
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
