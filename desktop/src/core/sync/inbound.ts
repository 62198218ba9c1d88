import type { Envelope } from '@sotto/shared-types';
import { SottoError, toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import type { ConnectionState } from '../messenger-types.js';
import type { RelaySocket } from '../relay-client/relay-api.js';
import { ensureConversation } from '../store/conversation-queries.js';
import { emitConversation } from './content-handler.js';
import type { CoreContext } from './core-context.js';
import type { ReceivePipeline } from './receive-pipeline.js';
import type { SendPipeline } from './send-pipeline.js';

const log = createLogger('inbound');
/** Envelopes committed in one transaction at most. */
const MAX_BATCH = 128;
const ACK_FLUSH_MS = 5;

export interface InboundHooks {
  onState(state: ConnectionState): void;
  /** After the relay's queue is drained (key upkeep). */
  onDrained(): Promise<void>;
}

/**
 * The relay socket's receiving side: envelopes queue up in arrival order and are processed in batches
 * (group commit); each is acked only after its transaction committed.
 */
export class Inbound {
  #socket: RelaySocket | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #inbox: Envelope[] = [];
  #acks: string[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  #drainedWaiters: (() => void)[] = [];
  #queueEmptySeen = false;
  #closed = false;
  #lastActivity = Date.now();

  constructor(
    private readonly ctx: CoreContext,
    private readonly receiver: ReceivePipeline,
    private readonly sender: SendPipeline,
    private readonly hooks: InboundHooks,
  ) {}

  open(): void {
    if (this.#socket || this.#closed) {
      return;
    }
    this.#queueEmptySeen = false;
    this.#socket = this.ctx.relay.openSocket({
      onEnvelope: (envelope) => this.#enqueue(envelope),
      onQueueEmpty: () => this.#onQueueEmpty(),
      onState: (state) => this.hooks.onState(state),
    });
  }

  /** Resolves once the relay reported its queue empty and every envelope before that is processed. */
  whenDrained(): Promise<void> {
    if (this.#queueEmptySeen) {
      return this.#chain.then(() => undefined);
    }
    return new Promise((resolve) => this.#drainedWaiters.push(resolve));
  }

  lastActivity(): number {
    return this.#lastActivity;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#socket?.close();
    await this.#chain.catch(() => undefined);
    this.#flushAcks();
    this.#socket = undefined;
  }

  #enqueue(envelope: Envelope): void {
    this.#lastActivity = Date.now();
    this.#inbox.push(envelope);
    if (this.#inbox.length === 1) {
      this.#chain = this.#chain.then(() => this.#drainInbox());
    }
    this.sender.kick(50);
  }

  async #drainInbox(): Promise<void> {
    for (let i = 0; i < 1_000_000 && this.#inbox.length > 0 && !this.#closed; i++) {
      const batch = this.#inbox.splice(0, MAX_BATCH);
      try {
        await this.receiver.processBatch(batch);
        for (const envelope of batch) {
          this.#ack(envelope.guid);
        }
        this.#verifyClaimedNames();
      } catch (error) {
        // Not acked: the relay redelivers them after the next reconnect.
        log.error('envelope processing failed', { error: toLogFormat(error) });
      }
      this.#lastActivity = Date.now();
    }
  }

  /**
   * A stranger's first message names its sender (`senderUsername`, claimed by the sender). Confirm the
   * claim with the relay's directory; a name that does not resolve to that account is not shown.
   */
  #verifyClaimedNames(): void {
    const ctx = this.ctx;
    for (const [accountId, claimed] of ctx.claimedNames) {
      ctx.claimedNames.delete(accountId);
      void ctx.relay
        .lookupUsername(claimed)
        .then((found) => found.accountId === accountId)
        .catch((error: unknown) => !(error instanceof SottoError && error.status === 404))
        .then(async (genuine) => {
          if (!genuine && !this.#closed) {
            log.warn('claimed username does not match the sender');
            await ctx.tx(() => {
              ensureConversation(ctx.db, accountId, `unverified-${accountId.slice(0, 8)}`, ctx.now());
              emitConversation(ctx, accountId);
            });
          }
        })
        .catch(() => undefined);
    }
  }

  #ack(guid: string): void {
    this.#acks.push(guid);
    if (this.#acks.length >= MAX_BATCH) {
      this.#flushAcks();
      return;
    }
    this.#ackTimer ??= setTimeout(() => this.#flushAcks(), ACK_FLUSH_MS);
  }

  #flushAcks(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const guids = this.#acks;
    this.#acks = [];
    this.#socket?.ack(guids);
  }

  #onQueueEmpty(): void {
    this.#chain = this.#chain.then(async () => {
      this.#flushAcks();
      this.#queueEmptySeen = true;
      const waiters = this.#drainedWaiters;
      this.#drainedWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
      if (!this.#closed) {
        await this.hooks
          .onDrained()
          .catch((error: unknown) => log.warn('key upkeep failed', { error: toLogFormat(error) }));
      }
    });
  }
}
