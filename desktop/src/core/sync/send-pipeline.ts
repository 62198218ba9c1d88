import type { Content, OutgoingMessage } from '@sotto/shared-types';
import { SottoError, toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import { inStoreBatch } from '../protocol/protocol-stores.js';
import { encryptForDevice, startSession } from '../protocol/session-cipher.js';
import {
  deferOutbox,
  dueRecipients,
  dueRun,
  enqueueOutbox,
  inOutbox,
  markRepaired,
  nextOutboxAttempt,
  type OutboxItem,
  removeOutbox,
  setPrepared,
} from '../store/delivery-queries.js';
import { advanceStatuses, getMessage, getMessages, markFailed } from '../store/message-queries.js';
import { one, run, sql } from '../store/sql.js';
import { contentTimestamp, encodeContent, sendableJson } from './content-codec.js';
import type { CoreContext } from './core-context.js';

const log = createLogger('send');
const MAX_BACKOFF_MS = 60_000;
const BASE_BACKOFF_MS = 500;
/** Delivery receipts are coalesced into one payload up to this many ids. */
const MAX_RECEIPT_IDS = 500;
/** Items to one recipient encrypted together and PUT concurrently. */
const PIPELINE_DEPTH = 32;
/**
 * Runs to one recipient per drain round: then the round ends and the next one serves every recipient
 * that became due meanwhile, so a long burst to one person never holds back a message to another.
 */
const MAX_RUNS_PER_ROUND = 8;
/**
 * Session repairs (after a 409/410) one item may cause. Refused once more after that, it fails (the user
 * sees it and can send it again) instead of holding everything after it to that person. Counted apart
 * from failed attempts: being offline for a while must not use repairs up.
 */
const MAX_REPAIRS = 3;

export function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempts);
}

/** Adds content to the persisted outbox (call inside a transaction). Receipts coalesce with a waiting one. */
export function enqueue(
  ctx: CoreContext,
  recipient: string,
  content: Content,
  messageId: string | null,
  onlineOnly = false,
): void {
  // Refused here, before anything is stored: queued, it would be retried forever ahead of later messages.
  const contentJson = sendableJson(content);
  if (content.kind === 'receipt') {
    const last = one<{ seq: number; content: string }>(
      ctx.db,
      sql`SELECT seq, content FROM outbox o WHERE recipient_account_id = ${recipient} AND attempts = 0
        AND NOT EXISTS (SELECT 1 FROM outbox_ciphertexts c WHERE c.seq = o.seq)
        AND seq = (SELECT max(seq) FROM outbox WHERE recipient_account_id = ${recipient})`,
    );
    if (last) {
      const previous = JSON.parse(last.content) as Content;
      if (
        previous.kind === 'receipt' &&
        previous.receipt === content.receipt &&
        previous.messageIds.length + content.messageIds.length <= MAX_RECEIPT_IDS
      ) {
        const merged: Content = {
          ...previous,
          messageIds: [...previous.messageIds, ...content.messageIds],
          at: content.at,
        };
        run(ctx.db, sql`UPDATE outbox SET content = ${JSON.stringify(merged)} WHERE seq = ${last.seq}`);
        return;
      }
    }
  }
  enqueueOutbox(ctx.db, { recipientAccountId: recipient, messageId, contentJson, onlineOnly }, ctx.now());
}

interface StaleDetails {
  missingDevices: number[];
  extraDevices: number[];
  staleDevices: number[];
}

/**
 * Drains the persisted outbox. Per recipient, in one short transaction: encrypt the due run for every
 * device and store the ciphertexts with the session advance (so a crash can only lead to resending the
 * same bytes, which the recipient drops as a duplicate). Then PUT them concurrently without holding the
 * database, and record the outcome: sent, repaired (409/410: fix sessions, re-encrypt), failed
 * (permanent) or backed off (offline; retried across restarts because the outbox lives in the database).
 */
export class SendPipeline {
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(private readonly ctx: CoreContext) {}

  /** Runs the outbox soon (coalescing bursts). */
  kick(delayMs = 0): void {
    if (this.#stopped) {
      return;
    }
    if (delayMs > 0) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.kick(0), delayMs);
      return;
    }
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((error: unknown) => log.error('outbox drain failed', { error: toLogFormat(error) }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else {
          this.#scheduleNext();
        }
      });
  }

  /** Resolves when nothing is due right now (items waiting for a backoff remain). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && (this.#running || this.#again); i++) {
      await this.#running;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Makes every waiting item due now (e.g. after reconnecting). */
  retryNow(): void {
    void this.ctx.lock
      .exclusive(() => run(this.ctx.db, sql`UPDATE outbox SET next_attempt_at = ${this.ctx.now()}`))
      .then(() => this.kick());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #scheduleNext(): void {
    if (this.#stopped) {
      return;
    }
    const next = nextOutboxAttempt(this.ctx.db);
    if (next === null) {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.kick(), Math.max(10, next - this.ctx.now()));
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (let round = 0; round < 100_000 && !this.#stopped; round++) {
      this.#again = false;
      const recipients = dueRecipients(this.ctx.db, this.ctx.now());
      if (recipients.length === 0) {
        return;
      }
      await Promise.all(recipients.map((recipient) => this.#sendRecipient(recipient)));
    }
  }

  /**
   * Sends a recipient's due items in runs of PIPELINE_DEPTH, two runs at a time: the next run is
   * encrypted while the relay answers the previous one, so neither side waits on the other. Stops at
   * the first run with a refusal or a failure (the outbox keeps its order: the next drain round
   * starts again from the head once it is due), and after MAX_RUNS_PER_ROUND runs.
   */
  async #sendRecipient(recipient: string): Promise<void> {
    let previous: Promise<boolean> | undefined;
    let afterSeq = 0;
    for (let run = 0; run < MAX_RUNS_PER_ROUND && !this.#stopped; run++) {
      const items = await this.#prepareRun(recipient, afterSeq);
      if (items.length === 0 || this.#stopped) {
        break;
      }
      afterSeq = (items[items.length - 1] as OutboxItem).seq;
      const sending = this.#sendPrepared(recipient, items);
      if (previous && !(await previous)) {
        await sending;
        return;
      }
      previous = sending;
    }
    await previous;
  }

  /** Encrypts the next due run (after `afterSeq`); on failure backs its head off and returns none. */
  async #prepareRun(recipient: string, afterSeq: number): Promise<OutboxItem[]> {
    const ctx = this.ctx;
    try {
      return await ctx.tx(() => this.#prepare(recipient, afterSeq));
    } catch (error) {
      // Could not even encrypt (no bundle, relay unreachable while fetching one…): back the head off.
      await ctx.tx(() => {
        const head = dueRun(ctx.db, recipient, ctx.now(), 1, afterSeq)[0];
        if (head) {
          this.#recordFailure(head, error);
        }
      });
      return [];
    }
  }

  /** PUTs a prepared run concurrently and records each outcome. True if the relay accepted every item. */
  async #sendPrepared(recipient: string, items: OutboxItem[]): Promise<boolean> {
    const ctx = this.ctx;
    const results = await Promise.allSettled(
      items.map((item) =>
        ctx.relay.sendMessages(recipient, {
          messages: item.prepared ?? [],
          timestamp: contentTimestamp(item.content),
          ...(item.onlineOnly ? { online: true } : {}),
        }),
      ),
    );
    let stale: StaleDetails | undefined;
    const repairing: OutboxItem[] = [];
    await ctx.tx(() => {
      const sent: string[] = [];
      results.forEach((result, index) => {
        const item = items[index] as OutboxItem;
        if (result.status === 'fulfilled') {
          removeOutbox(ctx.db, item.seq);
          if (item.messageId && !item.onlineOnly) {
            sent.push(item.messageId);
          }
          return;
        }
        const error = result.reason as unknown;
        if (!(error instanceof SottoError && (error.status === 409 || error.status === 410))) {
          this.#recordFailure(item, error);
          return;
        }
        if (item.repairs >= MAX_REPAIRS) {
          // Resending the same ciphertexts cannot succeed, and repairing again has not helped.
          log.warn('refused after repeated session repairs', { repairs: item.repairs, status: error.status });
          removeOutbox(ctx.db, item.seq);
          this.#markFailed(item);
          return;
        }
        stale = mergeStale(stale, error.details as StaleDetails | undefined);
        setPrepared(ctx.db, item.seq, null); // re-encrypt for the repaired device list (still due now)
        repairing.push(item);
      });
      for (const message of getMessages(ctx.db, advanceStatuses(ctx.db, sent, 'sent'))) {
        ctx.events.emit({ type: 'message_updated', message });
      }
    });
    if (stale) {
      await this.#repairFor(recipient, stale, repairing);
      return false;
    }
    return results.every((result) => result.status === 'fulfilled');
  }

  /**
   * Repairs the sessions `items` were refused for and counts the repair on them, in one transaction. If
   * the repair itself fails (the relay unreachable for the bundle…), the items back off like any failed
   * send: that uses no repair, and they are not retried at once in a loop.
   */
  async #repairFor(recipient: string, details: StaleDetails, items: OutboxItem[]): Promise<void> {
    const ctx = this.ctx;
    const seqs = items.map((item) => item.seq);
    try {
      await ctx.tx(
        async () => {
          await this.#repair(recipient, details);
          markRepaired(ctx.db, seqs);
        },
        { alone: true },
      );
    } catch (error) {
      log.warn('session repair failed', { error: toLogFormat(error) });
      await ctx
        .tx(() => {
          for (const item of items.filter((item) => inOutbox(ctx.db, item.seq))) {
            this.#recordFailure(item, error);
          }
        })
        .catch((failure: unknown) =>
          log.warn('could not back off after a failed repair', { error: toLogFormat(failure) }),
        );
    }
  }

  /** Inside a transaction: encrypts the due run (items without stored ciphertexts) and stores the result. */
  async #prepare(recipient: string, afterSeq: number): Promise<OutboxItem[]> {
    const ctx = this.ctx;
    let items = dueRun(ctx.db, recipient, ctx.now(), PIPELINE_DEPTH, afterSeq);
    if (items.every((item) => item.prepared)) {
      return items;
    }
    let devices = ctx.stores.session.activeDevices(recipient);
    if (devices.length === 0) {
      devices = await this.#fetchSessions(recipient, '*');
      // A verified person's new key drops what was queued for them (see recordIdentityChange).
      items = items.filter((item) => inOutbox(ctx.db, item.seq));
    }
    if (devices.length === 0) {
      throw new SottoError('not_found', 'the recipient has no devices');
    }
    // One store batch: each session is read and parsed once and written once for the whole run.
    const prepared = await inStoreBatch(ctx.stores, async () => {
      const encrypted = new Map<number, OutgoingMessage[]>();
      for (const item of items) {
        if (item.prepared) {
          continue;
        }
        let plaintext: Uint8Array<ArrayBuffer>;
        try {
          plaintext = encodeContent(item.content);
        } catch (error) {
          // Content that cannot be sent (queued by an older version?) fails alone instead of blocking the queue.
          this.#recordFailure(item, error);
          continue;
        }
        const messages: OutgoingMessage[] = [];
        for (const deviceId of devices) {
          messages.push(await encryptForDevice(ctx.stores, ctx.local, recipient, deviceId, plaintext));
        }
        encrypted.set(item.seq, messages);
      }
      return encrypted;
    });
    for (const item of items) {
      const messages = prepared.get(item.seq);
      if (messages) {
        item.prepared = messages;
        setPrepared(ctx.db, item.seq, messages);
      }
    }
    return items.filter((item) => item.prepared); // an unsendable item has none: it just failed
  }

  /** 409: drop sessions of removed devices, set up sessions with new ones. 410: re-registered devices start over. */
  async #repair(recipient: string, details: StaleDetails): Promise<void> {
    const db = this.ctx.db;
    for (const extra of details.extraDevices) {
      run(db, sql`DELETE FROM sessions WHERE account_id = ${recipient} AND device_id = ${extra}`);
    }
    for (const stale of details.staleDevices) {
      this.ctx.stores.session.archive(recipient, stale);
    }
    for (const deviceId of new Set([...details.missingDevices, ...details.staleDevices])) {
      await this.#fetchSessions(recipient, deviceId);
    }
  }

  async #fetchSessions(recipient: string, deviceId: number | '*'): Promise<number[]> {
    const bundle = await this.ctx.relay.bundle(recipient, deviceId);
    if (bundle.accountId !== recipient) {
      throw new SottoError('invalid_response', 'relay returned a bundle for another account');
    }
    for (const device of bundle.devices) {
      await startSession(this.ctx.stores, this.ctx.local, bundle, device);
    }
    return this.ctx.stores.session.activeDevices(recipient);
  }

  #markFailed(item: OutboxItem): void {
    if (item.messageId && !item.onlineOnly && markFailed(this.ctx.db, item.messageId)) {
      const message = getMessage(this.ctx.db, item.messageId);
      if (message) {
        this.ctx.events.emit({ type: 'message_updated', message });
      }
    }
  }

  /** Inside a transaction: a permanent failure drops the item (message → failed); anything else backs off. */
  #recordFailure(item: OutboxItem, error: unknown): void {
    const ctx = this.ctx;
    const permanent = item.onlineOnly || isPermanent(error);
    log.debug('send failed', { error: toLogFormat(error), permanent, attempts: item.attempts });
    if (permanent) {
      removeOutbox(ctx.db, item.seq);
      this.#markFailed(item);
      return;
    }
    deferOutbox(ctx.db, item.seq, Math.round(ctx.now() + backoffMs(item.attempts) * (0.75 + Math.random() * 0.5)));
  }
}

function mergeStale(into: StaleDetails | undefined, details: StaleDetails | undefined): StaleDetails {
  const base = into ?? { missingDevices: [], extraDevices: [], staleDevices: [] };
  return {
    missingDevices: [...new Set([...base.missingDevices, ...(details?.missingDevices ?? [])])],
    extraDevices: [...new Set([...base.extraDevices, ...(details?.extraDevices ?? [])])],
    staleDevices: [...new Set([...base.staleDevices, ...(details?.staleDevices ?? [])])],
  };
}

function isPermanent(error: unknown): boolean {
  if (!(error instanceof SottoError)) {
    return false;
  }
  if (error.code === 'relay_error') {
    const status = error.status ?? 0;
    return status >= 400 && status < 500 && ![401, 408, 409, 410, 429].includes(status);
  }
  return [
    'invalid_content',
    'invalid_argument',
    'invalid_key',
    'untrusted_identity',
    'not_found',
    'unregistered',
  ].includes(error.code);
}
