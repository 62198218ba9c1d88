import { ErrorBodySchema } from '@sotto/shared-types';
import type { RequestSpec } from './fuzz-inputs.js';

export interface FuzzOutcome {
  cases: number;
  statuses: Record<string, number>;
  /** Any 5xx (a crash path in the relay). */
  serverErrors: number;
  /** A 2xx where the case must be refused (state-changing route, invalid input). */
  unexpectedSuccess: number;
  /** An error answer that is not the one JSON error shape. */
  badErrorShape: number;
  /** The connection failed (for oversized bodies the relay may answer 413 and close before reading all). */
  transportErrors: number;
  examples: string[];
}

export const emptyOutcome = (): FuzzOutcome => ({
  cases: 0,
  statuses: {},
  serverErrors: 0,
  unexpectedSuccess: 0,
  badErrorShape: 0,
  transportErrors: 0,
  examples: [],
});

/** Runs `limit` at a time over `items`. */
export async function pool<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  });
  await Promise.all(workers);
}

const summarize = (spec: RequestSpec) =>
  `${spec.method} ${spec.path.slice(0, 120)} ${typeof spec.body === 'string' ? spec.body.slice(0, 160) : spec.body ? `<${spec.body.length} bytes>` : ''}`;

/** Sends every case and classifies the answers. `mayAccept`: a 2xx is a legitimate answer (read-only routes). */
export async function fireCases(
  baseUrl: string,
  specs: RequestSpec[],
  options: { mayAccept: boolean; concurrency?: number },
  outcome: FuzzOutcome = emptyOutcome(),
): Promise<FuzzOutcome> {
  await pool(specs, options.concurrency ?? 8, async (spec) => {
    outcome.cases += 1;
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${spec.path}`, {
        method: spec.method,
        headers: spec.headers ?? {},
        ...(spec.body !== undefined && spec.method !== 'GET' && spec.method !== 'HEAD' ? { body: spec.body } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      if (err instanceof TypeError && /header|URL|Invalid/i.test(String((err as Error).message))) {
        // fetch refused to build the request (not something the relay ever sees): not a case.
        outcome.cases -= 1;
        return;
      }
      outcome.transportErrors += 1;
      return;
    }
    const text = await res.text().catch(() => '');
    const key = String(res.status);
    outcome.statuses[key] = (outcome.statuses[key] ?? 0) + 1;
    if (res.status >= 500) {
      outcome.serverErrors += 1;
      if (outcome.examples.length < 10) {
        outcome.examples.push(`${res.status} ← ${summarize(spec)}: ${text.slice(0, 200)}`);
      }
      return;
    }
    if (res.status >= 200 && res.status < 300) {
      if (!options.mayAccept && spec.method !== 'OPTIONS') {
        outcome.unexpectedSuccess += 1;
        if (outcome.examples.length < 10) {
          outcome.examples.push(`${res.status} ← ${summarize(spec)}`);
        }
      }
      return;
    }
    if (res.status >= 400 && spec.method !== 'HEAD') {
      let ok = false;
      try {
        ok = ErrorBodySchema.safeParse(JSON.parse(text)).success;
      } catch {
        ok = false;
      }
      if (!ok) {
        outcome.badErrorShape += 1;
        if (outcome.examples.length < 10) {
          outcome.examples.push(`bad error shape ${res.status} ← ${summarize(spec)}: ${text.slice(0, 120)}`);
        }
      }
    }
  });
  return outcome;
}
