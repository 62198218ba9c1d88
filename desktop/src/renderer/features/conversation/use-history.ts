import { useCallback, useEffect, useRef, useState } from 'react';
import type { MessageView } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';

/** Virtuoso's index of the newest page's first item; it goes down as older pages are prepended. */
export const START_INDEX = 1_000_000_000;
const PAGE_SIZE = 100;
/** The most one `messages:history` call may return (the IPC contract's limit). */
const MAX_CALL_SIZE = 500;
/** Older batches grow while the reader keeps asking soon after the last one, up to this size. */
const MIN_BATCH = 200;
const MAX_BATCH = 25_600;
/** The previous batch was used up this quickly: the reader scrolls fast, the next one doubles. */
const FAST_READ_MS = 3000;
/** The reader came back after this long: start again from a small batch. */
const IDLE_READ_MS = 10_000;
const JUMP_PAGE_SIZE = 500;
const MAX_JUMP_PAGES = 400;

interface HistoryState {
  conversationId: string;
  messages: MessageView[];
  firstItemIndex: number;
  cursor: string | null;
  loaded: boolean;
}

function upsert(messages: MessageView[], message: MessageView, appendIfMissing: boolean): MessageView[] {
  // Live events concern recent messages: search from the newest end.
  let index = messages.length - 1;
  while (index >= 0 && messages[index]?.id !== message.id) {
    index--;
  }
  if (index === -1) {
    return appendIfMissing ? [...messages, message] : messages;
  }
  const next = messages.slice();
  next[index] = message;
  return next;
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

/** Keeps messages that arrived (or changed) through events while a jump was loading. */
function mergeLive(base: MessageView[], live: MessageView[]): MessageView[] {
  const byId = new Map(live.map((m) => [m.id, m]));
  const merged = base.map((m) => byId.get(m.id) ?? m);
  const present = new Set(base.map((m) => m.id));
  return [...merged, ...live.filter((m) => !present.has(m.id))];
}

/** One conversation's timeline: newest page first, older pages through the history cursor, live events. */
export function useHistory(conversationId: string) {
  const [state, setState] = useState<HistoryState>({
    conversationId,
    messages: [],
    firstItemIndex: START_INDEX,
    cursor: null,
    loaded: false,
  });
  const loading = useRef(false);
  const current = useRef(state);
  current.current = state;

  useEffect(() => {
    let cancelled = false;
    setState({ conversationId, messages: [], firstItemIndex: START_INDEX, cursor: null, loaded: false });
    void (async () => {
      const page = await call('messages:history', { conversationId, limit: PAGE_SIZE });
      if (cancelled) {
        return;
      }
      setState((s) => {
        const ids = new Set(page.messages.map((m) => m.id));
        const live = s.conversationId === conversationId ? s.messages.filter((m) => !ids.has(m.id)) : [];
        const messages = [...page.messages, ...live];
        return { conversationId, messages, firstItemIndex: START_INDEX, cursor: page.nextCursor, loaded: true };
      });
    })();
    const unsubscribe = subscribe('messenger:event', (event) => {
      if (
        (event.type === 'message' || event.type === 'message_updated') &&
        event.message.conversationId === conversationId
      ) {
        setState((s) =>
          s.conversationId === conversationId
            ? { ...s, messages: upsert(s.messages, event.message, event.type === 'message') }
            : s,
        );
      }
    });
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [conversationId]);

  const batch = useRef({ size: MIN_BATCH, lastLandedAt: Number.NEGATIVE_INFINITY });

  /**
   * Prepends older messages in one state update. Without `limit`, the batch doubles when the
   * reader used up the previous one within `FAST_READ_MS` (a fast scroll towards the top gets
   * fewer, bigger prepends; each prepend costs Virtuoso a pass over its measured sizes) and starts
   * again from `MIN_BATCH` after `IDLE_READ_MS`. Batches are fetched in calls of at most 500.
   */
  const loadOlder = useCallback(
    async (limit?: number): Promise<void> => {
      const { cursor, loaded } = current.current;
      if (!loaded || !cursor || loading.current) {
        return;
      }
      const pace = batch.current;
      const sinceLanded = performance.now() - pace.lastLandedAt;
      if (sinceLanded < FAST_READ_MS) {
        pace.size = Math.min(MAX_BATCH, pace.size * 2);
      } else if (sinceLanded > IDLE_READ_MS) {
        pace.size = MIN_BATCH;
      }
      const wanted = limit ?? pace.size;
      loading.current = true;
      try {
        const pages: MessageView[][] = [];
        let next: string | null = cursor;
        for (let fetched = 0; next && fetched < wanted; ) {
          const page: { messages: MessageView[]; nextCursor: string | null } = await call('messages:history', {
            conversationId,
            before: next,
            limit: Math.min(MAX_CALL_SIZE, wanted - fetched),
          });
          pages.unshift(page.messages);
          fetched += page.messages.length;
          next = page.nextCursor;
          if (page.messages.length === 0) {
            break;
          }
        }
        const older = pages.flat();
        const cursorAfter = next;
        setState((s) => {
          if (s.conversationId !== conversationId) {
            return s;
          }
          // Pages come from the cursor, so they are older than everything shown: only rows at the
          // boundary could repeat, and checking the whole timeline per page would cost a frame.
          const shown = oldestIds(s.messages);
          const fresh = older.filter((m) => !shown.has(m.id));
          const merged: HistoryState = {
            ...s,
            messages: fresh.length > 0 ? fresh.concat(s.messages) : s.messages,
            firstItemIndex: s.firstItemIndex - fresh.length,
            cursor: cursorAfter,
          };
          current.current = merged;
          return merged;
        });
      } finally {
        loading.current = false;
        pace.lastLandedAt = performance.now();
      }
    },
    [conversationId],
  );

  /**
   * Loads older pages until `messageId` is in the timeline (in one state update) and returns its
   * position in `messages`, or -1 when the history does not hold it.
   */
  const ensureLoaded = useCallback(
    async (messageId: string): Promise<number> => {
      // An older page may be on its way (Virtuoso asks for one at mount): let it land first.
      for (let i = 0; i < 250 && loading.current; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const known = current.current.messages.findIndex((m) => m.id === messageId);
      if (known !== -1 || !current.current.loaded || loading.current) {
        return known;
      }
      loading.current = true;
      try {
        let cursor = current.current.cursor;
        const pages: MessageView[][] = [];
        for (let i = 0; i < MAX_JUMP_PAGES && cursor; i++) {
          const page = await call('messages:history', { conversationId, before: cursor, limit: JUMP_PAGE_SIZE });
          pages.unshift(page.messages);
          cursor = page.nextCursor;
          if (page.messages.some((m) => m.id === messageId)) {
            break;
          }
        }
        const ids = new Set(current.current.messages.map((m) => m.id));
        const older = pages.flat().filter((m) => !ids.has(m.id));
        const position = older.findIndex((m) => m.id === messageId);
        const next: HistoryState = {
          ...current.current,
          messages: [...older, ...current.current.messages],
          firstItemIndex: current.current.firstItemIndex - older.length,
          cursor,
        };
        current.current = next;
        setState((s) =>
          s.conversationId === conversationId ? { ...next, messages: mergeLive(next.messages, s.messages) } : s,
        );
        return position;
      } finally {
        loading.current = false;
      }
    },
    [conversationId],
  );

  return { ...state, loadOlder, ensureLoaded };
}
