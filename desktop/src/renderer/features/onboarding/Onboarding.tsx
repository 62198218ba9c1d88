import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ProfileInfo, RegisterStep } from '../../../ipc/view-models.js';
import { call, errorMessage, subscribe } from '../../api/client.js';
import { RecoveryKeyStep } from './RecoveryKeyStep.js';
import { RegisterProgress } from './RegisterProgress.js';

const DEFAULT_RELAY = 'http://127.0.0.1:8787';

type Phase =
  | { name: 'form'; error?: string }
  | { name: 'working'; step: RegisterStep | null }
  | { name: 'recovery'; profile: ProfileInfo; recoveryKey: string };

/** Relay URL, username and invite code; progress while keys are made; then the recovery key, once. */
export function Onboarding({ onDone }: { onDone: (profile: ProfileInfo) => void }) {
  const { t } = useTranslation();
  const [relayUrl, setRelayUrl] = useState(DEFAULT_RELAY);
  const [username, setUsername] = useState('');
  const [inviteCode, setInviteCode] = useState('');
  const [phase, setPhase] = useState<Phase>({ name: 'form' });

  useEffect(
    () =>
      subscribe('profile:progress', (step) =>
        setPhase((current) => (current.name === 'working' ? { name: 'working', step } : current)),
      ),
    [],
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setPhase({ name: 'working', step: null });
    try {
      const result = await call('profile:register', {
        relayUrl: relayUrl.trim(),
        username: username.trim().toLowerCase(),
        ...(inviteCode.trim() ? { inviteCode: inviteCode.trim() } : {}),
      });
      setPhase({ name: 'recovery', profile: result.profile, recoveryKey: result.recoveryKey });
    } catch (err) {
      setPhase({ name: 'form', error: errorMessage(err) });
    }
  }

  if (phase.name === 'recovery') {
    return <RecoveryKeyStep recoveryKey={phase.recoveryKey} onConfirmed={() => onDone(phase.profile)} />;
  }

  return (
    <main className="onboarding" aria-labelledby="onboarding-title">
      <h1 id="onboarding-title">{t('onboarding.title')}</h1>
      <p className="muted">{t('onboarding.intro')}</p>
      {phase.name === 'working' ? (
        <RegisterProgress step={phase.step} />
      ) : (
        <form className="stack" onSubmit={(e) => void submit(e)}>
          <label>
            {t('onboarding.relayUrl')}
            <input
              name="relayUrl"
              type="url"
              required
              value={relayUrl}
              onChange={(e) => setRelayUrl(e.target.value)}
              autoComplete="url"
            />
          </label>
          <label>
            {t('onboarding.username')}
            <input
              name="username"
              required
              minLength={3}
              maxLength={32}
              pattern="[A-Za-z0-9_.]+"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              autoComplete="username"
              aria-describedby="username-hint"
            />
          </label>
          <p id="username-hint" className="hint">
            {t('onboarding.usernameHint')}
          </p>
          <label>
            {t('onboarding.inviteCode')}
            <input name="inviteCode" value={inviteCode} onChange={(e) => setInviteCode(e.target.value)} />
          </label>
          {phase.error && (
            <p role="alert" className="error">
              {t('onboarding.failed', { message: phase.error })}
            </p>
          )}
          <button type="submit" className="primary">
            {t('onboarding.create')}
          </button>
        </form>
      )}
    </main>
  );
}
