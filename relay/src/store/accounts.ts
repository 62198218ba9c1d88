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

export interface DeletedAccount {
  /** The account's devices (their sockets must be closed). */
  devices: number[];
  /** The account's blobs, whose rows are gone; their files must be removed. */
  attachmentIds: string[];
}

/**
 * Deletes the account; devices, keys, queues, tokens and attachment rows go with it. Undefined when there
 * was no such account.
 */
export async function deleteAccount(sql: Sql, id: string): Promise<DeletedAccount | undefined> {
  return sql.begin(async (tx) => {
    const devices = await tx<{ device_id: number }[]>`SELECT device_id FROM devices WHERE account_id = ${id}`;
    const blobs = await tx<{ id: string }[]>`DELETE FROM attachments WHERE account_id = ${id} RETURNING id`;
    const gone = await tx`DELETE FROM accounts WHERE id = ${id} RETURNING 1`;
    if (gone.length === 0) {
      return undefined;
    }
    return { devices: devices.map((d) => d.device_id), attachmentIds: blobs.map((b) => b.id) };
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
