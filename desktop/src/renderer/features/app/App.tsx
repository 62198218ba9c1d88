import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ProfileInfo } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';
import { Onboarding } from '../onboarding/Onboarding.js';
import { Shell } from '../shell/Shell.js';
import { Unlock } from '../unlock/Unlock.js';
import { SettingsProvider } from './settings-context.js';

type Screen =
  | { name: 'loading' }
  | { name: 'error'; message: string }
  | { name: 'onboarding' }
  | { name: 'unlock' }
  | { name: 'ready'; profile: ProfileInfo };

/** Decides between onboarding, unlock and the messenger from the profile's state. */
export function App() {
  const { t } = useTranslation();
  const [screen, setScreen] = useState<Screen>({ name: 'loading' });

  const boot = useCallback(async () => {
    try {
      const state = await call('profile:state');
      if (state === 'none') {
        setScreen({ name: 'onboarding' });
      } else if (state === 'locked') {
        setScreen({ name: 'unlock' });
      } else {
        setScreen({ name: 'ready', profile: await call('profile:open') });
      }
    } catch (err) {
      setScreen({ name: 'error', message: errorMessage(err) });
    }
  }, []);

  useEffect(() => {
    void boot();
  }, [boot]);

  const ready = useCallback((profile: ProfileInfo) => setScreen({ name: 'ready', profile }), []);

  return (
    <SettingsProvider>
      {screen.name === 'loading' && (
        <main className="centered" aria-busy="true">
          <p>{t('app.starting')}</p>
        </main>
      )}
      {screen.name === 'error' && (
        <main className="centered">
          <h1>{t('app.errorTitle')}</h1>
          <p role="alert">{screen.message}</p>
          <button type="button" onClick={() => void boot()}>
            {t('app.retry')}
          </button>
        </main>
      )}
      {screen.name === 'onboarding' && <Onboarding onDone={ready} />}
      {screen.name === 'unlock' && <Unlock onUnlocked={ready} />}
      {screen.name === 'ready' && (
        <Shell profile={screen.profile} onSignedOut={() => setScreen({ name: 'onboarding' })} />
      )}
    </SettingsProvider>
  );
}
