import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SottoError } from '../errors.js';
import { openDatabase, WAL_CHECKPOINT_PAGES } from './database.js';
import { one, run, sql } from './sql.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('encrypted database', () => {
  it('is encrypted on disk, in WAL mode, and reopens with the same raw key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-db-'));
    dirs.push(dir);
    const path = join(dir, 'test.db');
    const key = randomBytes(32);
    const db = openDatabase(path, { key });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    run(db, sql`INSERT INTO settings (key, value) VALUES ('secret', 'plain words here')`);
    db.close();
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 15).toString()).not.toBe('SQLite format 3');
    expect(bytes.includes(Buffer.from('plain words here'))).toBe(false);
    const again = openDatabase(path, { key });
    expect(one<{ value: string }>(again, sql`SELECT value FROM settings WHERE key = 'secret'`)?.value).toBe(
      'plain words here',
    );
    again.close();
  });

  it('keeps the WAL bounded: it is checkpointed once it holds WAL_CHECKPOINT_PAGES pages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-db-'));
    dirs.push(dir);
    const path = join(dir, 'test.db');
    const db = openDatabase(path, { key: randomBytes(32) });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const limit = WAL_CHECKPOINT_PAGES * (pageSize + 24); // a frame is a page and its 24-byte header
    db.exec('CREATE TABLE scratch (b BLOB)');
    const blob = randomBytes(2 * pageSize);
    let largestWal = 0;
    // Twice the window, in commits of 100 blobs (about 300 pages each).
    for (let i = 0; i < (2 * WAL_CHECKPOINT_PAGES) / 300; i++) {
      db.transaction(() => {
        for (let k = 0; k < 100; k++) {
          run(db, sql`INSERT INTO scratch (b) VALUES (${blob})`);
        }
      })();
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
    }
    expect(largestWal).toBeGreaterThan(limit / 2); // not checkpointed at SQLite's default of 1,000 pages
    expect(largestWal).toBeLessThan(limit + 400 * (pageSize + 24)); // but within one commit of the window
    db.close();
  });

  it('keeps SQLite temporary files (savepoint journals, sorts) in memory: on disk they would hold plaintext', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-db-'));
    dirs.push(dir);
    const path = join(dir, 'test.db');
    const db = openDatabase(path, { key: randomBytes(32) });
    // A small cache, so both spill past memory as they would over a long history with the default cache.
    db.pragma('cache_size = -1000');
    db.exec('CREATE TABLE scratch (body TEXT, k INTEGER)');
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) {
        run(db, sql`INSERT INTO scratch (body, k) VALUES (${`${canary} ${'x'.repeat(300)}`}, ${(i * 7919) % 20_011})`);
      }
    })();
    /** Every file this process holds open besides the database, its WAL and its SHM (SQLite unlinks temp files at once). */
    const otherOpenFiles = () =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        let target: string;
        try {
          target = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return [];
        }
        if (
          !target.startsWith('/') ||
          target.startsWith(path) ||
          target.startsWith('/dev/') ||
          target.startsWith('/proc/')
        ) {
          return [];
        }
        try {
          return [{ target, hasCanary: readFileSync(`/proc/self/fd/${fd}`).includes(canary) }];
        } catch {
          return [];
        }
      });

    // A savepoint that touches more pages than its in-memory journal holds (64 KiB).
    db.exec('BEGIN; SAVEPOINT unit; UPDATE scratch SET k = k + 1');
    const duringSavepoint = otherOpenFiles();
    db.exec('RELEASE unit; COMMIT');
    // A sort bigger than the cache.
    const sorted = db.prepare('SELECT body FROM scratch ORDER BY k').iterate() as IterableIterator<{ body: string }>;
    const first = sorted.next().value;
    const duringSort = otherOpenFiles();
    sorted.return?.();
    db.close();

    expect(first?.body).toContain(canary);
    expect(duringSavepoint.filter((f) => f.hasCanary || f.target.includes('etilqs'))).toEqual([]);
    expect(duringSort.filter((f) => f.hasCanary || f.target.includes('etilqs'))).toEqual([]);
  });

  it('refuses a wrong key with wrong_key and leaves the file untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-db-'));
    dirs.push(dir);
    const path = join(dir, 'test.db');
    openDatabase(path, { key: randomBytes(32) }).close();
    const before = readFileSync(path);
    let caught: unknown;
    try {
      openDatabase(path, { key: randomBytes(32) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SottoError);
    expect((caught as SottoError).is('wrong_key')).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('keeps the database, its WAL and its SHM readable by this user only, narrowing files left open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-db-'));
    dirs.push(dir);
    const path = join(dir, 'test.db');
    const files = [path, `${path}-wal`, `${path}-shm`];
    const modes = () => files.map((file) => statSync(file).mode & 0o777);
    const key = randomBytes(32);
    const db = openDatabase(path, { key });
    run(db, sql`INSERT INTO settings (key, value) VALUES ('k', 'v')`);
    expect(modes()).toEqual([0o600, 0o600, 0o600]);
    for (const file of files) {
      chmodSync(file, 0o644);
    }
    db.close();
    openDatabase(path, { key }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('rejects keys that are not 256 bits', () => {
    expect(() => openDatabase(':memory:', { key: randomBytes(16) })).toThrow(/32 bytes/);
  });
});
