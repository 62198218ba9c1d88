import type { UploadKeysRequest } from '@sotto/shared-types';
import { toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import type { KeyManager } from '../protocol/key-manager.js';
import { relayRefused } from '../relay-client/relay-error.js';
import { pruneProcessedEnvelopes } from '../store/delivery-queries.js';
import { deleteExpired, nextExpiry } from '../store/message-queries.js';
import { emitConversation } from '../sync/content-handler.js';
import type { CoreContext } from '../sync/core-context.js';
import { emitStored } from './lookups.js';

const log = createLogger('upkeep');
const MAX_SWEEP_DELAY_MS = 60_000;
/** After a failed sweep (another process holding the database past the busy timeout…), the next try. */
const SWEEP_RETRY_MS = 10_000;
const PROCESSED_GUID_RETENTION_MS = 30 * 24 * 3600 * 1000;
/**
 * Key upkeep while connected: the relay says its queue is empty once per connection, and an app can stay
 * connected for weeks. Checked this often, the signed prekey is rotated at most this late, and one-time
 * prekeys that bundle fetches used up without a message (which would ask at once) are refilled.
 */
export const KEY_UPKEEP_INTERVAL_MS = 6 * 3600 * 1000;

/**
 * Key upkeep: refill one-time prekeys below the threshold, rotate the signed + last-resort keys weekly, and
 * delete private keys whose grace is over (replaced ones, and one-time keys the relay no longer holds).
 * The relay's count is read outside any transaction: the common run, with nothing to upload, never holds
 * the database while the relay answers. A refill and a rotation each go through `storeAndUpload`, apart,
 * because a rotation that fails must not take back the private keys of a refill the relay already holds: it
 * would hand those out to new contacts, whose first messages could then never be decrypted.
 */
export async function maintainKeys(ctx: CoreContext, keys: KeyManager): Promise<void> {
  const count = await ctx.relay.keyCount();
  // Before a refill: the keys it makes are not on the relay yet.
  await ctx.tx(async () => keys.noteHeldOneTimeKeys(count));
  if (keys.refillDue(count)) {
    // Kept when the answer is lost: the relay may hand them out. Their ids are used up, so the next refill
    // uploads new ones (the relay may already have handed these out and deleted them: never upload them again).
    await storeAndUpload(ctx, () => {
      const refill = keys.refill(count);
      return refill && { request: refill };
    });
  }
  if (keys.rotationDue()) {
    // Kept when the answer is lost, with the keys before them still current: the relay holds one or the
    // other. rotationDue() stays true, so the next run uploads the same keys again; once the relay confirms,
    // the keys before are replaced, and their grace starts then.
    await storeAndUpload(ctx, () => {
      if (!keys.rotationDue()) {
        return null;
      }
      const rotation = keys.rotate();
      return { request: rotation, confirmed: () => keys.confirmRotation(rotation) };
    });
  }
  await ctx.tx(async () => {
    keys.deleteExpiredKeys();
    pruneProcessedEnvelopes(ctx.db, ctx.now() - PROCESSED_GUID_RETENTION_MS);
  });
}

interface KeyUpload {
  request: UploadKeysRequest;
  /** Runs in the transaction once the relay confirmed the upload. */
  confirmed?: () => void;
}

/**
 * Stores new private keys (`generate`, null when there is nothing to do) and uploads their public halves, in a
 * transaction of its own held across the upload (only a unit that commits alone may wait on the relay, see
 * CoreContext.tx). A refusal (a 4xx: the relay stored nothing) rolls the keys back. Any other failure may come
 * after the relay stored them (the connection dropped or timed out before its answer, a proxy's 502): the
 * private keys are committed, since the relay may hand out their public halves, and the failure is rethrown
 * after the commit, for the caller to log and retry as with any failed upkeep.
 */
async function storeAndUpload(ctx: CoreContext, generate: () => KeyUpload | null): Promise<void> {
  const lost = await ctx.tx(
    async () => {
      const upload = generate();
      if (!upload) {
        return undefined;
      }
      try {
        await ctx.relay.uploadKeys(upload.request);
      } catch (error) {
        if (relayRefused(error)) {
          throw error;
        }
        return { error };
      }
      upload.confirmed?.();
      return undefined;
    },
    { alone: true },
  );
  if (lost) {
    log.info('key upload answer lost: the relay may hold the new keys, so they are kept'); // the caller logs the error
    throw lost.error;
  }
}

/**
 * When key upkeep runs: once the relay's queue is drained (each connection), after a message that set up a
 * session with one of our prekeys (someone used a one-time prekey: the relay's count dropped), and every
 * KEY_UPKEEP_INTERVAL_MS while connected. One run at a time; asks while one runs make one more run after it.
 */
export class KeyUpkeep {
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly upkeep: () => Promise<void>,
    private readonly connected: () => boolean,
    private readonly intervalMs = KEY_UPKEEP_INTERVAL_MS,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.connected()) {
        void this.request();
      }
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Runs upkeep now, or once more after the run in progress. Never rejects (a failure is logged). */
  request(): Promise<void> {
    if (this.#stopped) {
      return Promise.resolve();
    }
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async () => {
      do {
        this.#again = false;
        await this.upkeep().catch((error: unknown) => log.warn('key upkeep failed', { error: toLogFormat(error) }));
      } while (this.#again);
    };
    this.#running = run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and refuses further asks; resolves once a run in progress is over. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#again = false;
    await this.#running;
  }
}

/** Deletes disappearing messages on time: wakes at the next expiry (at least once a minute). */
export class ExpirySweeper {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(private readonly ctx: CoreContext) {}

  /**
   * At open, before anything can read: what expired while the profile was closed is deleted at once, not at
   * the first timer (a `sotto history` or `search` reads before any timer runs). Nothing listens yet.
   */
  sweepAtOpen(): void {
    const { db } = this.ctx;
    const now = this.ctx.now();
    const next = nextExpiry(db);
    if (next === null || next > now) {
      return; // the common case writes nothing, so another process holding the database cannot fail the open
    }
    try {
      // IMMEDIATE: waits its turn behind another process's write (a deferred one could fail at the DELETE).
      db.transaction(() => deleteExpired(db, now)).immediate();
    } catch (error) {
      log.warn('expiry sweep at open failed; the timer retries', { error: toLogFormat(error) });
    }
  }

  schedule(delayMs = 0): void {
    if (this.#stopped) {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#sweep(), delayMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Never rejects, and always schedules the next sweep: after a failure too, or messages would outlive their timer. */
  async #sweep(): Promise<void> {
    if (this.#stopped) {
      return;
    }
    const ctx = this.ctx;
    let delayMs = SWEEP_RETRY_MS;
    try {
      await ctx.tx(() => {
        const { removed, requoted } = deleteExpired(ctx.db, ctx.now());
        for (const message of removed) {
          ctx.events.emit({ type: 'message_updated', message });
          emitConversation(ctx, message.conversationId);
        }
        for (const id of requoted) {
          emitStored(ctx, id, 'message_updated');
        }
      });
      if (this.#stopped) {
        return;
      }
      const next = nextExpiry(ctx.db);
      delayMs = next === null ? MAX_SWEEP_DELAY_MS : Math.min(MAX_SWEEP_DELAY_MS, Math.max(0, next - ctx.now()));
    } catch (error) {
      log.warn('expiry sweep failed; trying again', { error: toLogFormat(error), retryMs: SWEEP_RETRY_MS });
    }
    this.schedule(delayMs);
  }
}
