import { useCallback, useEffect, useRef, useState } from 'react';
import type { MessageView } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';
import { Timeline, type TimelineView } from './timeline.js';

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

/** One conversation's timeline (see Timeline): the newest page, older pages through the history cursor, live events. */
export function useHistory(conversationId: string) {
  // The timeline changes outside React's updaters (they may run twice); the state is its latest view. The
  // effect opens it; until then, nothing is loaded.
  const timeline = useRef<Timeline | null>(null);
  const [state, setState] = useState<TimelineView>(() => new Timeline(conversationId).view());
  const loading = useRef(false);

  useEffect(() => {
    let cancelled = false;
    const opened = new Timeline(conversationId);
    timeline.current = opened;
    setState(opened.view());
    void (async () => {
      const page = await call('messages:history', { conversationId, limit: PAGE_SIZE });
      if (cancelled) {
        return;
      }
      opened.showNewest(page);
      setState(opened.view());
    })();
    const unsubscribe = subscribe('messenger:event', (event) => {
      if (
        (event.type === 'message' || event.type === 'message_updated') &&
        event.message.conversationId === conversationId
      ) {
        opened.receive(event.message, event.type === 'message');
        setState(opened.view());
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
      const opened = timeline.current;
      const cursor = opened?.cursor;
      if (!opened?.loaded || !cursor || loading.current) {
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
        // Another conversation is shown now, or this one was opened again.
        if (timeline.current === opened) {
          opened.prependOlder(pages.flat(), next);
          setState(opened.view());
        }
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
      const opened = timeline.current;
      if (!opened) {
        return -1;
      }
      const known = opened.indexOf(messageId);
      if (known !== -1 || !opened.loaded || loading.current) {
        return known;
      }
      loading.current = true;
      try {
        let cursor = opened.cursor;
        const pages: MessageView[][] = [];
        for (let i = 0; i < MAX_JUMP_PAGES && cursor; i++) {
          const page = await call('messages:history', { conversationId, before: cursor, limit: JUMP_PAGE_SIZE });
          pages.unshift(page.messages);
          cursor = page.nextCursor;
          if (page.messages.some((m) => m.id === messageId)) {
            break;
          }
        }
        if (timeline.current !== opened) {
          return -1;
        }
        opened.prependOlder(pages.flat(), cursor);
        setState(opened.view());
        return opened.indexOf(messageId);
      } finally {
        loading.current = false;
      }
    },
    [conversationId],
  );

  return { ...state, loadOlder, ensureLoaded };
}
