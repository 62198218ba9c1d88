import { one, type ReadableDB, run, sql, toBytes, type WritableDB } from './sql.js';

export interface ProfileRow {
  accountId: string;
  username: string;
  deviceId: number;
  relayUrl: string;
  registrationId: number;
  identityKeyPair: Uint8Array<ArrayBuffer>;
  /** null when the profile's secret store (the OS keychain) holds it; see profile-credentials.ts. */
  deviceSecret: string | null;
  createdAt: number;
}

interface RawProfile {
  account_id: string;
  username: string;
  device_id: number;
  relay_url: string;
  registration_id: number;
  identity_key_pair: Uint8Array;
  device_secret: string | null;
  created_at: number;
}

export function getProfile(db: ReadableDB): ProfileRow | undefined {
  const row = one<RawProfile>(db, sql`SELECT * FROM profile WHERE id = 1`);
  if (!row) {
    return undefined;
  }
  return {
    accountId: row.account_id,
    username: row.username,
    deviceId: row.device_id,
    relayUrl: row.relay_url,
    registrationId: row.registration_id,
    identityKeyPair: toBytes(row.identity_key_pair),
    deviceSecret: row.device_secret,
    createdAt: row.created_at,
  };
}

export function saveProfile(db: WritableDB, p: ProfileRow): void {
  run(
    db,
    sql`INSERT OR REPLACE INTO profile (id, account_id, username, device_id, relay_url, registration_id,
      identity_key_pair, device_secret, created_at)
      VALUES (1, ${p.accountId}, ${p.username}, ${p.deviceId}, ${p.relayUrl}, ${p.registrationId},
      ${p.identityKeyPair}, ${p.deviceSecret}, ${p.createdAt})`,
  );
}

/** Keeps the device secret in the encrypted database (a value) or leaves it to the secret store (null). */
export function setDeviceSecret(db: WritableDB, deviceSecret: string | null): void {
  run(db, sql`UPDATE profile SET device_secret = ${deviceSecret} WHERE id = 1`);
}

export function getSetting(db: ReadableDB, key: string): string | undefined {
  return one<{ value: string }>(db, sql`SELECT value FROM settings WHERE key = ${key}`)?.value;
}

export function setSetting(db: WritableDB, key: string, value: string): void {
  run(
    db,
    sql`INSERT INTO settings (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
}

export function getNumberSetting(db: ReadableDB, key: string, fallback: number): number {
  const value = getSetting(db, key);
  return value === undefined ? fallback : Number(value);
}
