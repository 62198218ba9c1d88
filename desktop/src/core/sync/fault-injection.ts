import { z } from 'zod';
import { SottoError } from '../errors.js';

/**
 * TEST-ONLY deterministic crash points in the receive pipeline. Off unless the environment variable
 * `SOTTO_FAULT=<point>[:N]` is set (N ≥ 1, default 1): the process SIGKILLs itself the moment the Nth
 * envelope (counted from the start of this process) reaches `<point>`:
 *
 * - `crash-after-decrypt`: the envelope is decrypted (session advanced in the open transaction), nothing of
 *   its batch committed yet → on restart the relay redelivers it and it is decrypted again.
 * - `crash-after-commit-before-ack`: the transaction holding the envelope committed (message, session
 *   state, GUID), its ack not yet sent → on restart it is redelivered and skipped as a known GUID.
 * - `crash-after-ack`: the ack frame holding the envelope's GUID was written to the socket → the relay
 *   deletes it (or redelivers it if the ack was lost with the connection; skipped as known).
 *
 * Used by desktop/test/integration/crash-consistency.test.ts and with the CLI, e.g.
 * `SOTTO_FAULT=crash-after-commit-before-ack:40 npx sotto --profile DIR receive --json`.
 */
export const FAULT_POINTS = ['crash-after-decrypt', 'crash-after-commit-before-ack', 'crash-after-ack'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

const PointSchema = z.enum(FAULT_POINTS);
const CountSchema = z.coerce.number().int().min(1);

interface FaultSpec {
  point: FaultPoint;
  at: number;
}

function parseSpec(value: string | undefined): FaultSpec | null {
  if (!value) {
    return null;
  }
  const [point, count, ...rest] = value.split(':');
  const parsedPoint = PointSchema.safeParse(point);
  const parsedCount = CountSchema.safeParse(count ?? '1');
  if (!parsedPoint.success || !parsedCount.success || rest.length > 0) {
    throw new SottoError('invalid_argument', `SOTTO_FAULT must be one of ${FAULT_POINTS.join(', ')}, optionally :N`);
  }
  return { point: parsedPoint.data, at: parsedCount.data };
}

/** Parsed on first use (undefined: not read yet). */
let spec: FaultSpec | null | undefined;
let passed = 0;

function current(): FaultSpec | null {
  if (spec === undefined) {
    spec = parseSpec(process.env.SOTTO_FAULT); // once: process.env is slow to read per envelope
  }
  return spec;
}

/** Validates SOTTO_FAULT (the messenger calls it when it opens, so a typo fails with a clear reason). */
export function checkFaultInjection(): void {
  current();
}

/** `count` envelopes reached `point`: dies if the configured envelope is among them. No-op when unset. */
export function faultPoint(point: FaultPoint, count = 1): void {
  const armed = current();
  if (!armed || armed.point !== point || count <= 0) {
    return;
  }
  passed += count;
  if (passed >= armed.at) {
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Whether a crash point is armed (lets callers skip work that only serves fault injection). */
export function faultArmed(point: FaultPoint): boolean {
  return current()?.point === point;
}
