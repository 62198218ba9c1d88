import type { Envelope } from '@sotto/shared-types';
import { SottoError, toLogFormat } from '../errors.js';
import { createLogger } from '../logger.js';
import { inStoreBatch } from '../protocol/protocol-stores.js';
import {
  buildDecryptionError,
  type DecryptInput,
  decryptEnvelope,
  readDecryptionError,
  senderRegistrationId,
} from '../protocol/session-cipher.js';
import { conversationExists, ensureConversation } from '../store/conversation-queries.js';
import { isEnvelopeProcessed, processedAmong, recordEnvelope } from '../store/delivery-queries.js';
import { findOutgoingBySentAt, getMessage, insertMessage, newMessageId } from '../store/message-queries.js';
import { run, sql } from '../store/sql.js';
import { decodeContent, ownTextContent } from './content-codec.js';
import { applyContent, emitConversation, shownSentAt } from './content-handler.js';
import type { CoreContext } from './core-context.js';
import { faultPoint } from './fault-injection.js';
import { enqueue, type SendPipeline } from './send-pipeline.js';

const log = createLogger('receive');

export type EnvelopeOutcome = 'stored' | 'duplicate' | 'decryption_error' | 'resend_request' | 'ignored';

/** A group's first try has no SAVEPOINT per envelope; the careful one does (see #decryptGroup). */
type Pass = 'fast' | 'careful';

/** An envelope failed in a group's fast pass: the group rolls back and goes again, carefully. */
class EnvelopeFailedInFastPass extends Error {
  constructor(cause: unknown) {
    super('an envelope of the group failed', { cause });
  }
}

/**
 * For each envelope: skip a known GUID; otherwise decrypt and store the effect, the advanced session
 * state and the GUID in ONE transaction; only then may the caller ack. An envelope that cannot be
 * decrypted becomes a visible entry and the sender is asked to resend.
 */
export class ReceivePipeline {
  constructor(
    private readonly ctx: CoreContext,
    private readonly sender: SendPipeline,
  ) {}

  async process(envelope: Envelope): Promise<EnvelopeOutcome> {
    const [outcome] = await this.processBatch([envelope]);
    return outcome ?? 'duplicate';
  }

  /**
   * Processes envelopes in arrival order. Consecutive ordinary envelopes share ONE transaction (group
   * commit), each inside its own SAVEPOINT: its decrypted effect, session advance and GUID commit
   * together or not at all. The caller acks only after this resolves.
   */
  async processBatch(envelopes: Envelope[]): Promise<EnvelopeOutcome[]> {
    const outcomes: EnvelopeOutcome[] = [];
    let group: Envelope[] = [];
    const flush = async () => {
      if (group.length > 0) {
        outcomes.push(...(await this.#decryptGroup(group)));
        group = [];
      }
    };
    for (const envelope of envelopes) {
      const usable = envelope.sourceAccountId && envelope.sourceDeviceId && envelope.type !== 'sealed';
      if (usable && envelope.type !== 'plaintext') {
        group.push(envelope);
        continue;
      }
      await flush();
      if (isEnvelopeProcessed(this.ctx.db, envelope.guid)) {
        outcomes.push('duplicate');
      } else if (!usable) {
        await this.ctx.tx(() => recordEnvelope(this.ctx.db, envelope.guid, this.ctx.now()));
        log.warn('envelope without a usable sender ignored', { type: envelope.type });
        outcomes.push('ignored');
      } else {
        outcomes.push(
          await this.#resendRequest(envelope, envelope.sourceAccountId ?? '', envelope.sourceDeviceId ?? 0),
        );
      }
    }
    await flush();
    return outcomes;
  }

  /**
   * One group transaction. Tried first without a SAVEPOINT per envelope: each one made SQLite copy every page
   * the envelope touched into its sub-journal first (with the statement journal of migration 0019, 6 % of a
   * catch-up's CPU). Should any envelope fail, the whole group is rolled back and done again, this time each
   * envelope in its own SAVEPOINT, so the failed one rolls back alone and becomes an entry. Nothing of the
   * first try stays: its writes, session state, cached identities and events go with the rollback, and a
   * ciphertext decrypts again from the state before it.
   */
  async #decryptGroup(envelopes: Envelope[]): Promise<EnvelopeOutcome[]> {
    try {
      return await this.#groupTransaction(envelopes, 'fast');
    } catch (error) {
      if (!(error instanceof EnvelopeFailedInFastPass)) {
        throw error;
      }
      return await this.#groupTransaction(envelopes, 'careful');
    }
  }

  async #groupTransaction(envelopes: Envelope[], pass: Pass): Promise<EnvelopeOutcome[]> {
    const ctx = this.ctx;
    const resends: { envelope: Envelope; input: DecryptInput; registrationId: number }[] = [];
    const outcomes = await ctx.tx(() =>
      inStoreBatch(ctx.stores, () => this.#decryptInTransaction(envelopes, resends, pass)),
    );
    for (const resend of resends) {
      void this.#askForResend(resend.envelope, resend.input, resend.registrationId);
    }
    return outcomes;
  }

  /** The body of one group transaction (session writes deferred to its end: see inStoreBatch). */
  async #decryptInTransaction(
    envelopes: Envelope[],
    resends: { envelope: Envelope; input: DecryptInput; registrationId: number }[],
    pass: Pass,
  ): Promise<EnvelopeOutcome[]> {
    const ctx = this.ctx;
    const careful = pass === 'careful';
    const results: EnvelopeOutcome[] = [];
    const receipts = new Map<string, string[]>();
    const seen = processedAmong(
      ctx.db,
      envelopes.map((e) => e.guid),
    );
    for (const envelope of envelopes) {
      if (seen.has(envelope.guid)) {
        results.push('duplicate');
        continue;
      }
      seen.add(envelope.guid);
      const input: DecryptInput = {
        type: envelope.type,
        sourceAccountId: envelope.sourceAccountId ?? '',
        sourceDeviceId: envelope.sourceDeviceId ?? 0,
        content: envelope.content,
      };
      const mark = careful ? ctx.events.mark() : 0;
      const sessions = careful ? ctx.stores.session.snapshot() : undefined;
      if (careful) {
        run(ctx.db, sql`SAVEPOINT envelope`); // prepared once: exec() would parse it per envelope
      }
      try {
        const plaintext = await decryptEnvelope(ctx.stores, ctx.local, input);
        faultPoint('crash-after-decrypt');
        const content = decodeContent(plaintext);
        const receipt = applyContent(
          ctx,
          { accountId: input.sourceAccountId, deviceId: input.sourceDeviceId },
          content,
          { serverTimestamp: envelope.serverTimestamp, receivedAt: ctx.now() },
        );
        if (receipt) {
          receipts.set(input.sourceAccountId, [...(receipts.get(input.sourceAccountId) ?? []), receipt]);
        }
        recordEnvelope(ctx.db, envelope.guid, ctx.now());
        if (careful) {
          run(ctx.db, sql`RELEASE envelope`);
        }
        results.push('stored');
      } catch (error) {
        if (!careful) {
          throw new EnvelopeFailedInFastPass(error);
        }
        run(ctx.db, sql`ROLLBACK TO envelope`);
        run(ctx.db, sql`RELEASE envelope`);
        ctx.events.rollbackTo(mark);
        ctx.stores.session.restore(sessions);
        ctx.stores.identity.dropCache();
        ctx.stores.identity.cacheReads();
        if (SottoError.is(error, 'duplicate_message')) {
          // The same ciphertext again (a resend after an ambiguous failure): already shown once.
          recordEnvelope(ctx.db, envelope.guid, ctx.now());
          results.push('duplicate');
          continue;
        }
        log.warn('undecryptable envelope', { error: toLogFormat(error) });
        this.#recordUndecryptable(envelope, input.sourceAccountId);
        const registrationId = senderRegistrationId(ctx.stores, input);
        if (registrationId !== null) {
          resends.push({ envelope, input, registrationId });
        }
        results.push('decryption_error');
      }
    }
    for (const [recipient, ids] of receipts) {
      for (let i = 0; i < ids.length; i += 500) {
        enqueue(
          ctx,
          recipient,
          { kind: 'receipt', receipt: 'delivery', messageIds: ids.slice(i, i + 500), at: ctx.now() },
          null,
        );
      }
    }
    return results;
  }

  /** A visible entry for an envelope that could not be decrypted, plus its GUID (inside the transaction). */
  #recordUndecryptable(envelope: Envelope, source: string): void {
    const ctx = this.ctx;
    if (!conversationExists(ctx.db, source)) {
      ensureConversation(ctx.db, source, source.slice(0, 8), ctx.now());
    }
    const id = newMessageId();
    const receivedAt = ctx.now();
    insertMessage(ctx.db, {
      id,
      conversationId: source,
      kind: 'decryption_error',
      fromMe: false,
      authorAccountId: source,
      body: '',
      // The sender's clock, clamped like a message's: one envelope dated years ahead must not pin the conversation.
      sentAt: shownSentAt(envelope.clientTimestamp, { serverTimestamp: envelope.serverTimestamp, receivedAt }),
      receivedAt,
      status: 'delivered',
      unread: true,
    });
    recordEnvelope(ctx.db, envelope.guid, ctx.now());
    const message = getMessage(ctx.db, id);
    if (message) {
      ctx.events.emit({ type: 'message', message });
    }
    emitConversation(ctx, source);
  }

  async #askForResend(
    envelope: Envelope,
    input: Parameters<typeof buildDecryptionError>[0],
    registrationId: number,
  ): Promise<void> {
    try {
      const content = buildDecryptionError(input, envelope.clientTimestamp);
      await this.ctx.relay.sendMessages(input.sourceAccountId, {
        messages: [
          {
            destinationDeviceId: input.sourceDeviceId,
            destinationRegistrationId: registrationId,
            type: 'plaintext',
            content,
          },
        ],
        timestamp: this.ctx.now(),
      });
    } catch (error) {
      log.warn('resend request failed', { error: toLogFormat(error) });
    }
  }

  /** A peer could not decrypt what we sent at `timestamp`: drop the session with that device and re-send. */
  async #resendRequest(envelope: Envelope, source: string, sourceDevice: number): Promise<EnvelopeOutcome> {
    const ctx = this.ctx;
    let request: { timestamp: number; deviceId: number } | undefined;
    try {
      request = readDecryptionError(envelope.content);
    } catch (error) {
      log.warn('invalid resend request', { error: toLogFormat(error) });
    }
    await ctx.tx(() => {
      recordEnvelope(ctx.db, envelope.guid, ctx.now());
      if (!request || !conversationExists(ctx.db, source)) {
        return;
      }
      ctx.stores.session.archive(source, sourceDevice);
      for (const id of findOutgoingBySentAt(ctx.db, source, request.timestamp)) {
        const message = getMessage(ctx.db, id);
        if (message && !message.deleted) {
          enqueue(ctx, source, ownTextContent(message, ctx.local.username), null);
        }
      }
    });
    this.sender.kick();
    return 'resend_request';
  }
}
