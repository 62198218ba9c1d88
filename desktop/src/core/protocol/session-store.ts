import { type ProtocolAddress, SessionRecord, SessionStore } from '@signalapp/libsignal-client';
import { all, one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

export class SqliteSessionStore extends SessionStore {
  constructor(
    private readonly db: WritableDB,
    private readonly now: () => number,
  ) {
    super();
  }

  override async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    run(
      this.db,
      sql`INSERT INTO sessions (account_id, device_id, record, updated_at)
        VALUES (${name.name()}, ${name.deviceId()}, ${record.serialize()}, ${this.now()})
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

  load(accountId: string, deviceId: number): SessionRecord | null {
    const row = one<{ record: Uint8Array }>(
      this.db,
      sql`SELECT record FROM sessions WHERE account_id = ${accountId} AND device_id = ${deviceId}`,
    );
    return row ? SessionRecord.deserialize(toBytes(row.record)) : null;
  }

  /** Device ids with a session that can currently send. */
  activeDevices(accountId: string): number[] {
    const rows = all<{ device_id: number; record: Uint8Array }>(
      this.db,
      sql`SELECT device_id, record FROM sessions WHERE account_id = ${accountId} ORDER BY device_id`,
    );
    return rows.filter((r) => SessionRecord.deserialize(toBytes(r.record)).hasCurrentState()).map((r) => r.device_id);
  }

  /** Archives the current state (a new session will be set up from a fresh bundle). */
  archive(accountId: string, deviceId: number): void {
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
}
