import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MessageView } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';
import { getDraft, setDraft } from './drafts.js';

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 5000;

export type ComposerMode =
  | { kind: 'new' }
  | { kind: 'reply'; to: MessageView }
  | { kind: 'edit'; message: MessageView };

interface Props {
  conversationId: string;
  mode: ComposerMode;
  onModeDone: () => void;
  onSent: () => void;
}

/** Enter sends, Shift+Enter adds a line; drafts are kept per conversation; typing is reported. */
export function Composer({ conversationId, mode, onModeDone, onSent }: Props) {
  const { t } = useTranslation();
  const [text, setText] = useState(() => getDraft(conversationId));
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const typingSentAt = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    setText(getDraft(conversationId));
    area.current?.focus();
    return () => {
      if (idleTimer.current) {
        clearTimeout(idleTimer.current);
      }
      if (typingSentAt.current) {
        typingSentAt.current = 0;
        void call('typing:set', { conversationId, typing: false }).catch(() => {});
      }
    };
  }, [conversationId]);

  useEffect(() => {
    if (mode.kind === 'edit') {
      setText(mode.message.body);
    }
    if (mode.kind !== 'new') {
      area.current?.focus();
    }
  }, [mode]);

  function stopTyping() {
    if (idleTimer.current) {
      clearTimeout(idleTimer.current);
      idleTimer.current = null;
    }
    if (typingSentAt.current) {
      typingSentAt.current = 0;
      void call('typing:set', { conversationId, typing: false }).catch(() => {});
    }
  }

  function change(value: string) {
    setText(value);
    if (mode.kind !== 'edit') {
      setDraft(conversationId, value);
    }
    if (!value) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt.current > TYPING_REFRESH_MS) {
      typingSentAt.current = now;
      void call('typing:set', { conversationId, typing: true }).catch(() => {});
    }
    if (idleTimer.current) {
      clearTimeout(idleTimer.current);
    }
    idleTimer.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  async function submit() {
    const body = text.trim();
    if (!body) {
      return;
    }
    setError(null);
    stopTyping();
    try {
      if (mode.kind === 'edit') {
        await call('messages:edit', { messageId: mode.message.id, body });
        setText(getDraft(conversationId));
      } else {
        setText('');
        setDraft(conversationId, '');
        await call('messages:send', {
          conversationId,
          body,
          ...(mode.kind === 'reply' ? { quoteMessageId: mode.to.id } : {}),
        });
        onSent();
      }
      onModeDone();
    } catch (err) {
      setError(errorMessage(err));
      if (mode.kind !== 'edit') {
        setText(body);
        setDraft(conversationId, body);
      }
    }
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    } else if (event.key === 'Escape' && mode.kind !== 'new') {
      event.preventDefault();
      if (mode.kind === 'edit') {
        setText(getDraft(conversationId));
      }
      onModeDone();
    }
  }

  return (
    <div className="composer">
      {mode.kind !== 'new' && (
        <div className="composer-context">
          <span>
            {mode.kind === 'reply' ? t('composer.replyingTo', { text: mode.to.body }) : t('composer.editing')}
          </span>
          <button
            type="button"
            onClick={() => {
              if (mode.kind === 'edit') {
                setText(getDraft(conversationId));
              }
              onModeDone();
            }}
          >
            {t('common.cancel')}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="composer-row">
        <textarea
          ref={area}
          rows={1}
          value={text}
          aria-label={t('composer.label')}
          placeholder={t('composer.placeholder')}
          onChange={(e) => change(e.target.value)}
          onKeyDown={keyDown}
        />
        <button type="button" className="primary" onClick={() => void submit()} disabled={!text.trim()}>
          {mode.kind === 'edit' ? t('composer.save') : t('composer.send')}
        </button>
      </div>
    </div>
  );
}
