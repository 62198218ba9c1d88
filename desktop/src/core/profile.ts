import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { UsernameSchema } from '@sotto/shared-types';
import { z } from 'zod';
import { SottoError, toLogFormat } from './errors.js';
import { createLogger } from './logger.js';
import { Messenger } from './messenger.js';
import type { MessengerApi, ProfileApi, ProfileState, RegisterOptions } from './messenger-types.js';
import { deleteProfileSecrets, loadDeviceSecret, secretAccounts, storeDeviceSecret } from './profile-credentials.js';
import { KeyManager } from './protocol/key-manager.js';
import { createProtocolStores } from './protocol/protocol-stores.js';
import { RelayClient, relayBaseUrl } from './relay-client/http-client.js';
import type { DeviceCredentials, RelayApi } from './relay-client/relay-api.js';
import { writeFileAtomic } from './secrets/atomic-file.js';
import { defaultSecretStore } from './secrets/default-secret-store.js';
import { PASSPHRASE_FILE } from './secrets/passphrase-secret-store.js';
import { generateRecoveryKey, readRecovery, writeRecoveryFile } from './secrets/recovery-key.js';
import type { SecretStore } from './secrets/secret-store.js';
import { DB_KEY_BYTES, openDatabase } from './store/database.js';
import { saveProfile } from './store/profile-queries.js';
import type { WritableDB } from './store/sql.js';

const log = createLogger('profile');

export const DB_FILE = 'sotto.db';
export const PROFILE_FILE = 'profile.json';
export const RECOVERY_FILE = 'recovery.json';

/** Non-secret facts about the profile, kept in clear beside the encrypted database. */
const ProfileFileSchema = z.object({
  version: z.literal(1),
  profileId: z.uuid(),
  relayUrl: z.string(),
  username: z.string(),
  createdAt: z.int(),
});
type ProfileFile = z.infer<typeof ProfileFileSchema>;

export interface ProfileOptions {
  /** Where the keychain entry lives; defaults to the keychain, or a passphrase when SOTTO_DB_PASSPHRASE is set. */
  secretStore?: SecretStore;
  /** Another relay client (tests' in-memory relay); its URL is taken as given. */
  relayFactory?: (relayUrl: string) => RelayApi;
  now?: () => number;
}

/** One profile folder: encrypted database, recovery file, profile.json. */
export class Profile implements ProfileApi {
  readonly dir: string;
  readonly #secrets: SecretStore;
  readonly #relayFactory: (relayUrl: string) => RelayApi;
  /** Checks and normalises a relay URL typed at registration (see relayBaseUrl). */
  readonly #relayUrl: (input: string) => string;
  readonly #now: () => number;

  constructor(dir: string, options: ProfileOptions = {}) {
    this.dir = resolve(dir);
    this.#secrets = options.secretStore ?? defaultSecretStore(this.dir);
    this.#relayFactory = options.relayFactory ?? ((baseUrl) => new RelayClient({ baseUrl }));
    this.#relayUrl = options.relayFactory ? (input) => input : relayBaseUrl;
    this.#now = options.now ?? Date.now;
  }

  get secretStore(): SecretStore {
    return this.#secrets;
  }

  #file(name: string): string {
    return join(this.dir, name);
  }

  #readProfileFile(): ProfileFile | undefined {
    if (!existsSync(this.#file(PROFILE_FILE))) {
      return undefined;
    }
    return ProfileFileSchema.parse(JSON.parse(readFileSync(this.#file(PROFILE_FILE), 'utf8')));
  }

  #account(file: ProfileFile): string {
    return secretAccounts(file.profileId).dbKey;
  }

  async state(): Promise<ProfileState> {
    const file = this.#readProfileFile();
    if (!file) {
      return 'none';
    }
    return (await this.#secrets.get(this.#account(file))) ? 'ready' : 'locked';
  }

  async register(options: RegisterOptions): Promise<{ messenger: MessengerApi; recoveryKey: string }> {
    const result = await this.registerMessenger(options);
    return result;
  }

  /** `register` with the concrete Messenger type (for the CLI and tests). */
  async registerMessenger(options: RegisterOptions): Promise<{ messenger: Messenger; recoveryKey: string }> {
    if (this.#readProfileFile()) {
      throw new SottoError('profile_exists', `a profile already exists in ${this.dir}`);
    }
    const username = UsernameSchema.safeParse(options.username.trim().toLowerCase());
    if (!username.success) {
      throw new SottoError('invalid_argument', 'username: 3–32 of a-z, 0-9, "_" and "."');
    }
    const relayUrl = this.#relayUrl(options.relayUrl);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#removeDatabaseFiles();
    const progress = options.onProgress ?? (() => undefined);
    const now = this.#now();
    progress('generating_keys');
    const dbKey = randomBytes(DB_KEY_BYTES);
    const db = openDatabase(this.#file(DB_FILE), { key: dbKey });
    const profileId = randomUUID();
    /** Set once the relay has created the account: what is needed to delete it again. */
    let created: { relay: RelayApi; credentials: DeviceCredentials } | undefined;
    try {
      const identity = IdentityKeyPair.generate();
      const registrationId = randomInt(1, 16381);
      const deviceSecret = randomBytes(32).toString('base64url');
      const relay = this.#relayFactory(relayUrl);
      progress('registering');
      const registered = await relay.register({
        username: username.data,
        deviceSecret,
        registrationId,
        ...(options.inviteCode ? { inviteCode: options.inviteCode } : {}),
        ...(options.deviceName ? { deviceName: options.deviceName } : {}),
      });
      created = {
        relay,
        credentials: { accountId: registered.accountId, deviceId: registered.deviceId, deviceSecret },
      };
      saveProfile(db, {
        accountId: registered.accountId,
        username: registered.username,
        deviceId: registered.deviceId,
        relayUrl,
        registrationId,
        identityKeyPair: identity.serialize(),
        deviceSecret: null,
        createdAt: now,
      });
      await storeDeviceSecret(db, this.#secrets, profileId, deviceSecret);
      relay.setCredentials({ accountId: registered.accountId, deviceId: registered.deviceId, deviceSecret });
      const stores = createProtocolStores(db, () => undefined, this.#now);
      const keys = await db
        .transaction(() => new KeyManager(db, stores, this.#now))()
        .generateInitialKeys();
      progress('uploading_keys');
      await relay.uploadKeys(keys);
      const file: ProfileFile = {
        version: 1,
        profileId,
        relayUrl,
        username: registered.username,
        createdAt: now,
      };
      await this.#secrets.set(this.#account(file), dbKey.toString('base64'));
      const recoveryKey = generateRecoveryKey();
      writeRecoveryFile(this.#file(RECOVERY_FILE), dbKey, recoveryKey, deviceSecret);
      writeFileAtomic(this.#file(PROFILE_FILE), `${JSON.stringify(file, null, 2)}\n`);
      progress('done');
      return { messenger: this.#messenger(db, relay, relayUrl, deviceSecret), recoveryKey };
    } catch (error) {
      db.close();
      this.#removeDatabaseFiles();
      await deleteProfileSecrets(this.#secrets, profileId);
      if (created) {
        // The account exists on the relay but this profile will not: delete it, or its username stays taken
        // and registering again under it fails. Best effort: the relay may be what failed.
        created.relay.setCredentials(created.credentials);
        await created.relay
          .deleteAccount()
          .catch((cause: unknown) =>
            log.warn('could not delete the half-registered account', { error: toLogFormat(cause) }),
          );
      }
      throw error;
    }
  }

  open(): Promise<MessengerApi> {
    return this.openMessenger();
  }

  async openMessenger(): Promise<Messenger> {
    const file = this.#readProfileFile();
    if (!file) {
      throw new SottoError('no_profile', `no profile in ${this.dir}: run register first`);
    }
    const secret = await this.#secrets.get(this.#account(file));
    if (!secret && this.#secrets.kind !== 'passphrase' && existsSync(this.#file(PASSPHRASE_FILE))) {
      // A profile made on a server, opened without its passphrase: the keychain was never its place.
      throw new SottoError(
        'locked',
        'this profile keeps its database key under a passphrase: set SOTTO_DB_PASSPHRASE, or unlock with your recovery key to keep it in this keychain',
      );
    }
    if (!secret) {
      throw new SottoError('locked', 'the database key is not in the keychain: unlock with your recovery key');
    }
    const db = openDatabase(this.#file(DB_FILE), { key: Buffer.from(secret, 'base64') });
    try {
      const deviceSecret = await loadDeviceSecret(db, this.#secrets, file.profileId);
      return this.#messenger(db, this.#relayFactory(file.relayUrl), file.relayUrl, deviceSecret);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  unlock(recoveryKey: string): Promise<MessengerApi> {
    return this.unlockMessenger(recoveryKey);
  }

  async unlockMessenger(recoveryKey: string): Promise<Messenger> {
    const file = this.#readProfileFile();
    if (!file) {
      throw new SottoError('no_profile', `no profile in ${this.dir}`);
    }
    const recovered = readRecovery(this.#file(RECOVERY_FILE), recoveryKey);
    const db = openDatabase(this.#file(DB_FILE), { key: recovered.dbKey });
    try {
      await this.#secrets.set(this.#account(file), recovered.dbKey.toString('base64'));
      const deviceSecret = await loadDeviceSecret(db, this.#secrets, file.profileId, recovered.deviceSecret);
      if (recovered.deviceSecret === undefined) {
        // A profile from before the device secret moved: from now on the recovery key restores it too.
        writeRecoveryFile(this.#file(RECOVERY_FILE), recovered.dbKey, recoveryKey, deviceSecret);
      }
      return this.#messenger(db, this.#relayFactory(file.relayUrl), file.relayUrl, deviceSecret);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async wipe(): Promise<void> {
    const file = this.#readProfileFile();
    if (file) {
      await deleteProfileSecrets(this.#secrets, file.profileId);
    }
    this.#removeDatabaseFiles();
    for (const name of [RECOVERY_FILE, PASSPHRASE_FILE, PROFILE_FILE]) {
      rmSync(this.#file(name), { force: true });
    }
  }

  #removeDatabaseFiles(): void {
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      rmSync(this.#file(`${DB_FILE}${suffix}`), { force: true });
    }
  }

  #messenger(db: WritableDB, relay: RelayApi, relayUrl: string, deviceSecret: string): Messenger {
    return new Messenger({ db, relay, relayUrl, deviceSecret, now: this.#now });
  }
}
