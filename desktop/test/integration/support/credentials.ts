import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Messenger } from '../../../src/core/messenger.js';
import type { Profile } from '../../../src/core/profile.js';
import { secretAccounts } from '../../../src/core/profile-credentials.js';
import type { SecretStore } from '../../../src/core/secrets/secret-store.js';
import { openDatabase } from '../../../src/core/store/database.js';
import { getProfile, setDeviceSecret } from '../../../src/core/store/profile-queries.js';
import type { WritableDB } from '../../../src/core/store/sql.js';

export function profileIdOf(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8')) as { profileId: string }).profileId;
}

/** Opens a profile's encrypted database directly with the key from its secret store. */
export async function openProfileDb(dir: string, secrets: SecretStore): Promise<WritableDB> {
  const key = await secrets.get(secretAccounts(profileIdOf(dir)).dbKey);
  if (!key) {
    throw new Error('no database key in the secret store');
  }
  return openDatabase(join(dir, 'sotto.db'), { key: Buffer.from(key, 'base64') });
}

/** Every table of the database whose rows contain `needle` (as text or as bytes). */
export function tablesContaining(db: WritableDB, needle: string): string[] {
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .all() as { name: string }[];
  const found: string[] = [];
  for (const { name } of tables) {
    // Table names come from sqlite_master itself.
    const rows = db
      .prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`)
      .raw()
      .all() as unknown[][];
    const hit = rows.some((row) =>
      row.some((value) =>
        typeof value === 'string'
          ? value.includes(needle)
          : value instanceof Uint8Array && Buffer.from(value).includes(Buffer.from(needle)),
      ),
    );
    if (hit) {
      found.push(name);
    }
  }
  return found;
}

/**
 * Turns a profile back into what the previous version wrote: device secret inside the database, no
 * keychain entry for it. Returns the secret.
 */
export async function downgradeToDatabaseSecret(dir: string, secrets: SecretStore): Promise<string> {
  const account = secretAccounts(profileIdOf(dir)).deviceSecret;
  const secret = await secrets.get(account);
  if (!secret) {
    throw new Error('no device secret in the secret store');
  }
  const db = await openProfileDb(dir, secrets);
  try {
    setDeviceSecret(db, secret);
    if (getProfile(db)?.deviceSecret !== secret) {
      throw new Error('downgrade failed');
    }
  } finally {
    db.close();
  }
  await secrets.delete(account);
  return secret;
}

/**
 * Stops a user's client, lets `write` change its database (as another version, a modified client or a run cut
 * short would have left it), and starts it again, connected.
 */
export async function restartWith(
  user: { profile: Profile; messenger: Messenger },
  write: (db: WritableDB) => void,
): Promise<void> {
  await user.messenger.close();
  const db = await openProfileDb(user.profile.dir, user.profile.secretStore);
  try {
    write(db);
  } finally {
    db.close();
  }
  user.messenger = await user.profile.openMessenger();
  await user.messenger.connect();
}
