/** The q-quantile (0..1) of `values` in milliseconds, rounded to 0.1 ms; 0 when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) {
    return 0;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)] ?? 0) * 10) / 10;
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
