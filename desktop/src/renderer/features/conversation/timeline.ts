import type { HistoryPage, MessageView } from '../../../ipc/view-models.js';

/** Virtuoso's index of the newest page's first item; it goes down as older pages are prepended. */
export const START_INDEX = 1_000_000_000;

/** What the view renders of a timeline: a new object, and a new `messages` array, after every change. */
export interface TimelineView {
  conversationId: string;
  messages: MessageView[];
  firstItemIndex: number;
  cursor: string | null;
  loaded: boolean;
}

/**
 * One conversation's timeline: a stretch of the order `messages:history` keeps (core/store/message-queries.ts,
 * historyPage: by sentAt, then by arrival), from the oldest row loaded (the row the history cursor points
 * past) to the newest, then the messages that arrived while it is open, and each message in it once: the ids
 * shown are kept in a Set beside the rows, so an older page never repeats a row without a pass over the
 * timeline.
 *
 * A message that arrives while the conversation is open goes at the bottom, where the reader looks for new
 * messages, even when its sender wrote it long ago (sent from an offline outbox): put at its place in the
 * history order, it could land hundreds of rows up, or in history not loaded yet, unseen though counted
 * read. Its bubble shows when it was sent; on the next visit it is at its place in the history order.
 */
export class Timeline {
  #messages: MessageView[] = [];
  readonly #shown = new Set<string>();
  /** Messages announced live before the newest page was shown, in the order they arrived. */
  readonly #unplaced = new Map<string, MessageView>();
  #firstItemIndex = START_INDEX;
  #cursor: string | null = null;
  #loaded = false;

  constructor(readonly conversationId: string) {}

  get cursor(): string | null {
    return this.#cursor;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  view(): TimelineView {
    return {
      conversationId: this.conversationId,
      messages: this.#messages,
      firstItemIndex: this.#firstItemIndex,
      cursor: this.#cursor,
      loaded: this.#loaded,
    };
  }

  /** Where `messageId` is in `view().messages`, or -1 when it is not shown. */
  indexOf(messageId: string): number {
    return this.#shown.has(messageId) ? this.#shownIndex(messageId) : -1;
  }

  /** The newest page (`messages:history` without a cursor); messages announced before it, not in it, follow it. */
  showNewest(page: HistoryPage): void {
    this.#messages = this.#unshown(page.messages);
    this.#cursor = page.nextCursor;
    this.#loaded = true;
    this.#placeWaiting();
  }

  /** Older rows, oldest first, from the history cursor on; `cursor` continues after them. */
  prependOlder(older: MessageView[], cursor: string | null): void {
    const fresh = this.#unshown(older);
    this.#messages = fresh.concat(this.#messages);
    this.#firstItemIndex -= fresh.length;
    this.#cursor = cursor;
  }

  /** A `message` (`isNew`) or `message_updated` event of this conversation. */
  receive(message: MessageView, isNew: boolean): void {
    if (this.#shown.has(message.id)) {
      const index = this.#shownIndex(message.id);
      if (index !== -1) {
        this.#messages = this.#messages.with(index, message);
      }
      return;
    }
    if (isNew || this.#unplaced.has(message.id)) {
      this.#unplaced.set(message.id, message);
      this.#placeWaiting();
    }
  }

  /** The rows of `rows` not shown yet, now counted as shown. */
  #unshown(rows: MessageView[]): MessageView[] {
    const fresh: MessageView[] = [];
    for (const message of rows) {
      if (!this.#shown.has(message.id)) {
        this.#shown.add(message.id);
        fresh.push(message);
      }
    }
    return fresh;
  }

  /** A shown message's row, looked for from the newest end: live events are about recent messages. */
  #shownIndex(id: string): number {
    return this.#messages.findLastIndex((m) => m.id === id);
  }

  /** Once the newest page is shown, the messages announced meanwhile that it does not hold go after it. */
  #placeWaiting(): void {
    if (!this.#loaded) {
      return;
    }
    const arrived = this.#unshown([...this.#unplaced.values()]);
    this.#unplaced.clear();
    if (arrived.length > 0) {
      this.#messages = this.#messages.concat(arrived);
    }
  }
}
