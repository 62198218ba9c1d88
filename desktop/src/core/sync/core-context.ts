import type { ConversationSummary, MessengerEvent } from '../messenger-types.js';

const CONVERSATION_DEBOUNCE_MS = 16;
/** A group commit closes after this many units or this long, even while more units wait. */
const MAX_GROUP_UNITS = 64;
const MAX_GROUP_MS = 50;
/**
 * A commit adds its messages to the full-text index itself once this many wait; fewer are indexed within
 * FTS_DELAY_MS by a unit of their own, or at once by a search. Each indexing writes a new FTS5 segment
 * (and merges): for a commit of four messages that was 184 µs of its 394 µs here. Search never misses a
 * stored message: searchMessages indexes what waits before it queries.
 */
const FTS_BATCH = 128;
const FTS_DELAY_MS = 1000;

import type { ProtocolStores } from '../protocol/protocol-stores.js';
import type { RelayApi } from '../relay-client/relay-api.js';
import type { DatabaseLock } from '../store/database.js';
import { indexNewMessages } from '../store/message-queries.js';
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

interface CommitGroup {
  /** Resolve each unit's promise (after COMMIT). */
  units: (() => void)[];
  /** Reject each unit's promise (the COMMIT failed). */
  failures: ((error: unknown) => void)[];
  openedAt: number;
}

/** Everything the send and receive pipelines share. */
export class CoreContext {
  constructor(
    readonly db: WritableDB,
    readonly lock: DatabaseLock,
    readonly stores: ProtocolStores,
    readonly relay: RelayApi,
    readonly local: LocalProfile,
    readonly events: EventHub,
    readonly now: () => number,
  ) {}

  /** Units of work sharing the open transaction (group commit), settled once it commits. */
  #group: CommitGroup | undefined;
  /** `tx` calls waiting for the lock. */
  #waiting = 0;

  /**
   * One unit of work in a SQLite transaction (held across awaits, serialised with every other writer):
   * everything it writes commits or rolls back together, and its events are delivered after COMMIT.
   * Group commit: units already waiting when one finishes join the same BEGIN … COMMIT, each inside its
   * own SAVEPOINT (a unit that throws rolls back alone). A unit's promise settles only once the COMMIT
   * that made it durable is done, so nothing is acked or reported before it is stored.
   * A unit that waits on the network (`alone`) commits the open group first and then commits by itself, so
   * a slow relay never holds back units that ran before it.
   */
  tx<T>(fn: () => Promise<T> | T, options: { alone?: boolean } = {}): Promise<T> {
    this.#waiting += 1;
    return new Promise<T>((resolve, reject) => {
      this.lock
        .exclusive(async () => {
          this.#waiting -= 1;
          if (options.alone) {
            this.#closeGroup();
          }
          const group = this.#openGroup();
          const mark = this.events.mark();
          // The first unit of a group sets no SAVEPOINT: should it fail, rolling the whole transaction back
          // undoes it alone. A SAVEPOINT makes SQLite copy each page the unit changes into a sub-journal first.
          const savepoint = group.units.length > 0;
          if (savepoint) {
            this.db.exec('SAVEPOINT unit');
          }
          try {
            const value = await fn();
            if (savepoint) {
              this.db.exec('RELEASE unit');
            }
            group.units.push(() => resolve(value));
            group.failures.push(reject);
          } catch (error) {
            if (savepoint && this.db.inTransaction) {
              this.db.exec('ROLLBACK TO unit');
              this.db.exec('RELEASE unit');
              this.events.rollbackTo(mark);
            } else {
              // The group's first unit (nothing else to keep), or SQLite rolled the whole transaction back
              // (disk full, I/O error): the group is lost.
              this.#closeGroup(error);
            }
            reject(error);
          }
          if (
            this.#group &&
            (options.alone ||
              this.#waiting === 0 ||
              group.units.length >= MAX_GROUP_UNITS ||
              this.now() - group.openedAt > MAX_GROUP_MS)
          ) {
            this.#closeGroup();
          }
        })
        // BEGIN or SAVEPOINT itself failed (a closed database): the unit fails, it never hangs.
        .catch(reject);
    });
  }

  #indexTimer: NodeJS.Timeout | undefined;

  /** Indexes, in a unit of its own, what small commits left out of the full-text index. */
  #scheduleIndexing(): void {
    this.#indexTimer ??= setTimeout(() => {
      this.#indexTimer = undefined;
      this.tx(() => {
        indexNewMessages(this.db);
      }).catch(() => undefined); // closed meanwhile: the next open (or search) indexes them
    }, FTS_DELAY_MS);
    this.#indexTimer.unref();
  }

  /** Before the database closes: index what waits now, and cancel the timer. */
  indexWaitingMessages(): void {
    clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    indexNewMessages(this.db);
  }

  #openGroup(): CommitGroup {
    if (!this.#group) {
      this.db.exec('BEGIN IMMEDIATE');
      this.events.begin();
      this.#group = { units: [], failures: [], openedAt: this.now() };
    }
    return this.#group;
  }

  /** COMMIT (or, given an error, give up) the open group and settle its units. */
  #closeGroup(failure?: unknown): void {
    const group = this.#group;
    this.#group = undefined;
    if (!group) {
      return;
    }
    let error = failure;
    if (error === undefined) {
      try {
        if (indexNewMessages(this.db, FTS_BATCH) > 0) {
          this.#scheduleIndexing();
        }
        this.db.exec('COMMIT');
      } catch (commitError) {
        error = commitError;
      }
    }
    if (error !== undefined) {
      if (this.db.inTransaction) {
        this.db.exec('ROLLBACK');
      }
      this.events.end(false);
      for (const fail of group.failures) {
        fail(error);
      }
      return;
    }
    this.events.end(true);
    for (const settle of group.units) {
      settle();
    }
  }
}
