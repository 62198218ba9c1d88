import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The reliability suite runs in two profiles: `ci` (part of `npm test`, a few minutes) and `full`
 * (by hand through `npm run test:reliability -- --profile full`). The runner sets the profile and a
 * folder where each test file drops its figures as JSON; under plain vitest the figures are only printed.
 */
export type ProfileName = 'ci' | 'full';

export const PROFILE: ProfileName = process.env.SOTTO_RELIABILITY_PROFILE === 'full' ? 'full' : 'ci';
export const isFull = PROFILE === 'full';

/** The ci value or the full value. */
export const pick = <T>(ci: T, full: T): T => (isFull ? full : ci);

export type Figure = number | string | boolean | null;
export type Figures = Record<string, Figure | Record<string, Figure>>;

/** Prints one section's figures and, under the runner, stores them for the totals line and docs/reliability.md. */
export function recordFigures(section: string, figures: Figures): void {
  process.stdout.write(`[reliability:${PROFILE}] ${section} ${JSON.stringify(figures)}\n`);
  const out = process.env.SOTTO_RELIABILITY_OUT;
  if (!out) {
    return;
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${section}.json`), JSON.stringify({ section, profile: PROFILE, figures }, null, 2));
}
