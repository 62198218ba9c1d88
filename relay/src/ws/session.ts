import { randomUUID } from 'node:crypto';
import {
  type ClientFrame,
  ClientFrameSchema,
  CloseCode,
  type Envelope,
  MAX_IN_FLIGHT_ENVELOPES,
  type ServerFrame,
} from '@sotto/shared-types';
import WebSocket from 'ws';
import { authenticate } from '../auth/require-auth.js';
import type { AuthInfo, Services } from '../context.js';
import type { FanoutEvent } from '../fanout/fanout.js';
import { toLogFormat } from '../logger.js';
import { touchDevice } from '../store/devices.js';
import { isFamilyLive } from '../store/tokens.js';

const READ_BATCH = 100;
const RETRY_MS = 1000;

export interface SessionOptions {
  authTimeoutMs: number;
  /** Most unacked envelopes on the wire; the queue is not read further until acks come in. */
  maxInFlight?: number;
}

/**
 * One device's WebSocket. Authenticates (upgrade header or first `auth` frame), subscribes to the device's
 * doorbell, then streams the queue from Postgres in order (`ready`, queued envelopes, `queue_empty`, live
 * envelopes), at most `maxInFlight` unacked at a time. Acks delete by GUID from this device's queue only.
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
  private closed = false;
  private inbox: Promise<void> = Promise.resolve();
  private readonly maxInFlight: number;
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly services: Services,
    options: SessionOptions,
    preAuth: AuthInfo | undefined,
  ) {
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT_ENVELOPES;
    // Frames are handled one at a time, in order: a pong after an ack means the ack is committed.
    ws.on('message', (data, isBinary) => {
      this.inbox = this.inbox.then(() => this.onMessage(data, isBinary)).catch(() => undefined);
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
    if (this.auth && !this.services.fanout.healthy()) {
      // Revocations travel through the fan-out; while it is down, check the family in Postgres instead.
      void this.checkStillLive(this.auth);
    }
  }

  private async checkStillLive(auth: AuthInfo): Promise<void> {
    try {
      if (!(await isFamilyLive(this.services.sql, auth.familyId, auth.accountId, auth.deviceId))) {
        this.close(CloseCode.revoked, 'revoked');
      }
    } catch {
      // Postgres unreachable too: keep the socket; the next heartbeat checks again.
    }
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
    }
    this.onClose();
  }

  private send(frame: ServerFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  private start(auth: AuthInfo): void {
    clearTimeout(this.authTimer);
    this.auth = auth;
    const address = { accountId: auth.accountId, deviceId: auth.deviceId };
    const { fanout, metrics, sql, clock, logger } = this.services;
    this.unsubscribe = fanout.subscribe(address, (event) => this.onEvent(event));
    // Closes this device's older socket, here or on another instance.
    void fanout.publish(address, { kind: 'takeover', connectionId: this.connectionId });
    metrics.openSockets.inc();
    touchDevice(sql, auth.accountId, auth.deviceId, clock.now()).catch((err: unknown) =>
      logger.debug({ err: toLogFormat(err) }, 'touch device failed'),
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
        this.requestPump();
        return;
      case 'ephemeral':
        this.sendEnvelope(event.envelope);
        return;
      case 'takeover':
        if (event.connectionId !== this.connectionId) {
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

  private sendEnvelope(envelope: Envelope): void {
    this.send({ type: 'envelope', envelope });
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
      const parsed = ClientFrameSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) {
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
      case 'ping':
        this.send(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id });
        return;
      case 'ack':
        await this.onAck(frame.guids);
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

  private async onAck(guids: string[]): Promise<void> {
    const auth = this.auth;
    if (!auth) {
      this.close(CloseCode.unauthorized, 'authenticate first');
      return;
    }
    try {
      const deleted = await this.services.acks.delete(auth.accountId, auth.deviceId, guids);
      this.services.metrics.messagesDelivered.inc(deleted);
    } catch (err) {
      // Not deleted: the envelopes stay queued and come again on the next connection.
      this.services.logger.warn({ err: toLogFormat(err) }, 'ack failed');
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
        const batch = await lookups.readQueue({
          accountId: auth.accountId,
          deviceId: auth.deviceId,
          exclude,
          limit,
          now: clock.now(),
        });
        if (this.closed) {
          return;
        }
        for (const item of batch) {
          if (this.inFlight.has(item.envelope.guid)) {
            continue;
          }
          this.inFlight.set(item.envelope.guid, item.id);
          this.sendEnvelope(item.envelope);
        }
        if (batch.length === limit) {
          this.pumpRequested = true;
        } else {
          this.mayHaveMore = false;
          if (!this.queueEmptySent) {
            this.queueEmptySent = true;
            this.send({ type: 'queue_empty' });
          }
        }
      }
    } catch (err) {
      this.services.logger.warn({ err: toLogFormat(err) }, 'queue read failed; retrying');
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
    clearTimeout(this.authTimer);
    this.unsubscribe?.();
    if (this.auth) {
      this.services.metrics.openSockets.dec();
    }
  }
}
