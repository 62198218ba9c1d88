import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type ListRange, Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import type { ConversationSummary, MessageView, ProfileInfo } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';
import { UnconfirmedName } from '../conversations/ConversationList.js';
import { IdentityBanner } from './Banners.js';
import { Composer, type ComposerMode } from './Composer.js';
import { dayKey } from './format.js';
import { type MessageActions, MessageRow } from './MessageRow.js';
import { type RowLabels, useRowLabels } from './row-labels.js';
import { TimerSelect } from './TimerSelect.js';
import { useHistory } from './use-history.js';
import { usePeerTyping } from './use-typing.js';

interface Props {
  conversation: ConversationSummary;
  profile: ProfileInfo;
  /** A message to scroll to (from search); `nonce` repeats a jump to the same message. */
  jump: { messageId: string; nonce: number } | null;
  onShowSafety: () => void;
}

/**
 * A one-line message row's height (styles.css fixes its metrics in px). Rows of that height match
 * the estimate, so Virtuoso records no size range for them: its size tree stays small, which keeps
 * prepending older pages and measuring rows cheap deep into a long history. Also saves the probe render.
 */
const ESTIMATED_ROW_PX = 62;
/** Older history is requested while fewer than this many loaded rows remain above the viewport. */
const PREFETCH_ROWS = 300;
/** Rows rendered beyond the viewport, so that wheel scrolling rarely shows an unrendered gap. */
const VIEWPORT_MARGIN = { top: 100, bottom: 100 };

/** What every row needs besides its message; Virtuoso hands it to `itemContent`. */
interface TimelineContext {
  messages: MessageView[];
  firstItemIndex: number;
  myAccountId: string;
  highlight: string | null;
  labels: RowLabels;
  actions: MessageActions;
}

const computeItemKey = (_index: number, message: MessageView) => message.id;

function itemContent(index: number, message: MessageView, context: TimelineContext) {
  const previous = context.messages[index - context.firstItemIndex - 1];
  return (
    <MessageRow
      message={message}
      showDay={!previous || dayKey(previous.sentAt) !== dayKey(message.sentAt)}
      myAccountId={context.myAccountId}
      labels={context.labels}
      highlighted={message.id === context.highlight}
      actions={context.actions}
    />
  );
}

/**
 * Marks the conversation read (read receipts go out, the badge clears) only while the user can be
 * taken to be reading it: the window is visible and focused. Visible alone is not enough: Sotto open
 * beside another app or on a second monitor is visible, and main notifies for it then. Marked again
 * when the window gains focus or becomes visible.
 */
function useMarkRead(conversationId: string) {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const mark = () => {
      if (timer) {
        return;
      }
      timer = setTimeout(() => {
        timer = null;
        if (document.visibilityState === 'visible' && document.hasFocus()) {
          void call('conversations:mark-read', { conversationId }).catch(() => {});
        }
      }, 150);
    };
    mark();
    const unsubscribe = subscribe('messenger:event', (event) => {
      if (event.type === 'message' && event.message.conversationId === conversationId && !event.message.fromMe) {
        mark();
      }
    });
    window.addEventListener('focus', mark);
    document.addEventListener('visibilitychange', mark);
    void call('app:focus-conversation', { conversationId }).catch(() => {});
    return () => {
      unsubscribe();
      window.removeEventListener('focus', mark);
      document.removeEventListener('visibilitychange', mark);
      if (timer) {
        clearTimeout(timer);
      }
      void call('app:focus-conversation', { conversationId: null }).catch(() => {});
    };
  }, [conversationId]);
}

/** The virtualized, bottom-anchored timeline of one conversation, with header, banners and composer. */
export function ConversationView({ conversation, profile, jump, onShowSafety }: Props) {
  const { t } = useTranslation();
  const history = useHistory(conversation.id);
  const typing = usePeerTyping(conversation.id);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const [mode, setMode] = useState<ComposerMode>({ kind: 'new' });
  const [highlight, setHighlight] = useState<string | null>(null);
  // Follows new messages while the newest ones are on screen; Virtuoso's own at-bottom flag
  // flickers during bursts of incoming messages, so the visible range is checked too.
  const nearBottom = useRef(true);
  useMarkRead(conversation.id);

  const { messages, firstItemIndex, ensureLoaded } = history;

  // A jump waits for Virtuoso to render the prepended pages, then scrolls to the data index.
  const [pendingScroll, setPendingScroll] = useState<{ messageId: string } | null>(null);
  const jumpTo = useCallback(
    async (messageId: string) => {
      const position = await ensureLoaded(messageId);
      if (position !== -1) {
        setHighlight(messageId);
        setPendingScroll({ messageId });
      }
    },
    [ensureLoaded],
  );

  useEffect(() => {
    if (!pendingScroll) {
      return;
    }
    const index = messages.findIndex((m) => m.id === pendingScroll.messageId);
    if (index === -1) {
      return;
    }
    setPendingScroll(null);
    // Virtuoso settles the prepended pages over a few frames and may restore its own position:
    // scroll, then check the row is on screen, a bounded number of times.
    // Not cancelled on cleanup: clearing `pendingScroll` above re-runs this effect.
    const { messageId } = pendingScroll;
    const attempt = (left: number) => {
      virtuoso.current?.scrollToIndex({ index, align: 'center' });
      setTimeout(() => {
        const row = document.querySelector(`[data-message-id="${CSS.escape(messageId)}"]`);
        if (!row && left > 0) {
          attempt(left - 1);
        }
      }, 120);
    };
    requestAnimationFrame(() => attempt(5));
  }, [pendingScroll, messages]);

  useEffect(() => {
    if (jump && history.loaded) {
      void jumpTo(jump.messageId);
    }
  }, [jump, history.loaded, jumpTo]);

  const actions = useMemo<MessageActions>(
    () => ({
      reply: (message) => setMode({ kind: 'reply', to: message }),
      edit: (message) => setMode({ kind: 'edit', message }),
      remove: (message) => void call('messages:delete', { messageId: message.id }),
      resend: (message) => void call('messages:resend', { messageId: message.id }),
      react: (message, emoji, remove) => void call('messages:react', { messageId: message.id, emoji, remove }),
      jumpTo: (messageId) => void jumpTo(messageId),
    }),
    [jumpTo],
  );

  const labels = useRowLabels(conversation.username);
  const context = useMemo<TimelineContext>(
    () => ({ messages, firstItemIndex, myAccountId: profile.accountId, highlight, labels, actions }),
    [messages, firstItemIndex, profile.accountId, highlight, labels, actions],
  );

  // Virtuoso's callbacks stay the same functions across pages; they read the latest timeline here.
  const latest = useRef({ firstItemIndex, count: messages.length, loadOlder: history.loadOlder });
  latest.current = { firstItemIndex, count: messages.length, loadOlder: history.loadOlder };
  const followOutput = useCallback((atBottom: boolean) => (atBottom || nearBottom.current ? 'auto' : false), []);
  const rangeChanged = useCallback((range: ListRange) => {
    const { firstItemIndex: first, count, loadOlder } = latest.current;
    nearBottom.current = range.endIndex >= first + count - 3;
    // Ask for older history well before the top is reached, so fast scrolling never waits on it.
    if (range.startIndex - first < PREFETCH_ROWS) {
      void loadOlder();
    }
  }, []);
  const startReached = useCallback(() => void latest.current.loadOlder(), []);

  return (
    <section className="conversation-view" aria-labelledby="conversation-title">
      <header className="conversation-header">
        <h2 id="conversation-title">
          {conversation.username}
          {conversation.claimPending && <UnconfirmedName />}
          {conversation.verified && (
            <span className="verified" title={t('safety.verified')}>
              {' ✓'}
              <span className="visually-hidden">{t('safety.verified')}</span>
            </span>
          )}
        </h2>
        <div className="row">
          <TimerSelect conversationId={conversation.id} seconds={conversation.expiresInSeconds} />
          <button type="button" onClick={onShowSafety}>
            {t('safety.open')}
          </button>
        </div>
      </header>
      {conversation.identityChanged && (
        <IdentityBanner
          name={conversation.username}
          onView={onShowSafety}
          onDismiss={() => void call('safety:acknowledge-change', { conversationId: conversation.id })}
        />
      )}
      <div className="timeline" role="log" aria-label={t('conversation.timeline', { name: conversation.username })}>
        {history.loaded ? (
          messages.length === 0 ? (
            <p className="muted empty">{t('conversation.empty')}</p>
          ) : (
            <Virtuoso
              key={conversation.id}
              ref={virtuoso}
              style={{ height: '100%' }}
              data={messages}
              context={context}
              firstItemIndex={firstItemIndex}
              initialTopMostItemIndex={{ index: 'LAST', align: 'end' }}
              alignToBottom
              atBottomThreshold={120}
              followOutput={followOutput}
              rangeChanged={rangeChanged}
              startReached={startReached}
              defaultItemHeight={ESTIMATED_ROW_PX}
              increaseViewportBy={VIEWPORT_MARGIN}
              computeItemKey={computeItemKey}
              itemContent={itemContent}
            />
          )
        ) : (
          <p className="muted empty" aria-busy="true">
            {t('conversation.loading')}
          </p>
        )}
      </div>
      <p className="typing" aria-live="polite">
        {typing ? t('conversation.typing', { name: conversation.username }) : ''}
      </p>
      <Composer
        conversationId={conversation.id}
        mode={mode}
        onModeDone={() => setMode({ kind: 'new' })}
        onSent={() => virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end' })}
      />
    </section>
  );
}
