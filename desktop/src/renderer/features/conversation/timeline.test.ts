import { describe, expect, it } from 'vitest';
import type { HistoryPage, MessageView } from '../../../ipc/view-models.js';
import { START_INDEX, Timeline } from './timeline.js';

function textMessage(id: string, sentAt: number): MessageView {
  return {
    id,
    conversationId: 'alice',
    kind: 'text',
    fromMe: false,
    authorAccountId: 'alice',
    body: id,
    sentAt,
    receivedAt: sentAt,
    status: 'delivered',
    editedAt: null,
    deleted: false,
    reactions: [],
    quote: null,
    expiresAt: null,
  };
}

/** The stored history as `messages:history` pages it (core/store/message-queries.ts): by sentAt, then seq. */
class History {
  readonly #rows: { seq: number; message: MessageView }[] = [];

  store(message: MessageView): MessageView {
    this.#rows.push({ seq: this.#rows.length + 1, message });
    return message;
  }

  page(before: string | null, limit: number): HistoryPage {
    const [sentAt = Number.POSITIVE_INFINITY, seq = 0] = before ? before.split(':').map(Number) : [];
    const older = this.#ordered().filter(
      (r) => r.message.sentAt < sentAt || (r.message.sentAt === sentAt && r.seq < seq),
    );
    const page = older.slice(-limit);
    const oldest = page[0];
    return {
      messages: page.map((r) => r.message),
      nextCursor: older.length > limit && oldest ? `${oldest.message.sentAt}:${oldest.seq}` : null,
    };
  }

  ids(): string[] {
    return this.#ordered().map((r) => r.message.id);
  }

  #ordered() {
    return this.#rows.toSorted((a, b) => a.message.sentAt - b.message.sentAt || a.seq - b.seq);
  }
}

/** A history of `count` messages a minute apart, and its timeline showing the newest `shown` of them. */
function opened(count: number, shown: number) {
  const history = new History();
  for (let i = 0; i < count; i++) {
    history.store(textMessage(`m${i}`, i * 60_000));
  }
  const timeline = new Timeline('alice');
  timeline.showNewest(history.page(null, 100));
  loadOlder(timeline, history, shown - 100);
  return { history, timeline };
}

function loadOlder(timeline: Timeline, history: History, count: number): void {
  const page = history.page(timeline.cursor, count);
  timeline.prependOlder(page.messages, page.nextCursor);
}

function shownIds(timeline: Timeline): string[] {
  return timeline.view().messages.map((m) => m.id);
}

describe('Timeline', () => {
  it('shows a message sent late from an old outbox at the bottom, and once, when the reader scrolls up past its place', () => {
    const { history, timeline } = opened(1000, 600);
    // Written 30 s after m200 and sent from its author's offline outbox only now: its place is after m200.
    const late = history.store(textMessage('late', 200 * 60_000 + 30_000));
    timeline.receive(late, true);
    expect(shownIds(timeline).at(-1)).toBe('late');
    loadOlder(timeline, history, 500);

    const ids = shownIds(timeline);
    expect(ids.filter((id) => id === 'late')).toEqual(['late']);
    expect(ids).toEqual([...history.ids().filter((id) => id !== 'late'), 'late']);
    expect(timeline.view().firstItemIndex).toBe(START_INDEX - 900);
  });

  it('puts a live message at the bottom even when its place in the history is shown', () => {
    const { history, timeline } = opened(1000, 600);
    const late = history.store(textMessage('late', 700 * 60_000));
    timeline.receive(late, true);

    const ids = shownIds(timeline);
    expect(ids.slice(ids.indexOf('m700'), ids.indexOf('m700') + 2)).toEqual(['m700', 'm701']);
    expect(ids.at(-1)).toBe('late');
    expect(ids).toHaveLength(601);
    expect(timeline.view().firstItemIndex).toBe(START_INDEX - 500);
  });

  it('shows a live message once when an older page fetched before it was stored holds its place', () => {
    const { history, timeline } = opened(1000, 600);
    const page = history.page(timeline.cursor, 500);
    timeline.receive(history.store(textMessage('late', 200 * 60_000 + 30_000)), true);
    timeline.prependOlder(page.messages, page.nextCursor);
    loadOlder(timeline, history, 500);

    expect(shownIds(timeline)).toEqual([...history.ids().filter((id) => id !== 'late'), 'late']);
  });

  it('shows a message announced while the newest page loads once: in the page if it holds it, else after it', () => {
    const history = new History();
    for (let i = 0; i < 150; i++) {
      history.store(textMessage(`m${i}`, i * 60_000));
    }
    const timeline = new Timeline('alice');
    const inPage = history.store(textMessage('in-page', 149 * 60_000 + 1));
    const page = history.page(null, 100);
    const afterPage = history.store(textMessage('after-page', 120 * 60_000));
    timeline.receive(inPage, true);
    timeline.receive(afterPage, true);
    timeline.showNewest(page);

    expect(shownIds(timeline)).toEqual([...page.messages.map((m) => m.id), 'after-page']);
    expect(shownIds(timeline).at(-2)).toBe('in-page');
    expect(timeline.view().firstItemIndex).toBe(START_INDEX);
  });

  it('updates a message where it is shown, also one that arrived late, and ignores one not loaded', () => {
    const { history, timeline } = opened(1000, 600);
    timeline.receive({ ...textMessage('m450', 450 * 60_000), body: 'edited' }, false);
    const late = history.store(textMessage('late', 10 * 60_000 + 1));
    timeline.receive(late, true);
    timeline.receive({ ...late, body: 'late, edited' }, false);
    timeline.receive({ ...textMessage('m5', 5 * 60_000), body: 'not loaded yet' }, false);
    loadOlder(timeline, history, 500);

    const messages = timeline.view().messages;
    expect(messages.map((m) => m.id)).toEqual([...history.ids().filter((id) => id !== 'late'), 'late']);
    expect(messages.find((m) => m.id === 'm450')?.body).toBe('edited');
    expect(messages.find((m) => m.id === 'late')?.body).toBe('late, edited');
    expect(messages.find((m) => m.id === 'm5')?.body).toBe('m5');
  });
});
