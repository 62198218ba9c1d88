import { useCallback, useEffect, useRef, useState } from 'react';
import type { MessageView } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';

/** Virtuoso's index of the newest page's first item; it goes down as older pages are prepended. */
export const START_INDEX = 1_000_000_000;
const PAGE_SIZE = 100;
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
  const index = messages.findIndex((m) => m.id === message.id);
  if (index === -1) {
    return appendIfMissing ? [...messages, message] : messages;
  }
  const next = messages.slice();
  next[index] = message;
  return next;
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

  const loadOlder = useCallback(
    async (limit = PAGE_SIZE): Promise<void> => {
      const { cursor, loaded } = current.current;
      if (!loaded || !cursor || loading.current) {
        return;
      }
      loading.current = true;
      try {
        const page = await call('messages:history', { conversationId, before: cursor, limit });
        setState((s) => {
          if (s.conversationId !== conversationId) {
            return s;
          }
          const ids = new Set(s.messages.map((m) => m.id));
          const older = page.messages.filter((m) => !ids.has(m.id));
          const next = {
            ...s,
            messages: [...older, ...s.messages],
            firstItemIndex: s.firstItemIndex - older.length,
            cursor: page.nextCursor,
          };
          current.current = next;
          return next;
        });
      } finally {
        loading.current = false;
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
