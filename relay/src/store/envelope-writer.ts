import type { Sql } from './db.js';
import { insertEnvelopes, type NewEnvelope } from './messages.js';

interface Pending {
  envelopes: NewEnvelope[];
  resolve: (ids: number[]) => void;
  reject: (err: unknown) => void;
}

export interface EnvelopeWriterOptions {
  /** Concurrent INSERT transactions (leave pool connections for reads). */
  maxConcurrent: number;
  /** Most envelopes in one INSERT. */
  maxBatch: number;
}

/**
 * Group commit: envelopes of concurrent sends are written together in one multi-row INSERT. A send's
 * promise resolves only after the INSERT holding all of its envelopes committed. If a combined batch
 * fails, each send is retried alone so one bad send (say, a device removed meanwhile) fails only itself.
 */
export class EnvelopeWriter {
  private queue: Pending[] = [];
  private running = 0;

  constructor(
    private readonly sql: Sql,
    private readonly options: EnvelopeWriterOptions = { maxConcurrent: 2, maxBatch: 1000 },
  ) {}

  /** Resolves with the envelopes' queue positions once they are committed. */
  write(envelopes: NewEnvelope[]): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.queue.push({ envelopes, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    while (this.running < this.options.maxConcurrent && this.queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Pending;
        if (batch.length > 0 && size + next.envelopes.length > this.options.maxBatch) {
          break;
        }
        batch.push(next);
        size += next.envelopes.length;
        this.queue.shift();
      }
      this.running += 1;
      void this.flush(batch).finally(() => {
        this.running -= 1;
        this.kick();
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      const ids = await insertEnvelopes(
        this.sql,
        batch.flatMap((p) => p.envelopes),
      );
      let offset = 0;
      for (const p of batch) {
        p.resolve(ids.slice(offset, offset + p.envelopes.length));
        offset += p.envelopes.length;
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      await Promise.all(
        batch.map(async (p) => {
          try {
            p.resolve(await insertEnvelopes(this.sql, p.envelopes));
          } catch (e) {
            p.reject(e);
          }
        }),
      );
    }
  }
}
