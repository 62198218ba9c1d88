import { useTranslation } from 'react-i18next';
import type { ConnectionState } from '../../../ipc/view-models.js';

export function ConnectionBanner({ state }: { state: ConnectionState }) {
  const { t } = useTranslation();
  if (state === 'online') {
    return null;
  }
  return (
    <div className="banner connection" role="status" data-state={state}>
      {t(`connection.${state}`)}
    </div>
  );
}

export function IdentityBanner({
  name,
  onView,
  onDismiss,
}: {
  name: string;
  onView: () => void;
  onDismiss: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="banner warning" role="alert">
      <span>{t('identity.changed', { name })}</span>
      <button type="button" onClick={onView}>
        {t('identity.view')}
      </button>
      <button type="button" onClick={onDismiss}>
        {t('identity.dismiss')}
      </button>
    </div>
  );
}
