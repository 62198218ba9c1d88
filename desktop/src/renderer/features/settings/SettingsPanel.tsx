import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Theme } from '../../../ipc/contract.js';
import type { ProfileInfo } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';
import { useSettings } from '../app/settings-context.js';

const THEMES: Theme[] = ['system', 'light', 'dark'];

/** Theme, notifications, relay and device info, sign out and wipe. */
export function SettingsPanel({ profile, onSignedOut }: { profile: ProfileInfo; onSignedOut: () => void }) {
  const { t } = useTranslation();
  const { settings, update } = useSettings();
  const [version, setVersion] = useState('');
  const [confirmWipe, setConfirmWipe] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void (async () => setVersion((await call('app:info')).version))();
  }, []);

  async function wipe() {
    try {
      await call('profile:wipe');
      onSignedOut();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <section className="panel settings" aria-labelledby="settings-title">
      <h2 id="settings-title">{t('settings.title')}</h2>
      <fieldset>
        <legend>{t('settings.theme')}</legend>
        {THEMES.map((theme) => (
          <label key={theme} className="checkbox">
            <input
              type="radio"
              name="theme"
              value={theme}
              checked={settings.theme === theme}
              onChange={() => void update({ theme })}
            />
            {t(`settings.themes.${theme}`)}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>{t('settings.notifications')}</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings.notifications}
            onChange={(e) => void update({ notifications: e.target.checked })}
          />
          {t('settings.showNotifications')}
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings.hideNotificationContent}
            disabled={!settings.notifications}
            onChange={(e) => void update({ hideNotificationContent: e.target.checked })}
          />
          {t('settings.hideContent')}
        </label>
      </fieldset>
      <fieldset>
        <legend>{t('settings.account')}</legend>
        <dl className="facts">
          <dt>{t('settings.username')}</dt>
          <dd>{profile.username}</dd>
          <dt>{t('settings.relay')}</dt>
          <dd>{profile.relayUrl}</dd>
          <dt>{t('settings.device')}</dt>
          <dd>{profile.deviceId}</dd>
          <dt>{t('settings.accountId')}</dt>
          <dd className="mono">{profile.accountId}</dd>
          <dt>{t('settings.version')}</dt>
          <dd>{version}</dd>
        </dl>
      </fieldset>
      <fieldset className="danger-zone">
        <legend>{t('settings.signOut')}</legend>
        <p>{t('settings.wipeExplain')}</p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {confirmWipe ? (
          <div className="row">
            <button type="button" className="danger" onClick={() => void wipe()}>
              {t('settings.confirmWipe')}
            </button>
            <button type="button" onClick={() => setConfirmWipe(false)}>
              {t('common.cancel')}
            </button>
          </div>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirmWipe(true)}>
            {t('settings.wipe')}
          </button>
        )}
      </fieldset>
    </section>
  );
}
