import type { Sql, TxSql } from './db.js';

export interface AccountRow {
  id: string;
  username: string;
  identityKey: Buffer | null;
}

export async function findAccountById(sql: Sql | TxSql, id: string): Promise<AccountRow | undefined> {
  const [row] = await sql<{ id: string; username: string; identity_key: Buffer | null }[]>`
    SELECT id, username, identity_key FROM accounts WHERE id = ${id}`;
  return row && { id: row.id, username: row.username, identityKey: row.identity_key };
}

export async function findAccountByUsername(sql: Sql, username: string): Promise<AccountRow | undefined> {
  const [row] = await sql<{ id: string; username: string; identity_key: Buffer | null }[]>`
    SELECT id, username, identity_key FROM accounts WHERE lower(username) = lower(${username})`;
  return row && { id: row.id, username: row.username, identityKey: row.identity_key };
}

export interface NewAccount {
  id: string;
  username: string;
  registrationId: number;
  deviceName: string | null;
  secretHash: string;
  now: number;
}

/** Creates the account and its device 1. Returns false when the username is taken (case-insensitive). */
export async function insertAccount(tx: TxSql, a: NewAccount): Promise<boolean> {
  const rows = await tx`
    INSERT INTO accounts (id, username, created_at) VALUES (${a.id}, ${a.username.toLowerCase()}, ${a.now})
    ON CONFLICT DO NOTHING RETURNING id`;
  if (rows.length === 0) {
    return false;
  }
  await tx`
    INSERT INTO devices (account_id, device_id, name, registration_id, secret_hash, created_at)
    VALUES (${a.id}, 1, ${a.deviceName}, ${a.registrationId}, ${a.secretHash}, ${a.now})`;
  return true;
}

/** Deletes the account; devices, keys, queues and tokens go with it (ON DELETE CASCADE). */
export async function deleteAccount(sql: Sql, id: string): Promise<number[]> {
  return sql.begin(async (tx) => {
    const devices = await tx<{ device_id: number }[]>`SELECT device_id FROM devices WHERE account_id = ${id}`;
    await tx`DELETE FROM accounts WHERE id = ${id}`;
    return devices.map((d) => d.device_id);
  });
}

/** Sets the identity key once. Returns 'set', 'same' (already this key) or 'different'. */
export async function setIdentityKey(tx: TxSql, id: string, key: Buffer): Promise<'set' | 'same' | 'different'> {
  const [row] = await tx<{ identity_key: Buffer | null }[]>`
    SELECT identity_key FROM accounts WHERE id = ${id} FOR UPDATE`;
  if (!row) {
    return 'different';
  }
  if (row.identity_key) {
    return row.identity_key.equals(key) ? 'same' : 'different';
  }
  await tx`UPDATE accounts SET identity_key = ${key} WHERE id = ${id}`;
  return 'set';
}
