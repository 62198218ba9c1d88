import type { Envelope } from '@sotto/shared-types';
import { SottoError, toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import type { ConnectionState } from '../messenger-types.js';
import type { RelaySocket } from '../relay-client/relay-api.js';
import { conversationName, ensureConversation, heldClaims, settleClaim } from '../store/conversation-queries.js';
import { confirmUsername, emitConversation, unverifiedName } from './content-handler.js';
import type { CoreContext } from './core-context.js';
import { faultArmed, faultPoint } from './fault-injection.js';
import type { ReceivePipeline } from './receive-pipeline.js';
import type { SendPipeline } from './send-pipeline.js';

const log = createLogger('inbound');
/**
 * Envelopes committed in one transaction at most. The relay keeps at most 256 unacked envelopes on a
 * socket (MAX_IN_FLIGHT_ENVELOPES): with half the window per transaction, one batch is being decrypted
 * while the relay refills the other half, so the window never runs dry during a catch-up.
 */
const MAX_BATCH = 128;
/** A batch that failed to commit is tried again after this long, doubled per failure in a row up to the max. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/**
 * SQLite failures that pass (another process holding the database, a full disk, an I/O error): the batch is
 * tried again as it is. Anything else would fail the same way every time (see #drainInbox).
 */
const PASSING_FAILURE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR)/;

const passes = (error: unknown): boolean =>
  PASSING_FAILURE.test(String((error as { code?: unknown } | null)?.code ?? ''));

export interface InboundHooks {
  onState(state: ConnectionState): void;
  /**
   * Key upkeep is due: the relay's queue is drained (each connection), or a live batch set up a session with
   * one of our prekeys (a one-time prekey is used up). It runs beside envelope processing, never before it.
   */
  onKeyUpkeepDue(): void;
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
  #drainedWaiters: (() => void)[] = [];
  #queueEmptySeen = false;
  #closed = false;
  #lastActivity = Date.now();
  /** The wait before retrying a failed batch, cut short by close(). */
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  /** Accounts whose claimed username is being looked up right now. */
  readonly #claimsAsked = new Set<string>();

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
      onState: (state) => {
        if (state === 'online') {
          this.#verifyClaimedNames(); // claims left unanswered before this connection, before its backlog
        }
        this.hooks.onState(state);
      },
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
    clearTimeout(this.#retry?.timer);
    this.#retry?.wake();
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
    if (this.#queueEmptySeen) {
      // Live: delivery receipts go out 50 ms after a burst. During a catch-up they wait for the queue to
      // drain and coalesce (500 ids per receipt) instead of an encrypt + PUT every few batches.
      this.sender.kick(50);
    }
  }

  async #drainInbox(): Promise<void> {
    let failures = 0;
    /** Envelopes still to be tried one at a time, after their batch failed in a way that does not pass. */
    let alone = 0;
    for (let i = 0; i < 1_000_000 && this.#inbox.length > 0 && !this.#closed; i++) {
      const batch = this.#inbox.splice(0, alone > 0 ? 1 : MAX_BATCH);
      alone = Math.max(0, alone - batch.length);
      try {
        await this.receiver.processBatch(batch);
        faultPoint('crash-after-commit-before-ack', batch.length);
        // Committed: ack the whole batch in one frame at once, so the relay can refill its window.
        this.#acks.push(...batch.map((envelope) => envelope.guid));
        this.#flushAcks();
        this.#verifyClaimedNames();
        // During a catch-up the drain's upkeep comes anyway.
        if (this.#queueEmptySeen && batch.some((envelope) => envelope.type === 'prekey')) {
          this.hooks.onKeyUpkeepDue();
        }
        failures = 0;
      } catch (error) {
        // The transaction failed (another process holding the database past the busy timeout, a full disk): an
        // envelope that cannot be decrypted does not throw here, it becomes an entry. Not acked, the batch is
        // only redelivered on a new connection, which may be hours away, and enough of them fill the relay's
        // window so nothing more arrives while the app looks online. So it goes back to the head of the inbox
        // (order kept) and is tried again on this connection after a growing pause, rather than recycling the
        // connection: the envelopes are here already, the relay keeps its window, the state does not flap, and
        // a reconnect would not fix a busy database. Envelopes of the batch that did commit are skipped as
        // known GUIDs on the retry.
        //
        // A failure that does not pass (a bug meeting one odd envelope, say) would hold every envelope behind
        // it for good: its batch is tried again one envelope at a time, and an envelope that fails alone is
        // left unacked (the relay gives it again on the next connection) while the rest go on.
        if (passes(error)) {
          failures += 1;
          this.#inbox.unshift(...batch);
          const retryMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1));
          log.error('envelope processing failed; retrying', { error: toLogFormat(error), retryMs });
          await this.#pause(retryMs);
        } else if (batch.length > 1) {
          log.error('envelope processing failed; trying its envelopes one at a time', { error: toLogFormat(error) });
          this.#inbox.unshift(...batch);
          alone = batch.length;
        } else {
          log.error('an envelope could not be processed; left for the next connection', {
            error: toLogFormat(error),
          });
        }
      }
      this.#lastActivity = Date.now();
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#retry = {
        timer: setTimeout(() => {
          this.#retry = undefined;
          resolve();
        }, ms),
        wake: resolve,
      };
    });
  }

  /**
   * A stranger's first message names its sender (`senderUsername`, claimed by the sender and held in its
   * conversation row). Confirm each held claim with the relay's directory: a conversation held as
   * unverified-… (its name was taken) then takes it; a name that resolves to another account is replaced by
   * unverified-…. An unanswered lookup stays held and is asked again after the next batch or connection.
   * Runs once connected and after each batch.
   */
  #verifyClaimedNames(): void {
    const ctx = this.ctx;
    for (const [accountId, claimed] of heldClaims(ctx.db)) {
      if (this.#claimsAsked.has(accountId)) {
        continue;
      }
      this.#claimsAsked.add(accountId);
      void ctx.relay
        .lookupUsername(claimed)
        .then((found) => (found.accountId === accountId ? found.username : false))
        // Not found: false. Unreachable: undecided.
        .catch((error: unknown) => (error instanceof SottoError && error.status === 404 ? false : undefined))
        .then(async (confirmed) => {
          if (this.#closed || confirmed === undefined) {
            return;
          }
          await ctx.tx(() => {
            settleClaim(ctx.db, accountId);
            emitConversation(ctx, accountId); // claimPending is false now, whatever the name
            if (!confirmed) {
              log.warn('claimed username does not match the sender');
              if (conversationName(ctx.db, accountId) === claimed) {
                ensureConversation(ctx.db, accountId, unverifiedName(accountId), ctx.now());
              }
              return;
            }
            confirmUsername(ctx, confirmed, accountId);
            if (conversationName(ctx.db, accountId) === unverifiedName(accountId)) {
              ensureConversation(ctx.db, accountId, confirmed, ctx.now());
            }
          });
        })
        .catch(() => undefined)
        .finally(() => this.#claimsAsked.delete(accountId));
    }
  }

  #flushAcks(): void {
    const guids = this.#acks;
    this.#acks = [];
    const written = faultArmed('crash-after-ack') ? () => faultPoint('crash-after-ack', guids.length) : undefined;
    this.#socket?.ack(guids, written);
  }

  #onQueueEmpty(): void {
    this.#chain = this.#chain.then(async () => {
      this.#flushAcks();
      this.#queueEmptySeen = true;
      this.sender.kick();
      const waiters = this.#drainedWaiters;
      this.#drainedWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
      if (!this.#closed) {
        this.hooks.onKeyUpkeepDue();
      }
    });
  }
}
