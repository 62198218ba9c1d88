/**
 * Where a profile keeps its device credentials for the relay (device secret; a refresh token if one is
 * ever persisted): `secret_store` = in this store under their own account name (the OS keychain);
 * `database` = inside the profile's encrypted database (headless machines without a keychain).
 */
export type DeviceCredentialsLocation = 'secret_store' | 'database';

/**
 * Where the database key (and, for a keychain, the relay device credentials) live outside the database.
 * Implementations: the OS keychain (keytar), a passphrase-wrapped file for headless machines, or anything
 * else with these calls. `account` names the entry (one per profile and kind of secret); values are
 * opaque strings (base64 keys, device secrets).
 */
export interface SecretStore {
  readonly kind: string;
  /** Whether the relay device credentials are kept in this store or in the encrypted database. */
  readonly deviceCredentials: DeviceCredentialsLocation;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

/** A process-local store for tests and tools that must not touch the real keychain. */
export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory';
  /** Behaves like the keychain (device credentials kept here) unless told otherwise. */
  readonly deviceCredentials: DeviceCredentialsLocation;
  readonly #values = new Map<string, string>();

  constructor(options: { deviceCredentials?: DeviceCredentialsLocation } = {}) {
    this.deviceCredentials = options.deviceCredentials ?? 'secret_store';
  }

  /** Every account name currently stored (tests). */
  accounts(): string[] {
    return [...this.#values.keys()];
  }

  /** Every secret, by account (to hand a profile to another process: tests and benchmarks). */
  entries(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }

  /** Stores every given secret (the other side of `entries`). */
  assign(entries: Record<string, string>): void {
    for (const [account, secret] of Object.entries(entries)) {
      this.#values.set(account, secret);
    }
  }

  async get(account: string): Promise<string | null> {
    return this.#values.get(account) ?? null;
  }

  async set(account: string, secret: string): Promise<void> {
    this.#values.set(account, secret);
  }

  async delete(account: string): Promise<boolean> {
    return this.#values.delete(account);
  }
}
