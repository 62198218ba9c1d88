import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  type ClientFrame,
  ClientFrameSchema,
  CloseCode,
  type Envelope,
  MAX_IN_FLIGHT_ENVELOPES,
  MAX_SENDS_IN_FLIGHT,
  SendIdSchema,
  type ServerFrame,
} from '@sotto/shared-types';
import WebSocket from 'ws';
import { authenticate } from '../auth/require-auth.js';
import type { AuthInfo, Services } from '../context.js';
import { asRelayError, errorBody, RelayError } from '../errors.js';
import type { FanoutEvent } from '../fanout/fanout.js';
import { toLogFormat } from '../logger.js';
import { SendBudget } from '../rate-limits.js';
import { acceptSend, SEND_DEADLINE_MS, sendLimitKey } from '../send.js';
import { touchDevice } from '../store/devices.js';
import type { QueuedEnvelope } from '../store/messages.js';
import type { SocketStanding } from '../store/tokens.js';
import { corkUntilTurnEnds } from './turn-cork.js';

const READ_BATCH = 100;
const RETRY_MS = 1000;
/** Ack frames of one socket being deleted at once; beyond that the socket is not read until one commits. */
export const MAX_ACKS_IN_FLIGHT = 8;
/**
 * Bytes waiting for a socket's peer above which an `online` envelope for it is dropped. Such an envelope is
 * for whoever reads now and is never queued, so a peer that does not read misses it, as one that is not
 * connected would; without the bound, a sender could fill the relay's memory through a paused socket.
 */
export const MAX_EPHEMERAL_BACKLOG_BYTES = 1024 * 1024;

export interface SessionOptions {
  authTimeoutMs: number;
  /** Most unacked envelopes on the wire; the queue is not read further until acks come in. */
  maxInFlight?: number;
  /**
   * Longest a send waits for Postgres and Redis before it is answered anyway (see SEND_DEADLINE_MS); an ack
   * not committed by then stops holding back the socket's reads.
   */
  sendDeadlineMs?: number;
}

/**
 * One device's WebSocket. Authenticates (upgrade header or first `auth` frame), subscribes to the device's
 * doorbell, then streams the queue from Postgres in order (`ready`, queued envelopes, `queue_empty`, live
 * envelopes), at most `maxInFlight` unacked at a time. Acks delete by GUID from this device's queue only.
 * Once caught up, an envelope committed on this instance is sent straight from the commit, without reading
 * the queue back. `send` frames run concurrently (at most MAX_SENDS_IN_FLIGHT; beyond that the socket is not
 * read until results go out), each answered by its own `send_result` or `send_error`.
 */
export class DeviceSession {
  readonly connectionId = randomUUID();
  private auth: AuthInfo | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Envelopes sent and not yet acked: guid → queue position. */
  private readonly inFlight = new Map<string, number>();
  private queueEmptySent = false;
  private pumping = false;
  private pumpRequested = false;
  private mayHaveMore = false;
  /** The last queue read was full: the next one reads on above `maxSentId`. */
  private continuing = false;
  /** Highest queue position sent on this socket. */
  private maxSentId = 0;
  private closed = false;
  private inbox: Promise<void> = Promise.resolve();
  /** The next frame's handling, waiting for room (see `full`). */
  private roomWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  private readonly sendDeadlineMs: number;
  private sendsInFlight = 0;
  private acksInFlight = 0;
  /** Settles once every ack received so far is committed: a `pong` waits for it. */
  private acksCommitted: Promise<void> = Promise.resolve();
  /** The device's send limit, prepaid in small chunks (created at the first send). */
  private sendBudget: SendBudget | undefined;
  /** Stamp of the queue read that last found the queue drained (see Fanout.trustsCopies). */
  private drainedStamp = 0;
  /** See connectRecorded. */
  private recordedAsNewest = false;
  /** When this socket authenticated: orders it among the device's sockets (see FanoutEvent's takeover). */
  private connectedAt = 0;
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`, corked per event-loop turn. */
    private readonly socket: Duplex,
    private readonly services: Services,
    options: SessionOptions,
    preAuth: AuthInfo | undefined,
  ) {
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT_ENVELOPES;
    this.sendDeadlineMs = options.sendDeadlineMs ?? SEND_DEADLINE_MS;
    // Frames are handled in order, one at a time (an auth frame before everything else); acks and sends are
    // only started in order and commit concurrently, and a pong waits for the acks before its ping.
    ws.on('message', (data, isBinary) => {
      // Pausing the socket stops further reads, but ws still hands over every frame of a chunk already read
      // (many small frames arrive in one): those wait here until there is room again.
      this.inbox = this.inbox
        .then(() => (this.full() ? this.room() : undefined))
        .then(() => this.onMessage(data, isBinary))
        .catch(() => undefined);
    });
    ws.on('close', () => this.onClose());
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', () => undefined);
    if (preAuth) {
      this.start(preAuth);
    } else {
      this.authTimer = setTimeout(() => this.close(CloseCode.authTimeout, 'auth timeout'), options.authTimeoutMs);
    }
  }

  get device(): AuthInfo | undefined {
    return this.auth;
  }

  /** Bytes written to this socket that its peer has not taken yet (beyond what the kernel holds). */
  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Called every heartbeat interval: a socket that did not answer the previous ping is dead. */
  heartbeat(): void {
    if (!this.alive) {
      this.ws.terminate();
      this.onClose();
      return;
    }
    this.alive = false;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.ping();
    }
  }

  /** True once this socket is recorded as its device's newest (devices.live_connection). */
  get connectRecorded(): boolean {
    return this.recordedAsNewest;
  }

  /**
   * Closes the socket if Postgres says it no longer stands (see StandingCheck); returns true if it closed.
   * A takeover is judged only if this socket's own connect was recorded before the standing was read
   * (`recordedBefore`): until then the register still names the device's previous socket.
   */
  applyStanding({ familyLive, liveConnection }: SocketStanding, recordedBefore: boolean): boolean {
    if (this.closed || !this.auth) {
      return false;
    }
    if (!familyLive) {
      this.close(CloseCode.revoked, 'revoked');
      return true;
    }
    if (recordedBefore && liveConnection !== null && liveConnection !== this.connectionId) {
      this.close(CloseCode.connectedElsewhere, 'connected elsewhere');
      return true;
    }
    return false;
  }

  close(code: number, reason: string): void {
    if (this.ws.isPaused) {
      // Paused for backpressure: the peer's close frame must still be read, or the closing handshake waits
      // out ws's 30 s timeout.
      this.ws.resume();
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
    }
    this.onClose();
  }

  private send(frame: ServerFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      corkUntilTurnEnds(this.socket);
      this.ws.send(JSON.stringify(frame));
    }
  }

  private start(auth: AuthInfo): void {
    clearTimeout(this.authTimer);
    this.auth = auth;
    const address = { accountId: auth.accountId, deviceId: auth.deviceId };
    const { fanout, metrics, sql, clock, logger } = this.services;
    this.unsubscribe = fanout.subscribe(address, (event) => this.onEvent(event));
    // Wall-clock time to a fraction of a millisecond: comparable across instances (as far as their clocks agree).
    this.connectedAt = performance.timeOrigin + performance.now();
    // Closes this device's older socket, here or on another instance.
    void fanout.publish(address, { kind: 'takeover', connectionId: this.connectionId, at: this.connectedAt });
    metrics.openSockets.inc();
    touchDevice(sql, auth.accountId, auth.deviceId, clock.now(), this.connectionId).then(
      () => {
        this.recordedAsNewest = true;
      },
      (err: unknown) => logger.debug({ err: toLogFormat(err) }, 'touch device failed'),
    );
    this.send({ type: 'ready', accountId: auth.accountId, deviceId: auth.deviceId });
    this.requestPump();
  }

  private onEvent(event: FanoutEvent): void {
    if (this.closed || !this.auth) {
      return;
    }
    switch (event.kind) {
      case 'mail':
        // A copy at or below the highest position sent may be of an envelope a queue read already delivered
        // (and that was acked since: a copy can arrive late); the queue knows, so read it instead.
        if (event.queued && event.queued.id > this.maxSentId && this.caughtUp()) {
          this.sendQueued(event.queued);
        } else {
          this.requestPump();
        }
        return;
      case 'ephemeral':
        if (this.bufferedBytes > MAX_EPHEMERAL_BACKLOG_BYTES) {
          this.services.metrics.ephemeralDropped.inc();
          return;
        }
        this.sendEnvelope(event.envelope);
        return;
      case 'takeover':
        if (this.isOlderThan(event)) {
          this.close(CloseCode.connectedElsewhere, 'connected elsewhere');
        }
        return;
      case 'revoke':
        if (!event.familyId || event.familyId === this.auth.familyId) {
          this.close(CloseCode.revoked, 'revoked');
        }
        return;
      default:
        throw new Error(`unhandled fan-out event ${String((event satisfies never as { kind: string }).kind)}`);
    }
  }

  /** Whether the device's socket that announced `takeover` connected after this one (see FanoutEvent). */
  private isOlderThan(takeover: { connectionId: string; at?: number }): boolean {
    if (takeover.connectionId === this.connectionId) {
      return false;
    }
    if (takeover.at === undefined) {
      return true;
    }
    if (takeover.at !== this.connectedAt) {
      return takeover.at > this.connectedAt;
    }
    return takeover.connectionId > this.connectionId;
  }

  private sendEnvelope(envelope: Envelope): void {
    this.send({ type: 'envelope', envelope });
  }

  /** Queue drained, no read pending or running, room in the window: a new envelope may go out directly. */
  private caughtUp(): boolean {
    return (
      this.queueEmptySent &&
      !this.pumping &&
      !this.pumpRequested &&
      !this.mayHaveMore &&
      this.inFlight.size < this.maxInFlight &&
      this.auth !== undefined &&
      this.services.fanout.trustsCopies(
        { accountId: this.auth.accountId, deviceId: this.auth.deviceId },
        this.drainedStamp,
      )
    );
  }

  private sendQueued(item: QueuedEnvelope): void {
    if (this.inFlight.has(item.envelope.guid)) {
      return;
    }
    this.maxSentId = Math.max(this.maxSentId, item.id);
    this.inFlight.set(item.envelope.guid, item.id);
    this.sendEnvelope(item.envelope);
  }

  private async onMessage(data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    if (this.closed) {
      return;
    }
    let frame: ClientFrame;
    try {
      if (isBinary) {
        throw new Error('binary frame');
      }
      const json: unknown = JSON.parse(data.toString());
      const parsed = ClientFrameSchema.safeParse(json);
      if (!parsed.success) {
        // A send with a usable id gets its 400 (with the field paths) like the PUT would; anything else closes.
        const id = SendIdSchema.safeParse((json as { id?: unknown } | null)?.id);
        if ((json as { type?: unknown } | null)?.type === 'send' && id.success && this.auth) {
          this.sendError(id.data, RelayError.fromZod(parsed.error, 'send frame'));
          return;
        }
        throw new Error('invalid frame');
      }
      frame = parsed.data;
    } catch {
      this.close(CloseCode.badFrame, 'bad frame');
      return;
    }
    switch (frame.type) {
      case 'auth':
        await this.onAuthFrame(frame.token);
        return;
      case 'ping': {
        const pong: ServerFrame = frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id };
        void this.acksCommitted.then(() => this.send(pong));
        return;
      }
      case 'ack':
        // Not awaited: a send that follows an ack does not wait for its DELETE (at half load in bench:relay,
        // sends waited 19 ms at p90 and 38 ms at p99 behind one); a pong after an ack still means it committed.
        this.startAck(frame.guids);
        return;
      case 'send':
        // Not awaited: sends commit concurrently (and group-commit with other sockets' sends).
        this.onSend(frame);
        return;
      default:
        throw new Error(`unhandled frame ${String((frame satisfies never as { type: string }).type)}`);
    }
  }

  private async onAuthFrame(token: string): Promise<void> {
    if (this.auth || this.authTimer === undefined) {
      this.close(CloseCode.badFrame, 'already authenticated');
      return;
    }
    const timer = this.authTimer;
    this.authTimer = undefined;
    let auth: AuthInfo | undefined;
    try {
      auth = await authenticate(this.services, token, false);
    } catch {
      auth = undefined;
    }
    clearTimeout(timer);
    if (this.closed) {
      return;
    }
    if (!auth) {
      this.close(CloseCode.unauthorized, 'unauthorized');
      return;
    }
    this.start(auth);
  }

  private onSend(frame: Extract<ClientFrame, { type: 'send' }>): void {
    const auth = this.auth;
    if (!auth) {
      this.close(CloseCode.unauthorized, 'authenticate first');
      return;
    }
    this.sendsInFlight += 1;
    this.applyBackpressure();
    // Real time, like the limit windows in Redis.
    this.sendBudget ??= new SendBudget(this.services.limits, sendLimitKey(auth), Date.now);
    acceptSend(this.services, auth, frame.destination, frame.request, {
      budget: this.sendBudget,
      deadlineMs: this.sendDeadlineMs,
    })
      .then(
        (body) => {
          this.services.metrics.socketSends.inc({ status: '200' });
          this.send({ type: 'send_result', id: frame.id, body });
        },
        (err: unknown) => this.sendError(frame.id, err),
      )
      .finally(() => {
        this.sendsInFlight -= 1;
        this.applyBackpressure();
      });
  }

  private full(): boolean {
    return this.sendsInFlight >= MAX_SENDS_IN_FLIGHT || this.acksInFlight >= MAX_ACKS_IN_FLIGHT;
  }

  /** Resolves once a send or ack more may start (or the socket closed). */
  private room(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Stops reading the socket (and handling frames already read) while too many of its sends or acks are being committed. */
  private applyBackpressure(): void {
    if (this.closed) {
      return;
    }
    const full = this.full();
    if (full && !this.ws.isPaused) {
      this.ws.pause();
    } else if (!full && this.ws.isPaused) {
      this.ws.resume();
    }
    if (!full) {
      for (const resolve of this.roomWaiters.splice(0)) {
        resolve();
      }
    }
  }

  private startAck(guids: string[]): void {
    this.acksInFlight += 1;
    this.applyBackpressure();
    let counted = true;
    let stalled: NodeJS.Timeout | undefined;
    // Once its DELETE failed, or has not committed by a send's deadline (Postgres stalled: the DELETE neither
    // fails nor commits), an ack no longer counts against reading the socket: its sends must still be read
    // and answered (503), not left waiting behind it.
    const uncount = () => {
      if (counted) {
        counted = false;
        clearTimeout(stalled);
        this.acksInFlight -= 1;
        this.applyBackpressure();
      }
    };
    stalled = setTimeout(uncount, this.sendDeadlineMs);
    stalled.unref();
    const committed = this.onAck(guids, uncount).finally(uncount);
    this.acksCommitted = Promise.all([this.acksCommitted, committed]).then(() => undefined);
  }

  private sendError(id: number, err: unknown): void {
    const error = asRelayError(err);
    const requestId = `${this.connectionId}/${id}`;
    if (error.status >= 500) {
      this.services.logger.error({ requestId, err: toLogFormat(err) }, 'socket send failed');
    }
    this.services.metrics.socketSends.inc({ status: String(error.status) });
    const retryAfter = Number(error.headers['Retry-After']);
    this.send({
      type: 'send_error',
      id,
      status: error.status,
      body: errorBody(error, requestId),
      ...(retryAfter > 0 ? { retryAfter } : {}),
    });
  }

  private async onAck(guids: string[], onFailure: () => void): Promise<void> {
    const auth = this.auth;
    if (!auth) {
      this.close(CloseCode.unauthorized, 'authenticate first');
      return;
    }
    // Until the DELETE commits, the envelopes stay in flight: a queue read meanwhile would find them still
    // queued and send them again on this socket. It is tried again until it commits or the socket closes
    // (then they come again on the next connection, and the client knows their GUIDs).
    for (let attempt = 0; ; attempt++) {
      try {
        const deleted = await this.services.acks.delete(auth.accountId, auth.deviceId, guids);
        this.services.metrics.messagesDelivered.inc(deleted);
        break;
      } catch (err) {
        if (attempt === 0) {
          this.services.logger.warn({ err: toLogFormat(err) }, 'ack failed; retrying');
          onFailure();
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        if (this.closed) {
          return;
        }
      }
    }
    for (const guid of guids) {
      this.inFlight.delete(guid);
    }
    if (this.mayHaveMore) {
      this.requestPump();
    }
  }

  private requestPump(): void {
    this.pumpRequested = true;
    if (!this.pumping) {
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    const auth = this.auth;
    if (!auth) {
      return;
    }
    this.pumping = true;
    try {
      while (this.pumpRequested && !this.closed) {
        this.pumpRequested = false;
        const room = this.maxInFlight - this.inFlight.size;
        if (room <= 0) {
          // Window full: wait for acks before reading more from Postgres.
          this.mayHaveMore = true;
          return;
        }
        const limit = Math.min(room, READ_BATCH);
        const { lookups, clock } = this.services;
        const exclude = [...this.inFlight.values()];
        const stamp = this.services.fanout.stamp();
        const batch = await lookups.readQueue({
          accountId: auth.accountId,
          deviceId: auth.deviceId,
          exclude,
          limit,
          now: clock.now(),
          // Continuing a catch-up: read on above the last position sent, instead of stepping again over
          // everything before it (acked rows stay in the index until vacuumed).
          after: this.continuing ? this.maxSentId : 0,
        });
        if (this.closed) {
          return;
        }
        for (const item of batch) {
          this.sendQueued(item);
        }
        if (batch.length === limit) {
          this.continuing = true;
          this.pumpRequested = true;
        } else if (this.continuing) {
          // Before saying the queue is empty, read it once from the start: a position below the cursor
          // may have committed after the cursor passed it.
          this.continuing = false;
          this.pumpRequested = true;
        } else {
          this.mayHaveMore = false;
          this.drainedStamp = stamp;
          if (!this.queueEmptySent) {
            this.queueEmptySent = true;
            this.send({ type: 'queue_empty' });
          }
        }
      }
    } catch (err) {
      this.services.logger.warn({ err: toLogFormat(err) }, 'queue read failed; retrying');
      // Until a read succeeds, the queue may hold mail older than any copy that comes meanwhile: no copies.
      this.mayHaveMore = true;
      setTimeout(() => this.requestPump(), RETRY_MS).unref();
    } finally {
      this.pumping = false;
    }
  }

  private onClose(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    for (const resolve of this.roomWaiters.splice(0)) {
      resolve(); // onMessage drops frames of a closed socket
    }
    clearTimeout(this.authTimer);
    this.unsubscribe?.();
    if (this.auth) {
      this.services.metrics.openSockets.dec();
      // Doorbells for a device connected here stay on this instance. If the device has meanwhile connected
      // elsewhere, mail rung here (perhaps sent here, never acked) must reach that socket: ring it.
      void this.services.fanout.publish(
        { accountId: this.auth.accountId, deviceId: this.auth.deviceId },
        { kind: 'mail' },
      );
    }
  }
}
