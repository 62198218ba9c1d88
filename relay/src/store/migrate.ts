import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db.js';

/** Arbitrary constant: the advisory lock every starting instance takes before migrating. */
const MIGRATION_LOCK_ID = 727_370_001;
/** relay/migrations, from the sources (relay/src/store) or the build (relay/dist/src/store). */
export const MIGRATIONS_DIR = ['../../migrations/', '../../../migrations/']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((dir) => existsSync(dir)) as string;

/**
 * Applies relay/migrations/NNNNN_name.sql in order, each in its own transaction, under a session-level
 * pg_advisory_lock so N instances starting together migrate exactly once. Forward-only.
 */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{5}_[\w-]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  const conn = await sql.reserve();
  try {
    await conn`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await conn`CREATE TABLE IF NOT EXISTS relay_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set(
      (await conn<{ version: number }[]>`SELECT version FROM relay_migrations`).map((r) => r.version),
    );
    for (const file of files) {
      const version = Number(file.slice(0, 5));
      if (done.has(version)) {
        continue;
      }
      const text = await readFile(`${dir}${file}`, 'utf8');
      await conn`BEGIN`;
      try {
        // unsafe: the migration file is our own trusted SQL with several statements and no parameters.
        await conn.unsafe(text);
        await conn`INSERT INTO relay_migrations (version, name) VALUES (${version}, ${file})`;
        await conn`COMMIT`;
      } catch (err) {
        await conn`ROLLBACK`;
        throw err;
      }
      applied.push(file);
    }
  } finally {
    await conn`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => undefined);
    conn.release();
  }
  return applied;
}
