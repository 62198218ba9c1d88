import { joinedColumn, type Sql } from './db.js';

interface PendingAck {
  accountId: string;
  deviceId: number;
  guids: string[];
  resolve: (deleted: number) => void;
  reject: (err: unknown) => void;
}

export interface AckWriterOptions {
  /** Concurrent DELETE statements (leave pool connections for reads and inserts). */
  maxConcurrent: number;
  /** Most guids in one DELETE. */
  maxBatch: number;
}

/**
 * Group commit for acks: the acks of concurrent sockets are deleted together in one statement, each guid
 * only from its own device's queue (a guid of someone else's queue deletes nothing). Each caller learns how
 * many of its envelopes were deleted once the statement committed.
 */
export class AckWriter {
  private queue: PendingAck[] = [];
  private running = 0;

  constructor(
    private readonly sql: Sql,
    private readonly options: AckWriterOptions = { maxConcurrent: 2, maxBatch: 2000 },
  ) {}

  delete(accountId: string, deviceId: number, guids: string[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ accountId, deviceId, guids, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    while (this.running < this.options.maxConcurrent && this.queue.length > 0) {
      const batch: PendingAck[] = [];
      let size = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as PendingAck;
        if (batch.length > 0 && size + next.guids.length > this.options.maxBatch) {
          break;
        }
        batch.push(next);
        size += next.guids.length;
        this.queue.shift();
      }
      this.running += 1;
      void this.flush(batch).finally(() => {
        this.running -= 1;
        this.kick();
      });
    }
  }

  private async flush(batch: PendingAck[]): Promise<void> {
    const accounts: string[] = [];
    const devices: number[] = [];
    const guids: string[] = [];
    for (const p of batch) {
      for (const guid of p.guids) {
        accounts.push(p.accountId);
        devices.push(p.deviceId);
        guids.push(guid);
      }
    }
    try {
      const rows = await this.sql<{ account_id: string; device_id: number }[]>`
        DELETE FROM envelopes e
        USING unnest(string_to_array(${joinedColumn(accounts)}, ',', '')::uuid[],
                     string_to_array(${joinedColumn(devices)}, ',', '')::smallint[],
                     string_to_array(${joinedColumn(guids)}, ',', '')::uuid[]) AS a(account_id, device_id, guid)
        WHERE e.guid = a.guid AND e.account_id = a.account_id AND e.device_id = a.device_id
        RETURNING e.account_id, e.device_id`;
      const counts = new Map<string, number>();
      for (const r of rows) {
        const key = `${r.account_id}:${r.device_id}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const p of batch) {
        const key = `${p.accountId}:${p.deviceId}`;
        // Several acks of one device in one batch: the first caller reports the device's whole count.
        p.resolve(counts.get(key) ?? 0);
        counts.delete(key);
      }
    } catch (err) {
      for (const p of batch) {
        p.reject(err);
      }
    }
  }
}
