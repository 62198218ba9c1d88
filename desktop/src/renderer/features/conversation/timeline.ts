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

/** How many of `messages` (ordered by sentAt) were sent at or before `sentAt`: a binary search. */
function countSentBy(messages: MessageView[], sentAt: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((messages[middle]?.sentAt ?? Number.POSITIVE_INFINITY) <= sentAt) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

/**
 * One conversation's timeline, in the order `messages:history` keeps (core/store/message-queries.ts,
 * historyPage): by sentAt, then by arrival. It shows a stretch of that order, from the oldest row loaded
 * (the row the history cursor points past) to the newest, and each message in it once: the ids shown are
 * kept in a Set beside the rows, so neither an older page nor a live event looks through the whole timeline.
 *
 * A message announced live takes its place in that order, not the bottom: one its sender wrote hours ago
 * and sent from an offline outbox shows where the history shows it on every later visit. When its place
 * is in history not loaded yet, it waits there until the page that covers it lands.
 */
export class Timeline {
  #messages: MessageView[] = [];
  readonly #shown = new Set<string>();
  /** Messages announced live whose place is in history not loaded yet, in the order they arrived. */
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
    return this.#shown.has(messageId) ? this.#messages.findIndex((m) => m.id === messageId) : -1;
  }

  /** The newest page (`messages:history` without a cursor); messages announced before it take their places. */
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
    this.#placeWaiting();
  }

  /** A `message` (`isNew`) or `message_updated` event of this conversation. */
  receive(message: MessageView, isNew: boolean): void {
    if (this.#shown.has(message.id)) {
      const index = this.#shownIndex(message);
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

  /** A shown message's row; its sentAt never changes, so only the rows sent at the same time are looked at. */
  #shownIndex(message: MessageView): number {
    for (let i = countSentBy(this.#messages, message.sentAt) - 1; i >= 0; i--) {
      const row = this.#messages[i];
      if (row?.sentAt !== message.sentAt) {
        break;
      }
      if (row.id === message.id) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Places the messages announced live whose place is loaded now. Each was stored after every row shown
   * that was sent at the same time (seq, the history's second key, counts arrivals), so it goes after the
   * rows sent at or before it; before the oldest row loaded, its place is in older history, unless there
   * is none. One that an older page brought meanwhile is shown already.
   */
  #placeWaiting(): void {
    if (!this.#loaded) {
      return;
    }
    for (const [id, message] of this.#unplaced) {
      if (this.#shown.has(id)) {
        this.#unplaced.delete(id);
        continue;
      }
      const index = countSentBy(this.#messages, message.sentAt);
      if (index === 0 && this.#cursor !== null) {
        continue;
      }
      this.#unplaced.delete(id);
      this.#shown.add(id);
      this.#messages = this.#messages.toSpliced(index, 0, message);
      if (index === 0) {
        this.#firstItemIndex -= 1;
      }
    }
  }
}
