/**
 * Where the database key lives outside the database. Implementations: the OS keychain (keytar),
 * a passphrase-wrapped file for headless machines, or anything else with these three calls.
 * `account` names the profile; values are opaque strings (base64 keys).
 */
export interface SecretStore {
  readonly kind: string;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

/** A process-local store for tests and tools that must not touch the real keychain. */
export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory';
  readonly #values = new Map<string, string>();

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
