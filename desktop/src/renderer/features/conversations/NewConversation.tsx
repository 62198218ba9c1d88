import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationSummary } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';

/** Start a conversation by username (the relay resolves it). */
export function NewConversation({
  onStarted,
  onCancel,
}: {
  onStarted: (conversation: ConversationSummary) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onStarted(await call('conversations:start', { username: username.trim().toLowerCase() }));
      setUsername('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="new-conversation stack"
      onSubmit={(e) => void submit(e)}
      onKeyDown={(e) => e.key === 'Escape' && onCancel()}
    >
      <label>
        {t('conversations.newLabel')}
        <input
          ref={input}
          name="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          placeholder={t('conversations.newPlaceholder')}
        />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {t('conversations.start')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
