import type { KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationSummary } from '../../../ipc/view-models.js';
import { formatTime } from '../conversation/format.js';
import { rowLabels, systemText } from '../conversation/row-labels.js';

interface Props {
  conversations: ConversationSummary[];
  selectedId: string | null;
  onSelect: (id: string) => void;
}

/** Arrow keys move between conversations; Enter/Space opens one. */
function moveFocus(event: KeyboardEvent<HTMLUListElement>) {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
    return;
  }
  const buttons = Array.from(event.currentTarget.querySelectorAll<HTMLButtonElement>('button.conversation'));
  const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
  const next = buttons[Math.max(0, Math.min(buttons.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)))];
  next?.focus();
  event.preventDefault();
}

export function ConversationList({ conversations, selectedId, onSelect }: Props) {
  const { t, i18n } = useTranslation();
  /** A text's first words; a system line (a timer change, say) in the words the timeline uses. */
  const preview = ({ username, lastMessage: last }: ConversationSummary): string => {
    if (!last) {
      return t('conversations.noMessages');
    }
    if (last.kind !== 'text') {
      return systemText({ ...last, body: last.preview }, rowLabels(t, username, i18n.language));
    }
    return `${last.fromMe ? t('conversations.you') : ''}${last.preview}`;
  };
  if (conversations.length === 0) {
    return <p className="muted empty">{t('conversations.empty')}</p>;
  }
  return (
    <ul className="conversation-list" aria-label={t('conversations.listLabel')} onKeyDown={moveFocus}>
      {conversations.map((c) => (
        <li key={c.id}>
          <button
            type="button"
            className="conversation"
            aria-current={c.id === selectedId ? 'true' : undefined}
            aria-label={t('conversations.itemLabel', {
              name: c.claimPending ? t('conversations.unconfirmedLabel', { name: c.username }) : c.username,
              count: c.unreadCount,
            })}
            data-username={c.username}
            onClick={() => onSelect(c.id)}
          >
            <span className="avatar" aria-hidden="true">
              {c.username.slice(0, 1).toUpperCase()}
            </span>
            <span className="conversation-text">
              <span className="conversation-top">
                <span className="name">
                  {c.username}
                  {c.claimPending && <UnconfirmedName />}
                  {c.verified && (
                    <span className="verified" title={t('safety.verified')}>
                      {' ✓'}
                    </span>
                  )}
                </span>
                {c.lastMessage && <time className="time">{formatTime(c.lastMessage.at)}</time>}
              </span>
              <span className="preview">{preview(c)}</span>
            </span>
            {c.unreadCount > 0 && (
              <span className="unread" data-testid="unread-count">
                {c.unreadCount}
              </span>
            )}
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * After a name a stranger's first message claims, while the relay's directory has not confirmed it is theirs
 * (for milliseconds as a rule; until the relay answers when it could not).
 */
export function UnconfirmedName() {
  const { t } = useTranslation();
  return (
    <span className="unconfirmed" title={t('conversations.unconfirmedExplain')}>
      {` ${t('conversations.unconfirmed')}`}
    </span>
  );
}
