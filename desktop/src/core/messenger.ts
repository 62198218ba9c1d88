import { Composer } from './actions/compose.js';
import { normalizeUsername, requireConversation } from './actions/lookups.js';
import * as trust from './actions/trust.js';
import { ExpirySweeper, KeyUpkeep, maintainKeys } from './actions/upkeep.js';
import { SottoError, unregisteredError } from './errors.js';
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
import { createProtocolStores } from './protocol/protocol-stores.js';
import type { RelayApi } from './relay-client/relay-api.js';
import * as conversations from './store/conversation-queries.js';
import { DatabaseLock } from './store/database.js';
import { outboxSize } from './store/delivery-queries.js';
import * as messages from './store/message-queries.js';
import { getProfile, type ProfileRow } from './store/profile-queries.js';
import type { WritableDB } from './store/sql.js';
import { confirmUsername } from './sync/content-handler.js';
import { CoreContext, EventHub } from './sync/core-context.js';
import { checkFaultInjection } from './sync/fault-injection.js';
import { Inbound } from './sync/inbound.js';
import { ReceivePipeline } from './sync/receive-pipeline.js';
import { SendPipeline } from './sync/send-pipeline.js';

export interface MessengerOptions {
  db: WritableDB;
  relay: RelayApi;
  relayUrl: string;
  /** The relay device secret (kept in the keychain or the database: see profile-credentials.ts). */
  deviceSecret: string;
  now?: () => number;
  /** Called by close() after the database is closed. */
  onClose?: () => void;
}

/**
 * The messenger engine behind the desktop app and the CLI: wires the database, the libsignal stores,
 * the relay and the pipelines together and exposes them as `MessengerApi`. The work is done in
 * actions/ (what the user does, trust, upkeep) and sync/ (send and receive pipelines).
 */
export class Messenger implements MessengerApi {
  readonly #db: WritableDB;
  readonly #ctx: CoreContext;
  readonly #keys: KeyManager;
  readonly #sender: SendPipeline;
  readonly #inbound: Inbound;
  readonly #composer: Composer;
  readonly #sweeper: ExpirySweeper;
  readonly #keyUpkeep: KeyUpkeep;
  readonly #events = new EventHub();
  readonly #profile: ProfileRow;
  readonly #relayUrl: string;
  readonly #onClose: (() => void) | undefined;
  #state: ConnectionState = 'offline';
  /** Rejected by `#setState('unregistered')`: `connect` fails with it instead of waiting for a drain. */
  readonly #unregistered = rejectLater();
  #closed = false;

  constructor(options: MessengerOptions) {
    checkFaultInjection();
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
      deviceSecret: options.deviceSecret,
    });
    const stores = createProtocolStores(this.#db, (accountId) => trust.recordIdentityChange(this.#ctx, accountId), now);
    this.#ctx = new CoreContext(
      this.#db,
      new DatabaseLock(this.#db),
      stores,
      options.relay,
      { accountId: profile.accountId, deviceId: profile.deviceId, username: profile.username },
      this.#events,
      now,
    );
    this.#events.summarize = (id) => conversations.getConversation(this.#db, id);
    this.#keys = new KeyManager(this.#db, stores, now);
    this.#sender = new SendPipeline(this.#ctx);
    this.#sweeper = new ExpirySweeper(this.#ctx);
    this.#composer = new Composer(this.#ctx, this.#sender, () => this.#sweeper.schedule(0));
    this.#keyUpkeep = new KeyUpkeep(
      () => this.maintainKeys(),
      () => this.#state === 'online',
    );
    this.#inbound = new Inbound(this.#ctx, new ReceivePipeline(this.#ctx, this.#sender), this.#sender, {
      onState: (state) => this.#setState(state),
      onKeyUpkeepDue: () => void this.#keyUpkeep.request(),
    });
    this.#sweeper.sweepAtOpen();
    this.#sweeper.schedule(0);
    this.#keyUpkeep.start();
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

  async connect(options: { timeoutMs?: number } = {}): Promise<boolean> {
    this.#assertOpen();
    this.#inbound.open();
    this.#sender.kick();
    return Promise.race([
      this.whenDrained().then(() => true),
      this.#unregistered.promise,
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), options.timeoutMs ?? 20_000).unref()),
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

  /**
   * Signs this device out of the relay, before its data is wiped: removes it from its account, or deletes the
   * account when it is the account's only device (queues, keys and username go with it). Nothing works after.
   */
  async signOut(): Promise<void> {
    this.#assertOpen();
    const relay = this.#ctx.relay;
    const { devices } = await relay.listDevices();
    if (devices.every((d) => d.deviceId === this.#profile.deviceId)) {
      await relay.deleteAccount();
    } else {
      await relay.removeDevice(this.#profile.deviceId);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#sender.stop();
    await this.#sender.idle();
    this.#sweeper.stop();
    await this.#keyUpkeep.stop();
    await this.#inbound.close();
    await this.#ctx.lock.exclusive(() => this.#ctx.indexWaitingMessages());
    this.#setState('offline');
    this.#events.flushConversations();
    this.#events.summarize = undefined;
    this.#db.close();
    this.#onClose?.();
  }

  async startConversation(username: string): Promise<ConversationSummary> {
    this.#assertOpen();
    const name = normalizeUsername(username);
    const found = await this.#ctx.relay.lookupUsername(name).catch((error: unknown) => {
      if (error instanceof SottoError && error.status === 404) {
        throw new SottoError('not_found', `no user named ${name} on this relay`, { cause: error });
      }
      throw error;
    });
    if (found.accountId === this.#profile.accountId) {
      throw new SottoError('invalid_argument', 'you cannot start a conversation with yourself');
    }
    await this.#ctx.tx(() => {
      confirmUsername(this.#ctx, found.username, found.accountId);
      conversations.ensureConversation(this.#db, found.accountId, found.username, this.#ctx.now());
    });
    return requireConversation(this.#ctx, found.accountId);
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
  conversation(conversationId: ConversationId): ConversationSummary | undefined {
    return conversations.getConversation(this.#db, conversationId);
  }

  findConversation(username: string): ConversationSummary | undefined {
    const id = conversations.findConversationByUsername(this.#db, normalizeUsername(username));
    return id ? conversations.getConversation(this.#db, id) : undefined;
  }

  sendText(conversationId: ConversationId, body: string, options?: { quoteMessageId?: string }): Promise<MessageView> {
    this.#assertOpen();
    return this.#composer.sendText(conversationId, body, options?.quoteMessageId);
  }

  react(messageId: string, emoji: string, options?: { remove?: boolean }): Promise<void> {
    return this.#composer.react(messageId, emoji, options?.remove ?? false);
  }

  edit(messageId: string, body: string): Promise<void> {
    return this.#composer.edit(messageId, body);
  }

  deleteForEveryone(messageId: string): Promise<void> {
    return this.#composer.deleteForEveryone(messageId);
  }

  resend(messageId: string): Promise<void> {
    return this.#composer.resend(messageId);
  }

  setDisappearingTimer(conversationId: ConversationId, seconds: number): Promise<void> {
    return this.#composer.setDisappearingTimer(conversationId, seconds);
  }

  setTyping(conversationId: ConversationId, typing: boolean): Promise<void> {
    return this.#composer.setTyping(conversationId, typing);
  }

  markRead(conversationId: ConversationId): Promise<void> {
    return this.#composer.markRead(conversationId);
  }

  safetyNumber(conversationId: ConversationId): Promise<SafetyNumber> {
    return trust.safetyNumber(this.#ctx, conversationId);
  }

  markVerified(conversationId: ConversationId, verified: boolean, comparedSafetyNumber?: string): Promise<void> {
    return trust.markVerified(this.#ctx, conversationId, verified, comparedSafetyNumber);
  }

  acknowledgeIdentityChange(conversationId: ConversationId): void {
    void trust.acknowledgeIdentityChange(this.#ctx, conversationId);
  }

  /** Key upkeep: refill one-time prekeys below the threshold, rotate the signed + last-resort keys weekly. */
  maintainKeys(): Promise<void> {
    return maintainKeys(this.#ctx, this.#keys);
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SottoError('closed', 'the messenger is closed');
    }
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) {
      return;
    }
    this.#state = state;
    this.#events.emit({ type: 'connection', state });
    if (state === 'unregistered') {
      this.#unregistered.reject(unregisteredError());
    }
    if (state === 'online') {
      this.#sender.retryNow();
    }
  }
}

/** A promise to reject later, that is never an unhandled rejection while nobody awaits it. */
function rejectLater(): { promise: Promise<never>; reject: (error: Error) => void } {
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<never>((_, rejectPromise) => {
    reject = rejectPromise;
  });
  promise.catch(() => undefined);
  return { promise, reject };
}
