import {
  type Direction,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  type PrivateKey,
  type ProtocolAddress,
  PublicKey,
} from '@signalapp/libsignal-client';
import { getProfile } from '../store/profile-queries.js';
import { one, run, sql, toBytes, type WritableDB } from '../store/sql.js';

/** Called (inside the caller's transaction) when a known peer presents a different identity key. */
export type IdentityChangeHandler = (accountId: string) => void;

/**
 * Trust on first use: the first key seen for an account is stored; a different key later replaces it
 * (sessions go on working) but is reported through `onChange`, which records it in the conversation,
 * emits an event and resets "verified".
 */
export class SqliteIdentityStore extends IdentityKeyStore {
  #keyPair: IdentityKeyPair | undefined;
  #registrationId: number | undefined;
  /** Inside a receive batch (one transaction): peers' keys read so far, kept in step with every write. */
  #cache: Map<string, PublicKey | undefined> | undefined;

  constructor(
    private readonly db: WritableDB,
    private readonly onChange: IdentityChangeHandler,
    private readonly now: () => number,
  ) {
    super();
  }

  #profile() {
    const profile = getProfile(this.db);
    if (!profile) {
      throw new Error('no local identity');
    }
    return profile;
  }

  override async getIdentityKey(): Promise<PrivateKey> {
    return this.keyPair().privateKey;
  }

  keyPair(): IdentityKeyPair {
    this.#keyPair ??= IdentityKeyPair.deserialize(this.#profile().identityKeyPair);
    return this.#keyPair;
  }

  override async getLocalRegistrationId(): Promise<number> {
    this.#registrationId ??= this.#profile().registrationId;
    return this.#registrationId;
  }

  /** Starts caching reads for one transaction (writes still go straight to the database). */
  cacheReads(): void {
    this.#cache = new Map();
  }

  /** Ends the cache (at COMMIT or ROLLBACK: a rolled-back write must not linger in it). */
  dropCache(): void {
    this.#cache = undefined;
  }

  override async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const accountId = name.name();
    const existing = this.#get(accountId);
    if (existing?.equals(key)) {
      return IdentityChange.NewOrUnchanged;
    }
    const serialized = key.serialize();
    const now = this.now();
    this.#cache?.delete(accountId);
    if (!existing) {
      run(
        this.db,
        sql`INSERT INTO identities (account_id, public_key, first_seen_at) VALUES (${accountId}, ${serialized}, ${now})`,
      );
      return IdentityChange.NewOrUnchanged;
    }
    run(
      this.db,
      sql`UPDATE identities SET public_key = ${serialized}, changed_at = ${now} WHERE account_id = ${accountId}`,
    );
    this.onChange(accountId);
    return IdentityChange.ReplacedExisting;
  }

  override async isTrustedIdentity(_name: ProtocolAddress, _key: PublicKey, _direction: Direction): Promise<boolean> {
    // TOFU without blocking: a changed key is accepted and surfaced to the user (see saveIdentity).
    return true;
  }

  override async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    return this.#get(name.name()) ?? null;
  }

  getIdentityForAccount(accountId: string): PublicKey | undefined {
    return this.#get(accountId);
  }

  #get(accountId: string): PublicKey | undefined {
    if (this.#cache?.has(accountId)) {
      return this.#cache.get(accountId);
    }
    const row = one<{ public_key: Uint8Array }>(
      this.db,
      sql`SELECT public_key FROM identities WHERE account_id = ${accountId}`,
    );
    const key = row ? PublicKey.deserialize(toBytes(row.public_key)) : undefined;
    this.#cache?.set(accountId, key);
    return key;
  }
}
