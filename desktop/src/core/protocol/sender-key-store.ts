import { type ProtocolAddress, SenderKeyRecord, SenderKeyStore, type Uuid } from '@signalapp/libsignal-client';
import { one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

/** Sender keys for groups (Signal-style); kept here so group messaging can build on the same store. */
export class SqliteSenderKeyStore extends SenderKeyStore {
  constructor(private readonly db: WritableDB) {
    super();
  }

  override async saveSenderKey(sender: ProtocolAddress, distributionId: Uuid, record: SenderKeyRecord): Promise<void> {
    run(
      this.db,
      sql`INSERT INTO sender_keys (account_id, device_id, distribution_id, record)
        VALUES (${sender.name()}, ${sender.deviceId()}, ${distributionId}, ${record.serialize()})
        ON CONFLICT (account_id, device_id, distribution_id) DO UPDATE SET record = excluded.record`,
    );
  }

  override async getSenderKey(sender: ProtocolAddress, distributionId: Uuid): Promise<SenderKeyRecord | null> {
    const row = one<{ record: Uint8Array }>(
      this.db,
      sql`SELECT record FROM sender_keys WHERE account_id = ${sender.name()} AND device_id = ${sender.deviceId()}
        AND distribution_id = ${distributionId}`,
    );
    return row ? SenderKeyRecord.deserialize(toBytes(row.record)) : null;
  }
}
