import type { WritableDB } from '../store/sql.js';
import { type IdentityChangeHandler, SqliteIdentityStore } from './identity-store.js';
import { SqliteKyberPreKeyStore } from './kyber-prekey-store.js';
import { SqlitePreKeyStore } from './prekey-store.js';
import { SqliteSenderKeyStore } from './sender-key-store.js';
import { SqliteSessionStore } from './session-store.js';
import { SqliteSignedPreKeyStore } from './signed-prekey-store.js';

/** The six libsignal stores over one encrypted database. */
export interface ProtocolStores {
  identity: SqliteIdentityStore;
  session: SqliteSessionStore;
  preKey: SqlitePreKeyStore;
  signedPreKey: SqliteSignedPreKeyStore;
  kyberPreKey: SqliteKyberPreKeyStore;
  senderKey: SqliteSenderKeyStore;
}

export function createProtocolStores(
  db: WritableDB,
  onIdentityChange: IdentityChangeHandler,
  now: () => number,
): ProtocolStores {
  return {
    identity: new SqliteIdentityStore(db, onIdentityChange, now),
    session: new SqliteSessionStore(db, now),
    preKey: new SqlitePreKeyStore(db, now),
    signedPreKey: new SqliteSignedPreKeyStore(db, now),
    kyberPreKey: new SqliteKyberPreKeyStore(db, now),
    senderKey: new SqliteSenderKeyStore(db),
  };
}

/**
 * One batch of decrypts or encrypts inside one transaction: session records stay in memory (written
 * once, by `end(true)` before COMMIT) and identity reads are cached. `end(false)` when the transaction
 * rolls back.
 */
export function beginStoreBatch(stores: ProtocolStores): void {
  stores.session.deferWrites();
  stores.identity.cacheReads();
}

export function endStoreBatch(stores: ProtocolStores, commit: boolean): void {
  if (commit) {
    stores.session.flushWrites();
  } else {
    stores.session.discardWrites();
  }
  stores.identity.dropCache();
}

/** Runs `fn` as one store batch: its session writes land once at the end, or not at all if it throws. */
export async function inStoreBatch<T>(stores: ProtocolStores, fn: () => Promise<T>): Promise<T> {
  beginStoreBatch(stores);
  try {
    const value = await fn();
    endStoreBatch(stores, true);
    return value;
  } catch (error) {
    endStoreBatch(stores, false);
    throw error;
  }
}
