const DURATION_UNITS = [
  ['week', 604_800],
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
] as const;

/**
 * A whole number of seconds in the largest unit that divides it, spelled out: "1 hour", "5 minutes". Shared
 * by the app (timer lines, in the reader's language) and the CLI.
 */
export function formatDuration(seconds: number, locale: string): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => seconds % size === 0) ?? ['second', 1];
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(seconds / size);
}
