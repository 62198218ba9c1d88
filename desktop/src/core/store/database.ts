import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3-multiple-ciphers';
import { SottoError } from '../errors.js';
import { indexNewMessages } from './message-queries.js';
import { migrate } from './migrate.js';
import { defineSearchText } from './search-text.js';
import { asWritable, type WritableDB } from './sql.js';

export const DB_KEY_BYTES = 32;

/**
 * The WAL is copied into the database (a checkpoint, with two fsyncs) once it holds this many pages
 * (40 MiB), instead of SQLite's default 1,000. The same hot pages (the newest message and index leaves,
 * the session, the outbox) are rewritten by almost every commit, and a checkpoint copies each page once
 * however often it is in the WAL: ten times the window costs about three times one checkpoint. Measured
 * here sending 5,000 messages one at a time: 77 commits over 5 ms summing 568 ms, against 9 summing 247 ms.
 */
export const WAL_CHECKPOINT_PAGES = 10_000;

export interface OpenDatabaseOptions {
  /** Raw 256-bit key. */
  key: Uint8Array;
  /** Skip migrations (tests of individual migrations). */
  migrate?: boolean;
}

/**
 * The database file and its WAL and SHM readable by this user only. SQLite creates a database 0644 and gives
 * the WAL and SHM the database's mode, so a new file is created 0600 before SQLite opens it, and files an
 * earlier version left open are narrowed. Encrypted as they are, their size and timing are still nobody else's.
 */
function keepPrivate(path: string): void {
  if (path === ':memory:' || process.platform === 'win32') {
    return; // Windows has no mode bits: the profile folder's ACL decides
  }
  if (!existsSync(path)) {
    closeSync(openSync(path, 'wx', 0o600));
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) {
      try {
        chmodSync(file, 0o600);
      } catch {
        // Not ours to change (another user's file we may still open): opening matters more.
      }
    }
  }
}

/**
 * Opens (or creates) the encrypted database with the SQLCipher scheme and a RAW key
 * (`x'…'`: no per-open KDF), checks the key by reading the schema, enables WAL and migrates.
 * A wrong key throws `wrong_key` and writes nothing.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions): WritableDB {
  if (options.key.byteLength !== DB_KEY_BYTES) {
    throw new SottoError('invalid_argument', 'database key must be 32 bytes');
  }
  keepPrivate(path);
  const raw = new Database(path);
  try {
    raw.pragma(`cipher = 'sqlcipher'`);
    raw.pragma('legacy = 4');
    // The key is 64 hex digits we produced ourselves; PRAGMA key cannot take a bound parameter.
    raw.pragma(`key = "x'${Buffer.from(options.key).toString('hex')}'"`);
    try {
      raw.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (cause) {
      throw new SottoError('wrong_key', 'the database key is wrong (or the file is not a Sotto database)', { cause });
    }
    // SQLite's temporary files (savepoint journals past 64 KiB, sorts bigger than the cache, temp b-trees)
    // are NOT encrypted by the cipher: on disk they would hold plaintext messages. Keep them in memory.
    raw.pragma('temp_store = MEMORY');
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    raw.pragma('foreign_keys = ON');
    raw.pragma('secure_delete = ON');
    // Before anything writes: the full-text index's triggers call it.
    defineSearchText(raw);
    const db = asWritable(raw);
    if (options.migrate !== false) {
      migrate(db);
      // Every commit indexes the messages it stored; this only catches rows written by other means.
      indexNewMessages(db);
    }
    return db;
  } catch (error) {
    raw.close();
    throw error;
  }
}

/**
 * Serialises async units of work on the one connection. `transaction` holds BEGIN … COMMIT across
 * awaits (libsignal's stores are async): everything written inside commits or rolls back together.
 */
export class DatabaseLock {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly db: WritableDB) {}

  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  transaction<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn();
        this.db.exec('COMMIT');
        return value;
      } catch (error) {
        if (this.db.inTransaction) {
          this.db.exec('ROLLBACK');
        }
        throw error;
      }
    });
  }
}
