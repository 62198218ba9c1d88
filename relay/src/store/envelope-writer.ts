import type { Sql } from './db.js';
import { insertEnvelopes, type NewEnvelope } from './messages.js';

interface Pending {
  envelopes: NewEnvelope[];
  resolve: () => void;
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

  write(envelopes: NewEnvelope[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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
      await insertEnvelopes(
        this.sql,
        batch.flatMap((p) => p.envelopes),
      );
      for (const p of batch) {
        p.resolve();
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      await Promise.all(
        batch.map(async (p) => {
          try {
            await insertEnvelopes(this.sql, p.envelopes);
            p.resolve();
          } catch (e) {
            p.reject(e);
          }
        }),
      );
    }
  }
}
