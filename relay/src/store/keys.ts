import type { KeyCountResponse } from '@sotto/shared-types';
import type { Sql, TxSql } from './db.js';

export interface SignedKey {
  keyId: number;
  publicKey: Buffer;
  signature: Buffer;
}
export interface OneTimeKey {
  keyId: number;
  publicKey: Buffer;
}

export interface KeyUpload {
  signedPreKey?: SignedKey;
  lastResortKyberPreKey?: SignedKey;
  preKeys?: OneTimeKey[];
  kyberPreKeys?: SignedKey[];
}

/** Writes a device's keys (inside the caller's transaction). One-time keys with an existing id are replaced. */
export async function storeDeviceKeys(tx: TxSql, accountId: string, deviceId: number, k: KeyUpload): Promise<void> {
  if (k.signedPreKey) {
    const s = k.signedPreKey;
    await tx`INSERT INTO signed_prekeys (account_id, device_id, key_id, public_key, signature)
             VALUES (${accountId}, ${deviceId}, ${s.keyId}, ${s.publicKey}, ${s.signature})
             ON CONFLICT (account_id, device_id) DO UPDATE
             SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`;
  }
  if (k.lastResortKyberPreKey) {
    const s = k.lastResortKyberPreKey;
    await tx`INSERT INTO kyber_last_resort_prekeys (account_id, device_id, key_id, public_key, signature)
             VALUES (${accountId}, ${deviceId}, ${s.keyId}, ${s.publicKey}, ${s.signature})
             ON CONFLICT (account_id, device_id) DO UPDATE
             SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`;
  }
  if (k.preKeys && k.preKeys.length > 0) {
    const rows = k.preKeys.map((p) => ({
      account_id: accountId,
      device_id: deviceId,
      key_id: p.keyId,
      public_key: p.publicKey,
    }));
    await tx`INSERT INTO one_time_prekeys ${tx(rows)}
             ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key`;
  }
  if (k.kyberPreKeys && k.kyberPreKeys.length > 0) {
    const rows = k.kyberPreKeys.map((p) => ({
      account_id: accountId,
      device_id: deviceId,
      key_id: p.keyId,
      public_key: p.publicKey,
      signature: p.signature,
    }));
    await tx`INSERT INTO one_time_kyber_prekeys ${tx(rows)}
             ON CONFLICT (account_id, device_id, key_id) DO UPDATE
             SET public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`;
  }
}

/** The one-time keys the relay holds for a device: how many of each kind, and their ids (ascending). */
export async function countOneTimeKeys(
  sql: Sql | TxSql,
  accountId: string,
  deviceId: number,
): Promise<KeyCountResponse> {
  const [row] = await sql<{ ec: number[]; kyber: number[] }[]>`
    SELECT
      ARRAY(SELECT key_id FROM one_time_prekeys WHERE account_id = ${accountId} AND device_id = ${deviceId}
        ORDER BY key_id) AS ec,
      ARRAY(SELECT key_id FROM one_time_kyber_prekeys WHERE account_id = ${accountId} AND device_id = ${deviceId}
        ORDER BY key_id) AS kyber`;
  const preKeyIds = row?.ec ?? [];
  const kyberPreKeyIds = row?.kyber ?? [];
  return { preKeys: preKeyIds.length, kyberPreKeys: kyberPreKeyIds.length, preKeyIds, kyberPreKeyIds };
}

export interface DeviceBundleRow {
  deviceId: number;
  registrationId: number;
  signedPreKey: SignedKey;
  kyberPreKey: SignedKey;
  kyberPreKeyIsLastResort: boolean;
  preKey?: OneTimeKey;
}

/**
 * Builds the bundle of each requested device (all when `deviceId` is undefined) that has a signed prekey
 * and a last-resort Kyber key, consuming one one-time EC and one one-time Kyber prekey per device.
 * Consumption is a single DELETE of a row picked with FOR UPDATE SKIP LOCKED, so concurrent fetches
 * never hand out the same key.
 */
export async function takeBundles(sql: Sql, accountId: string, deviceId?: number): Promise<DeviceBundleRow[]> {
  return sql.begin(async (tx) => {
    const devices = await tx<
      {
        device_id: number;
        registration_id: number;
        s_key_id: number;
        s_public: Buffer;
        s_sig: Buffer;
        k_key_id: number;
        k_public: Buffer;
        k_sig: Buffer;
      }[]
    >`
      SELECT d.device_id, d.registration_id,
             s.key_id AS s_key_id, s.public_key AS s_public, s.signature AS s_sig,
             k.key_id AS k_key_id, k.public_key AS k_public, k.signature AS k_sig
      FROM devices d
      JOIN signed_prekeys s ON s.account_id = d.account_id AND s.device_id = d.device_id
      JOIN kyber_last_resort_prekeys k ON k.account_id = d.account_id AND k.device_id = d.device_id
      WHERE d.account_id = ${accountId} ${deviceId === undefined ? tx`` : tx`AND d.device_id = ${deviceId}`}
      ORDER BY d.device_id`;
    const bundles: DeviceBundleRow[] = [];
    for (const d of devices) {
      const [ec] = await tx<{ key_id: number; public_key: Buffer }[]>`
        DELETE FROM one_time_prekeys WHERE id = (
          SELECT id FROM one_time_prekeys WHERE account_id = ${accountId} AND device_id = ${d.device_id}
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING key_id, public_key`;
      const [kyber] = await tx<{ key_id: number; public_key: Buffer; signature: Buffer }[]>`
        DELETE FROM one_time_kyber_prekeys WHERE id = (
          SELECT id FROM one_time_kyber_prekeys WHERE account_id = ${accountId} AND device_id = ${d.device_id}
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING key_id, public_key, signature`;
      bundles.push({
        deviceId: d.device_id,
        registrationId: d.registration_id,
        signedPreKey: { keyId: d.s_key_id, publicKey: d.s_public, signature: d.s_sig },
        kyberPreKey: kyber
          ? { keyId: kyber.key_id, publicKey: kyber.public_key, signature: kyber.signature }
          : { keyId: d.k_key_id, publicKey: d.k_public, signature: d.k_sig },
        kyberPreKeyIsLastResort: !kyber,
        ...(ec ? { preKey: { keyId: ec.key_id, publicKey: ec.public_key } } : {}),
      });
    }
    return bundles;
  });
}
