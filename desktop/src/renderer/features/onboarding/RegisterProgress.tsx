import { useTranslation } from 'react-i18next';
import type { RegisterStep } from '../../../ipc/view-models.js';

const STEPS: RegisterStep[] = ['generating_keys', 'registering', 'uploading_keys', 'done'];

export function RegisterProgress({ step }: { step: RegisterStep | null }) {
  const { t } = useTranslation();
  const reached = step ? STEPS.indexOf(step) : -1;
  return (
    <section aria-live="polite" aria-busy={step !== 'done'}>
      <progress max={STEPS.length} value={reached + 1} aria-label={t('onboarding.progressLabel')} />
      <ol className="steps">
        {STEPS.slice(0, 3).map((s, index) => (
          <li key={s} data-state={index < reached ? 'done' : index === reached ? 'active' : 'pending'}>
            {t(`onboarding.step.${s}`)}
          </li>
        ))}
      </ol>
    </section>
  );
}
