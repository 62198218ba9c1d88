import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationSummary, SafetyNumber } from '../../../ipc/view-models.js';
import { call, errorMessage, subscribe } from '../../api/client.js';

/** 60 digits → 12 groups of 5. */
export function groupDigits(display: string): string[] {
  const digits = display.replace(/\D/g, '');
  return digits.match(/.{1,5}/g) ?? [];
}

/** The safety number with a peer: digits to compare aloud, a QR code to scan, "mark verified". */
export function SafetyNumberPanel({ conversation, onBack }: { conversation: ConversationSummary; onBack: () => void }) {
  const { t } = useTranslation();
  const [safety, setSafety] = useState<SafetyNumber | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Loaded again whenever the peer's identity changes while the panel is open: the number on screen is
  // always the current one, and it is the one "mark verified" names.
  const [generation, setGeneration] = useState(0);
  useEffect(
    () =>
      subscribe('messenger:event', (event) => {
        if (event.type === 'identity_changed' && event.conversationId === conversation.id) {
          setGeneration((g) => g + 1);
        }
      }),
    [conversation.id],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` is the "load again" signal
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const value = await call('safety:get', { conversationId: conversation.id });
        const image = await QRCode.toDataURL(value.scannable, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
        if (!cancelled) {
          setSafety(value);
          setQr(image);
        }
      } catch (err) {
        if (!cancelled) {
          setError(errorMessage(err));
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [conversation.id, generation]);

  async function toggleVerified() {
    if (!safety) {
      return;
    }
    const verified = !safety.verified;
    try {
      await call('safety:mark-verified', {
        conversationId: conversation.id,
        verified,
        ...(verified ? { safetyNumber: safety.displayString } : {}),
      });
    } catch (err) {
      // Most likely the number changed just now: show why, and the current number.
      setError(errorMessage(err));
      setGeneration((g) => g + 1);
      return;
    }
    // Verifying also settles a recorded identity change (the core clears it in the same transaction).
    setError(null);
    setSafety({ ...safety, verified });
  }

  return (
    <section className="panel safety" aria-labelledby="safety-title">
      <h2 id="safety-title">{t('safety.title', { name: conversation.username })}</h2>
      <p>{t('safety.explain', { name: conversation.username })}</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {safety && (
        <>
          <ol className="safety-digits" aria-label={t('safety.digitsLabel')} data-testid="safety-number">
            {groupDigits(safety.displayString).map((group, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the groups are positional
              <li key={index}>{group}</li>
            ))}
          </ol>
          {qr && <img className="safety-qr" src={qr} alt={t('safety.qrAlt')} width={240} height={240} />}
          <p role="status" data-testid="verified-state">
            {safety.verified ? t('safety.isVerified') : t('safety.notVerified')}
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={() => void toggleVerified()}>
              {safety.verified ? t('safety.clearVerified') : t('safety.markVerified')}
            </button>
            <button type="button" onClick={onBack}>
              {t('safety.back')}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
