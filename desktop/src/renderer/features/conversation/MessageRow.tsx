import { memo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MessageView } from '../../../ipc/view-models.js';
import { formatDay, formatTime, sameDay } from './format.js';
import { MessageBody } from './MessageBody.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export interface MessageActions {
  reply: (message: MessageView) => void;
  edit: (message: MessageView) => void;
  remove: (message: MessageView) => void;
  react: (message: MessageView, emoji: string, remove: boolean) => void;
  jumpTo: (messageId: string) => void;
}

interface Props {
  message: MessageView;
  previous: MessageView | undefined;
  myAccountId: string;
  peerName: string;
  highlighted: boolean;
  actions: MessageActions;
}

function StatusTick({ status }: { status: MessageView['status'] }) {
  const { t } = useTranslation();
  const glyph = { sending: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' }[status];
  return (
    <span className="tick" data-status={status} role="img" aria-label={t(`message.status.${status}`)}>
      {glyph}
    </span>
  );
}

function SystemRow({ message, peerName }: { message: MessageView; peerName: string }) {
  const { t } = useTranslation();
  const text =
    message.kind === 'identity_change'
      ? t('message.identityChange', { name: peerName })
      : message.kind === 'decryption_error'
        ? t('message.decryptionError', { name: peerName })
        : message.body || t('message.timerChange');
  return <p className="system-message">{text}</p>;
}

/** One timeline row: optional day separator, the bubble, its reactions and its actions. */
export const MessageRow = memo(function MessageRow({
  message,
  previous,
  myAccountId,
  peerName,
  highlighted,
  actions,
}: Props) {
  const { t } = useTranslation();
  const [picking, setPicking] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const showDay = !previous || !sameDay(previous.sentAt, message.sentAt);
  const author = message.fromMe ? t('message.you') : peerName;

  return (
    <div className="message-row" data-message-id={message.id}>
      {showDay && (
        <div className="day-separator">
          <span>{formatDay(message.sentAt)}</span>
        </div>
      )}
      {message.kind !== 'text' ? (
        <SystemRow message={message} peerName={peerName} />
      ) : (
        <article
          className={`message ${message.fromMe ? 'mine' : 'theirs'}${highlighted ? ' highlighted' : ''}`}
          aria-label={t('message.label', { author, time: formatTime(message.sentAt) })}
        >
          {message.quote && (
            <button type="button" className="quote" onClick={() => actions.jumpTo(message.quote?.messageId ?? '')}>
              <span className="quote-author">
                {message.quote.authorAccountId === myAccountId ? t('message.you') : peerName}
              </span>
              <span className="quote-text">{message.quote.text}</span>
            </button>
          )}
          <div className="bubble">
            {message.deleted ? (
              <em className="deleted">{t('message.deleted')}</em>
            ) : (
              <p className="body">
                <MessageBody text={message.body} />
              </p>
            )}
            <span className="meta">
              {message.editedAt && !message.deleted && <span className="edited">{t('message.edited')}</span>}
              {message.expiresAt && (
                <span role="img" aria-label={t('message.disappearing')}>
                  ⏱
                </span>
              )}
              <time dateTime={new Date(message.sentAt).toISOString()}>{formatTime(message.sentAt)}</time>
              {message.fromMe && <StatusTick status={message.status} />}
            </span>
          </div>
          {message.reactions.length > 0 && (
            <ul className="reactions" aria-label={t('message.reactions')}>
              {message.reactions.map((r) => {
                const mine = r.accountIds.includes(myAccountId);
                return (
                  <li key={r.emoji}>
                    <button
                      type="button"
                      className={mine ? 'reaction mine' : 'reaction'}
                      aria-pressed={mine}
                      aria-label={t('message.reactionLabel', { emoji: r.emoji, count: r.accountIds.length })}
                      onClick={() => actions.react(message, r.emoji, mine)}
                    >
                      {r.emoji} {r.accountIds.length}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {!message.deleted && (
            <div className="message-actions" role="toolbar" aria-label={t('message.actions')}>
              <button type="button" onClick={() => setPicking((p) => !p)} aria-expanded={picking}>
                {t('message.react')}
              </button>
              <button type="button" onClick={() => actions.reply(message)}>
                {t('message.reply')}
              </button>
              {message.fromMe && (
                <>
                  <button type="button" onClick={() => actions.edit(message)}>
                    {t('message.edit')}
                  </button>
                  {confirmingDelete ? (
                    <>
                      <button type="button" className="danger" onClick={() => actions.remove(message)}>
                        {t('message.confirmDelete')}
                      </button>
                      <button type="button" onClick={() => setConfirmingDelete(false)}>
                        {t('common.cancel')}
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => setConfirmingDelete(true)}>
                      {t('message.delete')}
                    </button>
                  )}
                </>
              )}
            </div>
          )}
          {picking && (
            <fieldset className="reaction-picker">
              <legend className="visually-hidden">{t('message.pickReaction')}</legend>
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  key={emoji}
                  type="button"
                  aria-label={t('message.reactWith', { emoji })}
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
