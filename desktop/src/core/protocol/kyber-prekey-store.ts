import { KyberPreKeyRecord, KyberPreKeyStore, type PublicKey } from '@signalapp/libsignal-client';
import { SottoError } from '../errors.js';
import { one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

/** One-time Kyber keys are deleted once used; the last-resort key stays but refuses a replayed base key. */
export class SqliteKyberPreKeyStore extends KyberPreKeyStore {
  constructor(
    private readonly db: WritableDB,
    private readonly now: () => number,
  ) {
    super();
  }

  override async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.save(id, record, false);
  }

  save(id: number, record: KyberPreKeyRecord, lastResort: boolean): void {
    run(
      this.db,
      sql`INSERT OR REPLACE INTO kyber_prekeys (key_id, record, last_resort, created_at)
        VALUES (${id}, ${record.serialize()}, ${lastResort ? 1 : 0}, ${this.now()})`,
    );
  }

  override async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const row = one<{ record: Uint8Array }>(this.db, sql`SELECT record FROM kyber_prekeys WHERE key_id = ${id}`);
    if (!row) {
      throw new SottoError('invalid_key', `kyber prekey ${id} not found`);
    }
    return KyberPreKeyRecord.deserialize(toBytes(row.record));
  }

  override async markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    const row = one<{ last_resort: number }>(this.db, sql`SELECT last_resort FROM kyber_prekeys WHERE key_id = ${id}`);
    if (!row) {
      throw new SottoError('invalid_key', `kyber prekey ${id} not found`);
    }
    if (row.last_resort === 0) {
      run(this.db, sql`DELETE FROM kyber_prekeys WHERE key_id = ${id}`);
      return;
    }
    const result = run(
      this.db,
      sql`INSERT OR IGNORE INTO kyber_prekey_uses (key_id, signed_prekey_id, base_key) VALUES (${id}, ${signedPreKeyId}, ${baseKey.serialize()})`,
    );
    if (result.changes === 0) {
      throw new SottoError('invalid_message', 'last-resort kyber prekey reused with the same base key');
    }
  }
}
