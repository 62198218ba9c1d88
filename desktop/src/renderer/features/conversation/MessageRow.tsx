import { memo, useCallback, useEffect, useState } from 'react';
import type { MessageView } from '../../../ipc/view-models.js';
import { formatDay, formatTime } from './format.js';
import { MessageBody } from './MessageBody.js';
import { type RowLabels, systemText } from './row-labels.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export interface MessageActions {
  reply: (message: MessageView) => void;
  edit: (message: MessageView) => void;
  remove: (message: MessageView) => void;
  resend: (message: MessageView) => void;
  react: (message: MessageView, emoji: string, remove: boolean) => void;
  jumpTo: (messageId: string) => void;
}

interface Props {
  message: MessageView;
  /** Whether a day separator goes above this row (the previous message is from another day). */
  showDay: boolean;
  myAccountId: string;
  labels: RowLabels;
  highlighted: boolean;
  actions: MessageActions;
}

const GLYPHS: Record<MessageView['status'], string> = {
  sending: '◷',
  sent: '✓',
  delivered: '✓✓',
  read: '✓✓',
  failed: '!',
};

function StatusTick({ status, labels }: { status: MessageView['status']; labels: RowLabels }) {
  return (
    <span className="tick" data-status={status} role="img" aria-label={labels.status[status]}>
      {GLYPHS[status]}
    </span>
  );
}

function SystemRow({ message, labels }: { message: MessageView; labels: RowLabels }) {
  return <p className="system-message">{systemText(message, labels)}</p>;
}

/** Rows waiting for idle time, flipped together in one task (one React render, not one per row). */
const waiting = new Set<() => void>();
let scheduled = false;

function whenIdle(ready: () => void): () => void {
  waiting.add(ready);
  if (!scheduled) {
    scheduled = true;
    requestIdleCallback(
      () => {
        scheduled = false;
        const batch = [...waiting];
        waiting.clear();
        for (const flip of batch) {
          flip();
        }
      },
      { timeout: 500 },
    );
  }
  return () => waiting.delete(ready);
}

/**
 * Becomes true once the browser is idle after the row mounted (or at once on `show()`). The
 * per-message action buttons are invisible until hover or focus and their container keeps its
 * height, so rendering them can wait: a fast scroll mounts and drops rows within a frame or two
 * and then never pays for their buttons. Keyboard and pointer users get them before they need them.
 */
function useIdleFlag(): [boolean, () => void] {
  const [ready, setReady] = useState(false);
  useEffect(() => (ready ? undefined : whenIdle(() => setReady(true))), [ready]);
  const show = useCallback(() => setReady(true), []);
  return [ready, show];
}

/** One timeline row: optional day separator, the bubble, its reactions and its actions. */
export const MessageRow = memo(function MessageRow({
  message,
  showDay,
  myAccountId,
  labels,
  highlighted,
  actions,
}: Props) {
  const [picking, setPicking] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const author = message.fromMe ? labels.you : labels.peerName;
  const time = formatTime(message.sentAt);
  const [controls, showControls] = useIdleFlag();

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: hover/focus only render the row's hidden action buttons early; the row is not a control
    <div className="message-row" data-message-id={message.id} onPointerEnter={showControls} onFocus={showControls}>
      {showDay && (
        <div className="day-separator">
          <span>{formatDay(message.sentAt)}</span>
        </div>
      )}
      {message.kind !== 'text' ? (
        <SystemRow message={message} labels={labels} />
      ) : (
        <article
          className={`message ${message.fromMe ? 'mine' : 'theirs'}${highlighted ? ' highlighted' : ''}`}
          aria-label={labels.message(author, time)}
        >
          {message.quote && (
            <button type="button" className="quote" onClick={() => actions.jumpTo(message.quote?.messageId ?? '')}>
              <span className="quote-author">
                {message.quote.authorAccountId === myAccountId ? labels.you : labels.peerName}
              </span>
              {message.quote.text ? (
                <span className="quote-text">{message.quote.text}</span>
              ) : (
                <em className="quote-text">{labels.quoteNotFound}</em>
              )}
            </button>
          )}
          <div className="bubble">
            {message.deleted ? (
              <em className="deleted">{labels.deleted}</em>
            ) : (
              <p className="body">
                <MessageBody text={message.body} />
              </p>
            )}
            <span className="meta">
              {message.editedAt && !message.deleted && <span className="edited">{labels.edited}</span>}
              {message.expiresAt && (
                <span role="img" aria-label={labels.disappearing}>
                  ⏱
                </span>
              )}
              <time dateTime={new Date(message.sentAt).toISOString()}>{time}</time>
              {message.fromMe && <StatusTick status={message.status} labels={labels} />}
            </span>
          </div>
          {message.fromMe && message.status === 'failed' && !message.deleted && (
            <p className="not-sent">
              {labels.notSent}
              <button type="button" onClick={() => actions.resend(message)}>
                {labels.resend}
              </button>
            </p>
          )}
          {message.reactions.length > 0 && (
            <ul className="reactions" aria-label={labels.reactions}>
              {message.reactions.map((r) => {
                const mine = r.accountIds.includes(myAccountId);
                return (
                  <li key={r.emoji}>
                    <button
                      type="button"
                      className={mine ? 'reaction mine' : 'reaction'}
                      aria-pressed={mine}
                      aria-label={labels.reactionCount(r.emoji, r.accountIds.length)}
                      onClick={() => actions.react(message, r.emoji, mine)}
                    >
                      {r.emoji} {r.accountIds.length}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {!message.deleted && !controls && <div className="message-actions" />}
          {!message.deleted && controls && (
            <div className="message-actions" role="toolbar" aria-label={labels.actions}>
              <button type="button" onClick={() => setPicking((p) => !p)} aria-expanded={picking}>
                {labels.react}
              </button>
              <button type="button" onClick={() => actions.reply(message)}>
                {labels.reply}
              </button>
              {message.fromMe && (
                <>
                  <button type="button" onClick={() => actions.edit(message)}>
                    {labels.edit}
                  </button>
                  {confirmingDelete ? (
                    <>
                      <button type="button" className="danger" onClick={() => actions.remove(message)}>
                        {labels.confirmDelete}
                      </button>
                      <button type="button" onClick={() => setConfirmingDelete(false)}>
                        {labels.cancel}
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => setConfirmingDelete(true)}>
                      {labels.delete}
                    </button>
                  )}
                </>
              )}
            </div>
          )}
          {picking && (
            <fieldset className="reaction-picker">
              <legend className="visually-hidden">{labels.pickReaction}</legend>
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  key={emoji}
                  type="button"
                  aria-label={labels.reactWith(emoji)}
                  onClick={() => {
                    setPicking(false);
                    actions.react(message, emoji, false);
                  }}
                >
                  {emoji}
                </button>
              ))}
            </fieldset>
          )}
        </article>
      )}
    </div>
  );
});
