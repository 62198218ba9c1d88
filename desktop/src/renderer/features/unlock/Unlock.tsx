import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ProfileInfo } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';

/** Shown when the keychain no longer holds the database key: the recovery key restores it. */
export function Unlock({ onUnlocked }: { onUnlocked: (profile: ProfileInfo) => void }) {
  const { t } = useTranslation();
  const [recoveryKey, setRecoveryKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onUnlocked(await call('profile:unlock', { recoveryKey: recoveryKey.trim() }));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="onboarding" aria-labelledby="unlock-title">
      <h1 id="unlock-title">{t('unlock.title')}</h1>
      <p>{t('unlock.explain')}</p>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label>
          {t('unlock.recoveryKey')}
          <textarea
            name="recoveryKey"
            required
            rows={3}
            spellCheck={false}
            value={recoveryKey}
            onChange={(e) => setRecoveryKey(e.target.value)}
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {t('unlock.failed', { message: error })}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {t('unlock.submit')}
        </button>
      </form>
    </main>
  );
}
