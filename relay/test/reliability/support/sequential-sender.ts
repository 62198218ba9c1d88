import type { SendMessagesResponse } from '@sotto/shared-types';
import type { TestDevice } from '../../support/client.js';
import { encodeProbe } from './probe.js';

export interface SendAttemptStats {
  ok: number;
  unavailable: number;
  rateLimited: number;
  networkErrors: number;
  /** 5xx other than 503 (a relay bug: failures must be clean 503s). */
  serverErrors: number;
  /** Other 4xx (the test sends only valid requests, so any is a bug). */
  rejected: number;
}

export interface SenderOptions {
  /** Base URLs to send through; a failed attempt moves to the next one. */
  urls: string[];
  /** Per-attempt timeout. */
  timeoutMs?: number;
  latencies?: number[];
  /** Tells this burst's probes apart from earlier bursts' (which may still be queued). */
  tag?: string;
}

/**
 * Sends numbered probes to one device, one at a time: the next only after the relay answered 200 for
 * the previous one, retrying 503s, 429s and network errors. A network error leaves it unknown whether
 * the relay stored the attempt ("ambiguous"); a real client resends the same ciphertext, which the
 * receiving libsignal session drops as a duplicate.
 */
export class SequentialSender {
  readonly accepted = new Map<number, string>();
  /** When each accepted probe got its 200. */
  readonly acceptedAt = new Map<number, number>();
  readonly ambiguous = new Set<number>();
  readonly stats: SendAttemptStats = {
    ok: 0,
    unavailable: 0,
    rateLimited: 0,
    networkErrors: 0,
    serverErrors: 0,
    rejected: 0,
  };
  private urlIndex = 0;
  private next = 1;
  stopped = false;

  constructor(
    readonly device: TestDevice,
    readonly to: TestDevice,
    private readonly options: SenderOptions,
  ) {}

  get key(): string {
    return `${this.options.tag ?? ''}/${this.device.accountId}:${this.device.deviceId}`;
  }

  get sent(): number {
    return this.next - 1;
  }

  /** Sends `count` probes (or until `deadline`); resolves when done. */
  async run(count: number, deadline: number, pauseMs = 0): Promise<void> {
    const target = this.next + count;
    while (this.next < target && !this.stopped && Date.now() < deadline) {
      const outcome = await this.attempt(this.next);
      if (outcome === 'ok') {
        this.next += 1;
        if (pauseMs > 0) {
          await sleep(pauseMs);
        }
      } else if (outcome === 'skip') {
        this.next += 1;
      } else {
        await sleep(outcome === 'retry-later' ? 1000 : 50 + Math.random() * 150);
      }
    }
  }

  private async attempt(seq: number): Promise<'ok' | 'retry' | 'retry-later' | 'skip'> {
    const url = this.options.urls[this.urlIndex % this.options.urls.length] as string;
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${url}/v1/messages/${this.to.accountId}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.device.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          timestamp: Date.now(),
          messages: [
            {
              destinationDeviceId: this.to.deviceId,
              destinationRegistrationId: this.to.registrationId,
              type: 'whisper',
              content: encodeProbe(this.key, seq),
            },
          ],
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch {
      this.stats.networkErrors += 1;
      this.ambiguous.add(seq);
      this.urlIndex += 1;
      return 'retry';
    }
    const text = await res.text().catch(() => '');
    if (res.status === 200) {
      const body = JSON.parse(text) as SendMessagesResponse;
      const guid = body.messages[0]?.guid;
      if (guid) {
        this.accepted.set(seq, guid);
        this.acceptedAt.set(seq, Date.now());
      }
      this.stats.ok += 1;
      this.options.latencies?.push(performance.now() - started);
      return 'ok';
    }
    if (res.status === 503) {
      this.stats.unavailable += 1;
      return 'retry';
    }
    if (res.status === 429) {
      this.stats.rateLimited += 1;
      return 'retry-later';
    }
    if (res.status >= 500) {
      this.stats.serverErrors += 1;
      this.urlIndex += 1;
      return 'retry';
    }
    this.stats.rejected += 1;
    return 'skip';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
