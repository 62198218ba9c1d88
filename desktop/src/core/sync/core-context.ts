import type { ConversationSummary, MessengerEvent } from '../messenger-types.js';

const CONVERSATION_DEBOUNCE_MS = 16;

import type { ProtocolStores } from '../protocol/protocol-stores.js';
import type { RelayApi } from '../relay-client/relay-api.js';
import type { DatabaseLock } from '../store/database.js';
import type { WritableDB } from '../store/sql.js';

export interface LocalProfile {
  accountId: string;
  deviceId: number;
  username: string;
}

/** Events raised inside a transaction are only delivered once it commits. */
export class EventHub {
  #listeners = new Set<(event: MessengerEvent) => void>();
  #pending: MessengerEvent[] = [];
  #pendingConversations = new Set<string>();
  #dirtyConversations = new Set<string>();
  #conversationTimer: NodeJS.Timeout | undefined;
  #depth = 0;
  /** Computes a conversation summary for `conversation_updated` (set by the owner of the database). */
  summarize: ((conversationId: string) => ConversationSummary | undefined) | undefined;

  /**
   * A conversation changed. Its summary (unread count etc.) is computed once per burst, after commit,
   * and only if someone listens: a catch-up of thousands of messages does not recount per message.
   */
  touchConversation(conversationId: string): void {
    if (this.#depth > 0) {
      this.#pendingConversations.add(conversationId);
      return;
    }
    this.#dirtyConversations.add(conversationId);
    this.#conversationTimer ??= setTimeout(() => this.flushConversations(), CONVERSATION_DEBOUNCE_MS);
  }

  flushConversations(): void {
    clearTimeout(this.#conversationTimer);
    this.#conversationTimer = undefined;
    const ids = [...this.#dirtyConversations];
    this.#dirtyConversations.clear();
    if (this.#listeners.size === 0 || !this.summarize) {
      return;
    }
    for (const id of ids) {
      const conversation = this.summarize(id);
      if (conversation) {
        this.#deliver({ type: 'conversation_updated', conversation });
      }
    }
  }

  on(listener: (event: MessengerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: MessengerEvent): void {
    if (this.#depth > 0) {
      this.#pending.push(event);
      return;
    }
    this.#deliver(event);
  }

  /** Position in the pending events, to undo a rolled-back SAVEPOINT's events. */
  mark(): number {
    return this.#pending.length;
  }

  rollbackTo(mark: number): void {
    this.#pending.length = Math.min(this.#pending.length, mark);
  }

  begin(): void {
    this.#depth += 1;
  }

  end(commit: boolean): void {
    this.#depth -= 1;
    if (this.#depth > 0) {
      return;
    }
    const events = this.#pending;
    this.#pending = [];
    const conversations = [...this.#pendingConversations];
    this.#pendingConversations.clear();
    if (commit) {
      for (const event of events) {
        this.#deliver(event);
      }
      for (const id of conversations) {
        this.touchConversation(id);
      }
    }
  }

  #deliver(event: MessengerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // a failing listener must not break the pipeline
      }
    }
  }
}

/** Everything the send and receive pipelines share. */
export class CoreContext {
  /** Conversations created from a stranger's message: account id → the username it claimed (to be confirmed). */
  readonly claimedNames = new Map<string, string>();

  constructor(
    readonly db: WritableDB,
    readonly lock: DatabaseLock,
    readonly stores: ProtocolStores,
    readonly relay: RelayApi,
    readonly local: LocalProfile,
    readonly events: EventHub,
    readonly now: () => number,
  ) {}

  /** One SQLite transaction (held across awaits, serialised with every other writer); events flush after COMMIT. */
  tx<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.lock.exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      this.events.begin();
      try {
        const value = await fn();
        this.db.exec('COMMIT');
        this.events.end(true);
        return value;
      } catch (error) {
        if (this.db.inTransaction) {
          this.db.exec('ROLLBACK');
        }
        this.events.end(false);
        throw error;
      }
    });
  }
}
