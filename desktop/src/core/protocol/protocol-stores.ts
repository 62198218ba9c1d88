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
