import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineSearchText } from './search-text.js';
import type { WritableDB } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE_PATTERN = /^(\d{4})-[a-z0-9-]+\.sql$/;

/**
 * The folder holding the numbered `.sql` files: SOTTO_MIGRATIONS_DIR when set (bundled builds), next to
 * this module when run from source, else the source tree beside a tsc build (tsc does not copy .sql files).
 */
export function defaultMigrationsDir(): string {
  // A bundled app (electron-vite) ships the folder as a resource and points here.
  const configured = process.env.SOTTO_MIGRATIONS_DIR;
  if (configured && existsSync(configured)) {
    return configured;
  }
  const here = fileURLToPath(new URL('./migrations/', import.meta.url));
  if (existsSync(here)) {
    return here;
  }
  const fromDist = fileURLToPath(new URL('../../../../src/core/store/migrations/', import.meta.url));
  if (existsSync(fromDist)) {
    return fromDist;
  }
  throw new Error(`migrations folder not found next to ${fileURLToPath(import.meta.url)}`);
}

export function loadMigrations(dir = defaultMigrationsDir()): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => FILE_PATTERN.test(file))
    .sort()
    .map((file) => {
      const version = Number(FILE_PATTERN.exec(file)?.[1]);
      return { version, name: file, sql: readFileSync(join(dir, file), 'utf8') };
    });
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration ${migration.name} is out of sequence (expected ${index + 1})`);
    }
  });
  return migrations;
}

export function schemaVersion(db: WritableDB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies every migration newer than `PRAGMA user_version`, all in ONE transaction: either the
 * database reaches the newest version or it stays exactly as it was.
 */
export function migrate(db: WritableDB, migrations = loadMigrations(), upTo = migrations.length): number {
  defineSearchText(db); // 0012 on calls it, and so do the triggers it creates
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`database schema ${current} is newer than this app (${migrations.length})`);
  }
  const pending = migrations.filter((m) => m.version > current && m.version <= upTo);
  if (pending.length === 0) {
    return current;
  }
  db.transaction(() => {
    for (const migration of pending) {
      if (migration.sql.startsWith(EDITS_SCHEMA_TEXT)) {
        editSchemaText(db, migration);
      } else {
        db.exec(migration.sql);
      }
    }
    // PRAGMA takes no bound parameters; the value is an integer we computed.
    db.pragma(`user_version = ${Math.trunc(pending.at(-1)?.version ?? current)}`);
  })();
  return schemaVersion(db);
}

/** First line of a migration that rewrites CREATE statements in sqlite_schema (see editSchemaText). */
const EDITS_SCHEMA_TEXT = '-- sotto:edits-schema-text';

/**
 * SQLite's documented procedure for changes that leave every stored row valid as it is (such as
 * rewriting a CHECK constraint into an equivalent one): update the CREATE text in sqlite_schema, then
 * bump schema_version so that every connection parses it again. better-sqlite3 keeps SQLite's defensive
 * mode on, which forbids writing sqlite_schema; it is lifted for this migration only. Throws (and the
 * whole migration rolls back) if the edit changed nothing, e.g. because the text was not the expected one.
 */
function editSchemaText(db: WritableDB, migration: Migration): void {
  const before = db.pragma('schema_version', { simple: true }) as number;
  const schemaText = () => db.prepare('SELECT group_concat(sql, char(10)) FROM sqlite_schema').pluck().get();
  const oldText = schemaText();
  db.unsafeMode(true);
  try {
    db.pragma('writable_schema = ON');
    db.exec(migration.sql);
    db.pragma('writable_schema = OFF');
    // PRAGMA takes no bound parameters; the value is an integer SQLite gave us.
    db.pragma(`schema_version = ${Math.trunc(before) + 1}`);
  } finally {
    db.unsafeMode(false);
  }
  if (schemaText() === oldText) {
    throw new Error(`migration ${migration.name} found nothing to edit in the schema`);
  }
}
