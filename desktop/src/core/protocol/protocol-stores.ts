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
 * Runs `fn` as one batch of decrypts or encrypts inside the caller's transaction: session records stay in
 * memory and are written once at the end (before COMMIT), or not at all if `fn` throws (the transaction
 * rolls back); identity reads are cached meanwhile.
 */
export async function inStoreBatch<T>(stores: ProtocolStores, fn: () => Promise<T>): Promise<T> {
  stores.session.deferWrites();
  stores.identity.cacheReads();
  try {
    const value = await fn();
    stores.session.flushWrites();
    return value;
  } catch (error) {
    stores.session.discardWrites();
    throw error;
  } finally {
    stores.identity.dropCache();
  }
}
