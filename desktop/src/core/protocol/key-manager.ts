import {
  type IdentityKeyPair,
  KEMKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  PrivateKey,
  SignedPreKeyRecord,
} from '@signalapp/libsignal-client';
import { type KeyCountResponse, MAX_PREKEYS_PER_UPLOAD, type UploadKeysRequest } from '@sotto/shared-types';
import { getNumberSetting, setSetting } from '../store/profile-queries.js';
import { all, one, run, sql, toBytes, type WritableDB } from '../store/sql.js';
import type { ProtocolStores } from './protocol-stores.js';

export const ONE_TIME_KEYS_PER_BATCH = 100;
/** Upload a new batch when the relay holds fewer than this many one-time keys. */
export const REFILL_THRESHOLD = 20;
export const ROTATION_INTERVAL_MS = 7 * 24 * 3600 * 1000;
/**
 * Old signed / last-resort private keys are kept this long for messages still in flight, counted from when the
 * relay confirmed their successor (until then the relay may still hand them out).
 */
export const ROTATION_GRACE_MS = 2 * 24 * 3600 * 1000;
/**
 * A one-time private key is deleted this long after the relay was first seen not to hold it: by then every
 * envelope that could use it has arrived or expired at the relay (30 days, the relay's default), with the
 * rotation's grace on top. A message sealed with it that arrives later still (a sender's outbox retrying a
 * ciphertext for longer than that) cannot be decrypted, and asks its sender to resend, as any such message does.
 */
export const ONE_TIME_KEY_GRACE_MS = 30 * 24 * 3600 * 1000 + ROTATION_GRACE_MS;

const MAX_KEY_ID = 0xffffff;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function nextIds(db: WritableDB, setting: string, count: number): number[] {
  const start = getNumberSetting(db, setting, 1);
  const ids = Array.from({ length: count }, (_, i) => ((start - 1 + i) % MAX_KEY_ID) + 1);
  setSetting(db, setting, String(((start - 1 + count) % MAX_KEY_ID) + 1));
  return ids;
}

/** A new signed prekey and last-resort Kyber key, as uploaded. */
export type Rotation = Required<Pick<UploadKeysRequest, 'signedPreKey' | 'lastResortKyberPreKey'>>;

/** A signed key as uploaded: its id, its public half and the identity key's signature of that. */
const signedUpload = (record: SignedPreKeyRecord | KyberPreKeyRecord) => ({
  keyId: record.id(),
  publicKey: b64(record.publicKey().serialize()),
  signature: b64(record.signature()),
});

export class KeyManager {
  constructor(
    private readonly db: WritableDB,
    private readonly stores: ProtocolStores,
    private readonly now: () => number,
  ) {}

  get #identity(): IdentityKeyPair {
    return this.stores.identity.keyPair();
  }

  /** Everything a new device uploads: identity, signed prekey, last-resort Kyber, 100 + 100 one-time keys. */
  async generateInitialKeys(): Promise<UploadKeysRequest> {
    const rotation = this.#newSignedAndLastResort();
    return {
      identityKey: b64(this.#identity.publicKey.serialize()),
      ...rotation,
      preKeys: this.#newPreKeys(ONE_TIME_KEYS_PER_BATCH),
      kyberPreKeys: this.#newKyberPreKeys(ONE_TIME_KEYS_PER_BATCH),
    };
  }

  /** True when the relay's count of either kind of one-time key fell below the threshold. */
  refillDue(count: { preKeys: number; kyberPreKeys: number }): boolean {
    return count.preKeys < REFILL_THRESHOLD || count.kyberPreKeys < REFILL_THRESHOLD;
  }

  /** One-time keys to upload when the relay's count fell below the threshold; null when enough remain. */
  refill(count: { preKeys: number; kyberPreKeys: number }): UploadKeysRequest | null {
    const request: UploadKeysRequest = {};
    if (count.preKeys < REFILL_THRESHOLD) {
      request.preKeys = this.#newPreKeys(Math.min(ONE_TIME_KEYS_PER_BATCH, MAX_PREKEYS_PER_UPLOAD));
    }
    if (count.kyberPreKeys < REFILL_THRESHOLD) {
      request.kyberPreKeys = this.#newKyberPreKeys(Math.min(ONE_TIME_KEYS_PER_BATCH, MAX_PREKEYS_PER_UPLOAD));
    }
    return request.preKeys || request.kyberPreKeys ? request : null;
  }

  /**
   * Records which one-time keys the relay holds (the ids its count lists): a key it does not hold was handed
   * out, or never taken (its upload's answer lost before the relay stored it). Either way, once
   * ONE_TIME_KEY_GRACE_MS has passed since that was first seen, `deleteExpiredKeys` deletes its private half. A
   * key seen held again (its upload was still on its way) starts over. A relay that does not list the ids
   * leaves every key as it is.
   */
  noteHeldOneTimeKeys(count: KeyCountResponse): void {
    const now = this.now();
    // Only rows whose state changes are written: a Kyber key's row spans several pages.
    if (count.preKeyIds) {
      const held = JSON.stringify(count.preKeyIds);
      run(
        this.db,
        sql`UPDATE prekeys SET missing_since = NULL
            WHERE missing_since IS NOT NULL AND key_id IN (SELECT value FROM json_each(${held}))`,
      );
      run(
        this.db,
        sql`UPDATE prekeys SET missing_since = ${now}
            WHERE missing_since IS NULL AND key_id NOT IN (SELECT value FROM json_each(${held}))`,
      );
    }
    if (count.kyberPreKeyIds) {
      const held = JSON.stringify(count.kyberPreKeyIds);
      run(
        this.db,
        sql`UPDATE kyber_prekeys SET missing_since = NULL
            WHERE last_resort = 0 AND missing_since IS NOT NULL AND key_id IN (SELECT value FROM json_each(${held}))`,
      );
      run(
        this.db,
        sql`UPDATE kyber_prekeys SET missing_since = ${now}
            WHERE last_resort = 0 AND missing_since IS NULL AND key_id NOT IN (SELECT value FROM json_each(${held}))`,
      );
    }
  }

  /**
   * True when the current signed prekey is older than the rotation interval, or when a rotation is not
   * confirmed: several keys are current because the relay's answer to a rotation was lost, and the relay holds
   * one of them (which, we cannot tell), so the next upkeep uploads the newest again.
   */
  rotationDue(): boolean {
    const current = one<{ n: number; newest: number | null }>(
      this.db,
      sql`SELECT count(*) AS n, max(created_at) AS newest FROM signed_prekeys WHERE replaced_at IS NULL`,
    );
    return current?.n !== 1 || this.now() - (current.newest ?? 0) >= ROTATION_INTERVAL_MS;
  }

  /**
   * New signed prekey and last-resort Kyber key to upload. The old ones stay current (the relay still hands
   * them out) until `confirmRotation` says the relay took the new ones. After a rotation whose answer was lost,
   * its keys are uploaded again rather than new ones: the relay then holds keys kept here either way, and
   * answers that keep getting lost do not pile up keys.
   */
  rotate(): Rotation {
    return this.#unconfirmedRotation() ?? this.#newSignedAndLastResort();
  }

  /** The relay holds the rotation's keys: every other current one is replaced (deleted after the grace). */
  confirmRotation(rotation: Rotation): void {
    const now = this.now();
    run(
      this.db,
      sql`UPDATE signed_prekeys SET replaced_at = ${now}
          WHERE replaced_at IS NULL AND key_id <> ${rotation.signedPreKey.keyId}`,
    );
    run(
      this.db,
      sql`UPDATE kyber_prekeys SET replaced_at = ${now}
          WHERE last_resort = 1 AND replaced_at IS NULL AND key_id <> ${rotation.lastResortKyberPreKey.keyId}`,
    );
  }

  /**
   * Deletes the private keys whose grace is over: signed and last-resort keys replaced longer than
   * ROTATION_GRACE_MS ago, one-time keys the relay has not held for ONE_TIME_KEY_GRACE_MS. Returns how many.
   */
  deleteExpiredKeys(): number {
    const oneTimeCutoff = this.now() - ONE_TIME_KEY_GRACE_MS;
    const oneTime =
      run(this.db, sql`DELETE FROM prekeys WHERE missing_since <= ${oneTimeCutoff}`).changes +
      run(this.db, sql`DELETE FROM kyber_prekeys WHERE last_resort = 0 AND missing_since <= ${oneTimeCutoff}`).changes;
    const cutoff = this.now() - ROTATION_GRACE_MS;
    const signed = run(
      this.db,
      sql`DELETE FROM signed_prekeys WHERE replaced_at IS NOT NULL AND replaced_at <= ${cutoff}`,
    );
    const expiredKyber = all<{ key_id: number }>(
      this.db,
      sql`SELECT key_id FROM kyber_prekeys WHERE last_resort = 1 AND replaced_at IS NOT NULL AND replaced_at <= ${cutoff}`,
    );
    for (const { key_id } of expiredKyber) {
      run(this.db, sql`DELETE FROM kyber_prekey_uses WHERE key_id = ${key_id}`);
      run(this.db, sql`DELETE FROM kyber_prekeys WHERE key_id = ${key_id}`);
    }
    return oneTime + signed.changes + expiredKyber.length;
  }

  /** The newest current keys when a rotation is not confirmed (several signed prekeys are current). */
  #unconfirmedRotation(): Rotation | undefined {
    const signed = all<{ record: Uint8Array }>(
      this.db,
      sql`SELECT record FROM signed_prekeys WHERE replaced_at IS NULL ORDER BY created_at DESC, key_id DESC LIMIT 2`,
    );
    const kyber = one<{ record: Uint8Array }>(
      this.db,
      sql`SELECT record FROM kyber_prekeys WHERE last_resort = 1 AND replaced_at IS NULL
          ORDER BY created_at DESC, key_id DESC LIMIT 1`,
    );
    if (signed.length < 2 || !signed[0] || !kyber) {
      return undefined;
    }
    return {
      signedPreKey: signedUpload(SignedPreKeyRecord.deserialize(toBytes(signed[0].record))),
      lastResortKyberPreKey: signedUpload(KyberPreKeyRecord.deserialize(toBytes(kyber.record))),
    };
  }

  #newSignedAndLastResort(): Rotation {
    const now = this.now();
    const identity = this.#identity;
    const [signedId] = nextIds(this.db, 'next_signed_prekey_id', 1) as [number];
    const privateKey = PrivateKey.generate();
    const publicKey = privateKey.getPublicKey();
    const signature = identity.privateKey.sign(publicKey.serialize());
    const signed = SignedPreKeyRecord.new(signedId, now, publicKey, privateKey, signature);
    run(
      this.db,
      sql`INSERT OR REPLACE INTO signed_prekeys (key_id, record, created_at) VALUES (${signedId}, ${signed.serialize()}, ${now})`,
    );
    const [kyberId] = nextIds(this.db, 'next_kyber_prekey_id', 1) as [number];
    const kyber = this.#kyberRecord(kyberId, now);
    this.stores.kyberPreKey.save(kyberId, kyber, true);
    return { signedPreKey: signedUpload(signed), lastResortKyberPreKey: signedUpload(kyber) };
  }

  #kyberRecord(id: number, now: number): KyberPreKeyRecord {
    const keyPair = KEMKeyPair.generate();
    const signature = this.#identity.privateKey.sign(keyPair.getPublicKey().serialize());
    return KyberPreKeyRecord.new(id, now, keyPair, signature);
  }

  #newPreKeys(count: number): NonNullable<UploadKeysRequest['preKeys']> {
    const now = this.now();
    return nextIds(this.db, 'next_prekey_id', count).map((id) => {
      const privateKey = PrivateKey.generate();
      const record = PreKeyRecord.new(id, privateKey.getPublicKey(), privateKey);
      run(
        this.db,
        sql`INSERT OR REPLACE INTO prekeys (key_id, record, created_at) VALUES (${id}, ${record.serialize()}, ${now})`,
      );
      return { keyId: id, publicKey: b64(privateKey.getPublicKey().serialize()) };
    });
  }

  #newKyberPreKeys(count: number): NonNullable<UploadKeysRequest['kyberPreKeys']> {
    const now = this.now();
    return nextIds(this.db, 'next_kyber_prekey_id', count).map((id) => {
      const record = this.#kyberRecord(id, now);
      this.stores.kyberPreKey.save(id, record, false);
      return signedUpload(record);
    });
  }
}
