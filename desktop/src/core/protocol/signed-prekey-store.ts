import { SignedPreKeyRecord, SignedPreKeyStore } from '@signalapp/libsignal-client';
import { SottoError } from '../errors.js';
import { one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

export class SqliteSignedPreKeyStore extends SignedPreKeyStore {
  constructor(
    private readonly db: WritableDB,
    private readonly now: () => number,
  ) {
    super();
  }

  override async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    run(
      this.db,
      sql`INSERT OR REPLACE INTO signed_prekeys (key_id, record, created_at) VALUES (${id}, ${record.serialize()}, ${this.now()})`,
    );
  }

  override async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const row = one<{ record: Uint8Array }>(this.db, sql`SELECT record FROM signed_prekeys WHERE key_id = ${id}`);
    if (!row) {
      throw new SottoError('invalid_key', `signed prekey ${id} not found`);
    }
    return SignedPreKeyRecord.deserialize(toBytes(row.record));
  }
}
