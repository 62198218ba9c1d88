import { randomUUID } from 'node:crypto';
import type { Content } from '@sotto/shared-types';
import { SottoError } from './errors.js';
import type {
  ConnectionState,
  ConversationId,
  ConversationSummary,
  HistoryPage,
  MessageView,
  MessengerApi,
  MessengerEvent,
  ProfileInfo,
  SafetyNumber,
  SearchHit,
} from './messenger-types.js';
import { KeyManager } from './protocol/key-manager.js';
import { createProtocolStores, type ProtocolStores } from './protocol/protocol-stores.js';
import { computeSafetyNumber } from './protocol/safety-number.js';
import type { RelayApi } from './relay-client/relay-api.js';
import * as conversations from './store/conversation-queries.js';
import { DatabaseLock } from './store/database.js';
import { outboxSize, pruneProcessedEnvelopes } from './store/delivery-queries.js';
import * as messages from './store/message-queries.js';
import { getProfile, type ProfileRow } from './store/profile-queries.js';
import type { WritableDB } from './store/sql.js';
import { emitConversation } from './sync/content-handler.js';
import { CoreContext, EventHub } from './sync/core-context.js';
import { Inbound } from './sync/inbound.js';
import { ReceivePipeline } from './sync/receive-pipeline.js';
import { enqueue, SendPipeline } from './sync/send-pipeline.js';

const MAX_SWEEP_DELAY_MS = 60_000;
const PROCESSED_GUID_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface MessengerOptions {
  db: WritableDB;
  relay: RelayApi;
  relayUrl: string;
  now?: () => number;
  /** Called by close() after the database is closed. */
  onClose?: () => void;
}

/** The messenger engine behind the desktop app and the CLI. */
export class Messenger implements MessengerApi {
  readonly #db: WritableDB;
  readonly #ctx: CoreContext;
  readonly #stores: ProtocolStores;
  readonly #keys: KeyManager;
  readonly #sender: SendPipeline;
  readonly #inbound: Inbound;
  readonly #events = new EventHub();
  readonly #profile: ProfileRow;
  readonly #relayUrl: string;
  readonly #onClose: (() => void) | undefined;
  #state: ConnectionState = 'offline';
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #lastSentAt = 0;

  constructor(options: MessengerOptions) {
    const now = options.now ?? Date.now;
    this.#db = options.db;
    this.#relayUrl = options.relayUrl;
    this.#onClose = options.onClose;
    const profile = getProfile(this.#db);
    if (!profile) {
      throw new SottoError('no_profile', 'this database holds no registered profile');
    }
    this.#profile = profile;
    options.relay.setCredentials({
      accountId: profile.accountId,
      deviceId: profile.deviceId,
      deviceSecret: profile.deviceSecret,
    });
    this.#stores = createProtocolStores(this.#db, (accountId) => this.#onIdentityChange(accountId), now);
    this.#ctx = new CoreContext(
      this.#db,
      new DatabaseLock(this.#db),
      this.#stores,
      options.relay,
      { accountId: profile.accountId, deviceId: profile.deviceId, username: profile.username },
      this.#events,
      now,
    );
    this.#events.summarize = (id) => conversations.getConversation(this.#db, id);
    this.#keys = new KeyManager(this.#db, this.#stores, now);
    this.#sender = new SendPipeline(this.#ctx);
    this.#inbound = new Inbound(this.#ctx, new ReceivePipeline(this.#ctx, this.#sender), this.#sender, {
      onState: (state) => this.#setState(state),
      onDrained: () => this.maintainKeys(),
    });
    this.#scheduleSweep(0);
  }

  profile(): ProfileInfo {
    return {
      accountId: this.#profile.accountId,
      username: this.#profile.username,
      deviceId: this.#profile.deviceId,
      relayUrl: this.#relayUrl,
    };
  }

  connectionState(): ConnectionState {
    return this.#state;
  }

  on(listener: (event: MessengerEvent) => void): () => void {
    return this.#events.on(listener);
  }

  async connect(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#assertOpen();
    this.#inbound.open();
    this.#sender.kick();
    await Promise.race([
      this.whenDrained(),
      new Promise<void>((resolve) => setTimeout(resolve, options.timeoutMs ?? 20_000).unref()),
    ]);
  }

  /** Resolves once the relay reported its queue empty and every envelope before that is processed. */
  whenDrained(): Promise<void> {
    return this.#inbound.whenDrained();
  }

  /** Outgoing items not yet accepted by the relay. */
  pendingOutgoing(): number {
    return outboxSize(this.#db);
  }

  /** Time of the last envelope handled (for "N seconds of quiet"). */
  lastActivity(): number {
    return this.#inbound.lastActivity();
  }

  /** Sends everything due in the outbox now and waits for that attempt to finish. */
  async flushOutgoing(): Promise<void> {
    this.#sender.kick();
    await this.#sender.idle();
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#sender.stop();
    await this.#sender.idle();
    clearTimeout(this.#sweepTimer);
    await this.#inbound.close();
    await this.#ctx.lock.exclusive(() => undefined);
    this.#setState('offline');
    this.#events.flushConversations();
    this.#events.summarize = undefined;
    this.#db.close();
    this.#onClose?.();
  }

  async startConversation(username: string): Promise<ConversationSummary> {
    this.#assertOpen();
    const name = username.trim().toLowerCase().replace(/^@/, '');
    const found = await this.#ctx.relay.lookupUsername(name).catch((error: unknown) => {
      if (error instanceof SottoError && error.status === 404) {
        throw new SottoError('not_found', `no user named ${name} on this relay`, { cause: error });
      }
      throw error;
    });
    if (found.accountId === this.#profile.accountId) {
      throw new SottoError('invalid_argument', 'you cannot start a conversation with yourself');
    }
    await this.#ctx.tx(() =>
      conversations.ensureConversation(this.#db, found.accountId, found.username, this.#ctx.now()),
    );
    return this.#conversation(found.accountId);
  }

  listConversations(): ConversationSummary[] {
    return conversations.listConversations(this.#db);
  }

  history(conversationId: ConversationId, options?: { before?: string; limit?: number }): HistoryPage {
    try {
      return messages.historyPage(this.#db, conversationId, options);
    } catch (cause) {
      throw new SottoError('invalid_argument', 'invalid history cursor', { cause });
    }
  }

  search(query: string, options?: { limit?: number }): SearchHit[] {
    return messages.searchMessages(this.#db, query, options?.limit);
  }

  /** The conversation with a username, if one exists locally. */
  findConversation(username: string): ConversationSummary | undefined {
    const id = conversations.findConversationByUsername(this.#db, username.trim().toLowerCase().replace(/^@/, ''));
    return id ? conversations.getConversation(this.#db, id) : undefined;
  }

  async sendText(
    conversationId: ConversationId,
    body: string,
    options?: { quoteMessageId?: string },
  ): Promise<MessageView> {
    this.#assertOpen();
    const conversation = this.#conversation(conversationId);
    if (body.length === 0) {
      throw new SottoError('invalid_argument', 'message is empty');
    }
    const id = randomUUID();
    // Strictly increasing per sender: recipients order by it even when a pipelined run arrives out of order.
    const sentAt = Math.max(this.#ctx.now(), this.#lastSentAt + 1);
    this.#lastSentAt = sentAt;
    const quoted = options?.quoteMessageId ? messages.getMessage(this.#db, options.quoteMessageId) : undefined;
    if (options?.quoteMessageId && !quoted) {
      throw new SottoError('not_found', 'quoted message not found');
    }
    const quote = quoted
      ? { messageId: quoted.id, authorAccountId: quoted.authorAccountId, text: quoted.body.slice(0, 512) }
      : undefined;
    const expires = conversation.expiresInSeconds;
    const base = {
      id,
      body,
      sentAt,
      senderUsername: this.#profile.username,
      ...(expires > 0 ? { expiresInSeconds: expires } : {}),
    };
    const content: Content = quote ? { kind: 'reply', ...base, quote } : { kind: 'text', ...base };
    const view = await this.#ctx.tx(() => {
      messages.insertMessage(this.#db, {
        id,
        conversationId,
        kind: 'text',
        fromMe: true,
        authorAccountId: this.#profile.accountId,
        body,
        sentAt,
        receivedAt: sentAt,
        status: 'sending',
        unread: false,
        quote,
        expiresInSeconds: expires,
        expiresAt: expires > 0 ? sentAt + expires * 1000 : null,
      });
      enqueue(this.#ctx, conversationId, content, id);
      const message = messages.getMessage(this.#db, id) as MessageView;
      this.#events.emit({ type: 'message', message });
      emitConversation(this.#ctx, conversationId);
      return message;
    });
    this.#sender.kick();
    this.#scheduleSweep(0);
    return view;
  }

  async react(messageId: string, emoji: string, options?: { remove?: boolean }): Promise<void> {
    const target = this.#message(messageId);
    const remove = options?.remove ?? false;
    const sentAt = this.#ctx.now();
    await this.#ctx.tx(() => {
      messages.setReaction(this.#db, messageId, this.#profile.accountId, emoji, remove, sentAt);
      enqueue(
        this.#ctx,
        target.conversationId,
        {
          kind: 'reaction',
          targetMessageId: messageId,
          targetAuthorAccountId: target.authorAccountId,
          emoji,
          remove,
          sentAt,
        },
        null,
      );
      this.#emitUpdated(messageId);
    });
    this.#sender.kick();
  }

  async edit(messageId: string, body: string): Promise<void> {
    const target = this.#ownMessage(messageId);
    const sentAt = this.#ctx.now();
    await this.#ctx.tx(() => {
      messages.editMessage(this.#db, messageId, this.#profile.accountId, body, sentAt);
      enqueue(this.#ctx, target.conversationId, { kind: 'edit', targetMessageId: messageId, body, sentAt }, null);
      this.#emitUpdated(messageId);
    });
    this.#sender.kick();
  }

  async deleteForEveryone(messageId: string): Promise<void> {
    const target = this.#ownMessage(messageId);
    const sentAt = this.#ctx.now();
    await this.#ctx.tx(() => {
      messages.markDeleted(this.#db, messageId, this.#profile.accountId);
      enqueue(this.#ctx, target.conversationId, { kind: 'delete', targetMessageId: messageId, sentAt }, null);
      this.#emitUpdated(messageId);
      emitConversation(this.#ctx, target.conversationId);
    });
    this.#sender.kick();
  }

  async setDisappearingTimer(conversationId: ConversationId, seconds: number): Promise<void> {
    this.#conversation(conversationId);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 365 * 24 * 3600) {
      throw new SottoError('invalid_argument', 'timer must be 0 … 1 year in whole seconds');
    }
    const sentAt = this.#ctx.now();
    await this.#ctx.tx(() => {
      conversations.setExpiresIn(this.#db, conversationId, seconds);
      const id = randomUUID();
      messages.insertMessage(this.#db, {
        id,
        conversationId,
        kind: 'timer_change',
        fromMe: true,
        authorAccountId: this.#profile.accountId,
        body: String(seconds),
        sentAt,
        receivedAt: sentAt,
        status: 'sent',
        unread: false,
      });
      enqueue(this.#ctx, conversationId, { kind: 'timer', expiresInSeconds: seconds, sentAt }, null);
      this.#emitNew(id);
      emitConversation(this.#ctx, conversationId);
    });
    this.#sender.kick();
  }

  async setTyping(conversationId: ConversationId, typing: boolean): Promise<void> {
    this.#conversation(conversationId);
    await this.#ctx.tx(() =>
      enqueue(
        this.#ctx,
        conversationId,
        { kind: 'typing', action: typing ? 'started' : 'stopped', at: this.#ctx.now() },
        null,
        true,
      ),
    );
    this.#sender.kick();
  }

  async markRead(conversationId: ConversationId): Promise<void> {
    this.#conversation(conversationId);
    const now = this.#ctx.now();
    await this.#ctx.tx(() => {
      const ids = messages.markConversationRead(this.#db, conversationId, now);
      for (let i = 0; i < ids.length; i += 500) {
        enqueue(
          this.#ctx,
          conversationId,
          { kind: 'receipt', receipt: 'read', messageIds: ids.slice(i, i + 500), at: now },
          null,
        );
      }
      emitConversation(this.#ctx, conversationId);
    });
    this.#sender.kick();
    this.#scheduleSweep(0);
  }

  async safetyNumber(conversationId: ConversationId): Promise<SafetyNumber> {
    const conversation = this.#conversation(conversationId);
    const remote = this.#stores.identity.getIdentityForAccount(conversationId);
    if (!remote) {
      throw new SottoError(
        'not_found',
        `no identity key known for ${conversation.username} yet: exchange a message first`,
      );
    }
    const number = computeSafetyNumber(
      { accountId: this.#profile.accountId, identityKey: this.#stores.identity.keyPair().publicKey },
      { accountId: conversationId, identityKey: remote },
    );
    return { ...number, verified: conversation.verified };
  }

  async markVerified(conversationId: ConversationId, verified: boolean): Promise<void> {
    this.#conversation(conversationId);
    await this.#ctx.tx(() => {
      conversations.setVerified(this.#db, conversationId, verified);
      if (verified) {
        conversations.setIdentityChanged(this.#db, conversationId, false);
      }
      emitConversation(this.#ctx, conversationId);
    });
  }

  acknowledgeIdentityChange(conversationId: ConversationId): void {
    void this.#ctx.tx(() => {
      conversations.setIdentityChanged(this.#db, conversationId, false);
      emitConversation(this.#ctx, conversationId);
    });
  }

  /** Key upkeep: refill one-time prekeys below the threshold, rotate the signed + last-resort keys weekly. */
  async maintainKeys(): Promise<void> {
    await this.#ctx.tx(async () => {
      const count = await this.#ctx.relay.keyCount();
      const refill = this.#keys.refill(count);
      if (refill) {
        await this.#ctx.relay.uploadKeys(refill);
      }
      if (this.#keys.rotationDue()) {
        await this.#ctx.relay.uploadKeys(this.#keys.rotate());
      }
      this.#keys.deleteExpiredKeys();
      pruneProcessedEnvelopes(this.#db, this.#ctx.now() - PROCESSED_GUID_RETENTION_MS);
    });
  }

  // --- internals ---

  #assertOpen(): void {
    if (this.#closed) {
      throw new SottoError('closed', 'the messenger is closed');
    }
  }

  #conversation(id: ConversationId): ConversationSummary {
    const conversation = conversations.getConversation(this.#db, id);
    if (!conversation) {
      throw new SottoError('not_found', 'no such conversation');
    }
    return conversation;
  }

  #message(id: string): MessageView {
    const message = messages.getMessage(this.#db, id);
    if (message?.kind !== 'text') {
      throw new SottoError('not_found', 'no such message');
    }
    return message;
  }

  #ownMessage(id: string): MessageView {
    const message = this.#message(id);
    if (!message.fromMe || message.deleted) {
      throw new SottoError('invalid_argument', 'only your own messages can be changed');
    }
    return message;
  }

  #emitNew(id: string): void {
    const message = messages.getMessage(this.#db, id);
    if (message) {
      this.#events.emit({ type: 'message', message });
    }
  }

  #emitUpdated(id: string): void {
    const message = messages.getMessage(this.#db, id);
    if (message) {
      this.#events.emit({ type: 'message_updated', message });
    }
  }

  /** Inside the transaction that saved the new key: record it, reset verification, tell the UI. */
  #onIdentityChange(accountId: string): void {
    if (!conversations.conversationExists(this.#db, accountId)) {
      return;
    }
    const now = this.#ctx.now();
    const id = randomUUID();
    messages.insertMessage(this.#db, {
      id,
      conversationId: accountId,
      kind: 'identity_change',
      fromMe: false,
      authorAccountId: accountId,
      body: '',
      sentAt: now,
      receivedAt: now,
      status: 'delivered',
      unread: false,
    });
    conversations.setVerified(this.#db, accountId, false);
    conversations.setIdentityChanged(this.#db, accountId, true);
    this.#emitNew(id);
    this.#events.emit({ type: 'identity_changed', conversationId: accountId });
    emitConversation(this.#ctx, accountId);
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) {
      return;
    }
    this.#state = state;
    this.#events.emit({ type: 'connection', state });
    if (state === 'online') {
      this.#sender.retryNow();
    }
  }

  #scheduleSweep(delayMs: number): void {
    if (this.#closed) {
      return;
    }
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = setTimeout(() => void this.#sweep(), delayMs);
    this.#sweepTimer.unref();
  }

  async #sweep(): Promise<void> {
    if (this.#closed) {
      return;
    }
    const now = this.#ctx.now();
    await this.#ctx.tx(() => {
      for (const removed of messages.deleteExpired(this.#db, now)) {
        this.#events.emit({ type: 'message_updated', message: removed });
        emitConversation(this.#ctx, removed.conversationId);
      }
    });
    if (this.#closed) {
      return;
    }
    const next = messages.nextExpiry(this.#db);
    this.#scheduleSweep(
      next === null ? MAX_SWEEP_DELAY_MS : Math.min(MAX_SWEEP_DELAY_MS, Math.max(0, next - this.#ctx.now())),
    );
  }
}
