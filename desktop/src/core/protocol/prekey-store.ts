import { PreKeyRecord, PreKeyStore } from '@signalapp/libsignal-client';
import { SottoError } from '../errors.js';
import { one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

/** One-time EC prekeys: each private key is deleted as soon as a session consumed it. */
export class SqlitePreKeyStore extends PreKeyStore {
  constructor(
    private readonly db: WritableDB,
    private readonly now: () => number,
  ) {
    super();
  }

  override async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    run(
      this.db,
      sql`INSERT OR REPLACE INTO prekeys (key_id, record, created_at) VALUES (${id}, ${record.serialize()}, ${this.now()})`,
    );
  }

  override async getPreKey(id: number): Promise<PreKeyRecord> {
    const row = one<{ record: Uint8Array }>(this.db, sql`SELECT record FROM prekeys WHERE key_id = ${id}`);
    if (!row) {
      throw new SottoError('invalid_key', `prekey ${id} not found`);
    }
    return PreKeyRecord.deserialize(toBytes(row.record));
  }

  override async removePreKey(id: number): Promise<void> {
    run(this.db, sql`DELETE FROM prekeys WHERE key_id = ${id}`);
  }
}
