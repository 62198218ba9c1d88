import { type ProtocolAddress, SessionRecord, SessionStore } from '@signalapp/libsignal-client';
import { all, one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

const key = (accountId: string, deviceId: number) => `${deviceId}:${accountId}`;
type SessionCache = Map<string, { accountId: string; deviceId: number; record: SessionRecord | null }>;

/**
 * Sessions over SQLite. Inside a receive batch (`deferWrites` … `flushWrites`, all in one transaction)
 * records are cached as libsignal objects and written once per batch instead of being serialised,
 * written, read back and parsed for every envelope; `snapshot`/`restore` follow the batch's SAVEPOINTs.
 */
export class SqliteSessionStore extends SessionStore {
  /** Batch mode only: current state of every session touched in the batch (written or not). */
  #cache: SessionCache | undefined;
  #dirty = new Set<string>();

  constructor(
    private readonly db: WritableDB,
    private readonly now: () => number,
  ) {
    super();
  }

  /** Call inside a transaction: from now until `flushWrites`/`discardWrites`, saves are kept in memory. */
  deferWrites(): void {
    this.#cache = new Map();
    this.#dirty = new Set();
  }

  /** Writes the batch's sessions (before COMMIT) and leaves batch mode. */
  flushWrites(): void {
    const cache = this.#cache;
    this.#cache = undefined;
    if (!cache) {
      return;
    }
    for (const k of this.#dirty) {
      const entry = cache.get(k);
      if (entry?.record) {
        this.#write(entry.accountId, entry.deviceId, entry.record);
      }
    }
    this.#dirty = new Set();
  }

  /** Leaves batch mode without writing (the transaction rolls back). */
  discardWrites(): void {
    this.#cache = undefined;
    this.#dirty = new Set();
  }

  /** The batch state before one envelope (its SAVEPOINT). */
  snapshot(): unknown {
    return this.#cache ? { cache: new Map(this.#cache), dirty: new Set(this.#dirty) } : undefined;
  }

  /** Back to `snapshot()` (ROLLBACK TO its SAVEPOINT). */
  restore(snapshot: unknown): void {
    if (this.#cache && snapshot) {
      const saved = snapshot as { cache: SessionCache; dirty: Set<string> };
      this.#cache = saved.cache;
      this.#dirty = saved.dirty;
    }
  }

  override async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    const accountId = name.name();
    const deviceId = name.deviceId();
    if (this.#cache) {
      const k = key(accountId, deviceId);
      this.#cache.set(k, { accountId, deviceId, record });
      this.#dirty.add(k);
      return;
    }
    this.#write(accountId, deviceId, record);
  }

  #write(accountId: string, deviceId: number, record: SessionRecord): void {
    run(
      this.db,
      sql`INSERT INTO sessions (account_id, device_id, record, updated_at)
        VALUES (${accountId}, ${deviceId}, ${record.serialize()}, ${this.now()})
        ON CONFLICT (account_id, device_id) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`,
    );
  }

  override async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    return this.load(name.name(), name.deviceId());
  }

  override async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((address) => {
      const record = this.load(address.name(), address.deviceId());
      if (!record) {
        throw new Error(`no session for ${address.deviceId()}`);
      }
      return record;
    });
  }

  /** The session record (in batch mode possibly the cached, not yet written one: do not mutate it). */
  load(accountId: string, deviceId: number): SessionRecord | null {
    const cached = this.#cache?.get(key(accountId, deviceId));
    if (cached) {
      return cached.record;
    }
    const row = one<{ record: Uint8Array }>(
      this.db,
      sql`SELECT record FROM sessions WHERE account_id = ${accountId} AND device_id = ${deviceId}`,
    );
    const record = row ? SessionRecord.deserialize(toBytes(row.record)) : null;
    this.#cache?.set(key(accountId, deviceId), { accountId, deviceId, record });
    return record;
  }

  /** Device ids with a session that can currently send. */
  activeDevices(accountId: string): number[] {
    this.#assertNotDeferred();
    const rows = all<{ device_id: number; record: Uint8Array }>(
      this.db,
      sql`SELECT device_id, record FROM sessions WHERE account_id = ${accountId} ORDER BY device_id`,
    );
    return rows.filter((r) => SessionRecord.deserialize(toBytes(r.record)).hasCurrentState()).map((r) => r.device_id);
  }

  /** Archives the current state (a new session will be set up from a fresh bundle). */
  archive(accountId: string, deviceId: number): void {
    this.#assertNotDeferred();
    const record = this.load(accountId, deviceId);
    if (!record) {
      return;
    }
    record.archiveCurrentState();
    run(
      this.db,
      sql`UPDATE sessions SET record = ${record.serialize()}, updated_at = ${this.now()}
        WHERE account_id = ${accountId} AND device_id = ${deviceId}`,
    );
  }

  #assertNotDeferred(): void {
    if (this.#cache) {
      throw new Error('direct session access inside a deferred receive batch');
    }
  }
}
