import { Aci, Fingerprint, type PublicKey } from '@signalapp/libsignal-client';

const ITERATIONS = 5200;
const VERSION = 2;

/**
 * Safety number between two accounts (libsignal Fingerprint, version 2 with service ids): the
 * same 60 digits on both sides, plus the scannable payload for a QR code.
 */
export function computeSafetyNumber(
  local: { accountId: string; identityKey: PublicKey },
  remote: { accountId: string; identityKey: PublicKey },
): { displayString: string; scannable: string } {
  const fingerprint = Fingerprint.new(
    ITERATIONS,
    VERSION,
    Aci.fromUuid(local.accountId).getServiceIdBinary(),
    local.identityKey,
    Aci.fromUuid(remote.accountId).getServiceIdBinary(),
    remote.identityKey,
  );
  return {
    displayString: fingerprint.displayableFingerprint().toString(),
    scannable: Buffer.from(fingerprint.scannableFingerprint().toBuffer()).toString('base64'),
  };
}

export function formatSafetyNumber(digits: string): string {
  return (digits.match(/.{1,5}/g) ?? []).join(' ');
}
