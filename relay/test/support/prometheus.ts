/**
 * One sample's value in Prometheus text exposition: `name` with exactly `labels` (as written between the
 * braces, e.g. `kind="minor"`; none when omitted). NaN when the scrape does not hold it.
 */
export function metricValue(text: string, name: string, labels = ''): number {
  const sample = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}"]/g, '\\$&');
  const value = new RegExp(`^${sample} (\\S+)$`, 'm').exec(text)?.[1];
  return value === undefined ? Number.NaN : Number(value);
}
