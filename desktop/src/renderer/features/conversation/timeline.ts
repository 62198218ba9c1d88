import type { HistoryPage, MessageView } from '../../../ipc/view-models.js';

/** Virtuoso's index of the newest page's first item; it goes down as older pages are prepended. */
export const START_INDEX = 1_000_000_000;
/** The most one `messages:history` call may return (the IPC contract's limit). */
const MAX_CALL_SIZE = 500;

/** What the view renders of a timeline: a new object, and a new `messages` array, after every change. */
export interface TimelineView {
  conversationId: string;
  messages: MessageView[];
  firstItemIndex: number;
  cursor: string | null;
  loaded: boolean;
}

/** Ids of the oldest rows shown: where an older page that overlaps what is shown would repeat rows. */
function oldestIds(messages: MessageView[]): Set<string> {
  const ids = new Set<string>();
  const end = Math.min(messages.length, MAX_CALL_SIZE);
  for (let i = 0; i < end; i++) {
    ids.add(messages[i]?.id ?? '');
  }
  return ids;
}

/** One conversation's timeline: the newest page, older pages through the history cursor, live events at the end. */
export class Timeline {
  #messages: MessageView[] = [];
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
    return this.#messages.findIndex((m) => m.id === messageId);
  }

  /** The newest page (`messages:history` without a cursor); messages announced before it stay after it. */
  showNewest(page: HistoryPage): void {
    const ids = new Set(page.messages.map((m) => m.id));
    this.#messages = [...page.messages, ...this.#messages.filter((m) => !ids.has(m.id))];
    this.#cursor = page.nextCursor;
    this.#loaded = true;
  }

  /** Older rows, oldest first, from the history cursor on; `cursor` continues after them. */
  prependOlder(older: MessageView[], cursor: string | null): void {
    // Pages come from the cursor, so they are older than everything shown: only rows at the
    // boundary could repeat, and checking the whole timeline per page would cost a frame.
    const shown = oldestIds(this.#messages);
    const fresh = older.filter((m) => !shown.has(m.id));
    this.#messages = fresh.length > 0 ? fresh.concat(this.#messages) : this.#messages;
    this.#firstItemIndex -= fresh.length;
    this.#cursor = cursor;
  }

  /** A `message` (`isNew`) or `message_updated` event of this conversation. */
  receive(message: MessageView, isNew: boolean): void {
    // Live events concern recent messages: search from the newest end.
    let index = this.#messages.length - 1;
    while (index >= 0 && this.#messages[index]?.id !== message.id) {
      index--;
    }
    if (index !== -1) {
      this.#messages = this.#messages.with(index, message);
    } else if (isNew) {
      this.#messages = [...this.#messages, message];
    }
  }
}
