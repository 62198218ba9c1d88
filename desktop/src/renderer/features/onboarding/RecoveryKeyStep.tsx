import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, errorMessage } from '../../api/client.js';

/** Shows the recovery key exactly once, with copy and save, and requires "I've stored it". */
export function RecoveryKeyStep({ recoveryKey, onConfirmed }: { recoveryKey: string; onConfirmed: () => void }) {
  const { t } = useTranslation();
  const [stored, setStored] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  async function copy() {
    try {
      await call('app:copy-text', { text: recoveryKey });
      setNotice(t('recovery.copied'));
    } catch (err) {
      setNotice(errorMessage(err));
    }
  }

  async function save() {
    try {
      const { saved } = await call('app:save-text', {
        suggestedName: 'sotto-recovery-key.txt',
        text: `${recoveryKey}\n`,
      });
      setNotice(saved ? t('recovery.saved') : t('recovery.notSaved'));
    } catch (err) {
      setNotice(errorMessage(err));
    }
  }

  return (
    <main className="onboarding" aria-labelledby="recovery-title">
      <h1 id="recovery-title">{t('recovery.title')}</h1>
      <p>{t('recovery.explain')}</p>
      <output className="recovery-key" aria-label={t('recovery.keyLabel')} data-testid="recovery-key">
        {recoveryKey}
      </output>
      <div className="row">
        <button type="button" onClick={() => void copy()}>
          {t('recovery.copy')}
        </button>
        <button type="button" onClick={() => void save()}>
          {t('recovery.save')}
        </button>
      </div>
      <p role="status" className="hint">
        {notice}
      </p>
      <label className="checkbox">
        <input type="checkbox" checked={stored} onChange={(e) => setStored(e.target.checked)} />
        {t('recovery.confirm')}
      </label>
      <button type="button" className="primary" disabled={!stored} onClick={onConfirmed}>
        {t('recovery.continue')}
      </button>
    </main>
  );
}
