import { useTranslation } from 'react-i18next';
import { call } from '../../api/client.js';

const OPTIONS = [0, 30, 300, 3600, 86_400, 604_800];

export function TimerSelect({ conversationId, seconds }: { conversationId: string; seconds: number }) {
  const { t } = useTranslation();
  const options = OPTIONS.includes(seconds) ? OPTIONS : [...OPTIONS, seconds].sort((a, b) => a - b);
  return (
    <label className="timer">
      <span className="visually-hidden">{t('timer.label')}</span>
      <select
        value={seconds}
        aria-label={t('timer.label')}
        onChange={(e) => void call('conversations:set-timer', { conversationId, seconds: Number(e.target.value) })}
      >
        {options.map((s) => (
          <option key={s} value={s}>
            {s === 0 ? t('timer.off') : t('timer.seconds', { count: s, duration: formatDuration(s) })}
          </option>
        ))}
      </select>
    </label>
  );
}

function formatDuration(seconds: number): string {
  if (seconds % 604_800 === 0) {
    return `${seconds / 604_800} w`;
  }
  if (seconds % 86_400 === 0) {
    return `${seconds / 86_400} d`;
  }
  if (seconds % 3600 === 0) {
    return `${seconds / 3600} h`;
  }
  if (seconds % 60 === 0) {
    return `${seconds / 60} min`;
  }
  return `${seconds} s`;
}
