import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';

export type SqlValue = string | number | bigint | Uint8Array | null;
export type QueryTemplate = [query: string, params: SqlValue[]];

/** A call site's strings are one frozen array for the life of the process: its query text is joined once. */
const queryTexts = new WeakMap<TemplateStringsArray, string>();

/**
 * `sql\`SELECT * FROM messages WHERE id = ${id}\`` → ['SELECT … id = ?', [id]].
 * Values always become bound parameters; nothing is ever spliced into the text.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): QueryTemplate {
  let query = queryTexts.get(strings);
  if (query === undefined) {
    query = strings.join('?');
    queryTexts.set(strings, query);
  }
  return [query, values];
}

type Db = BetterSqlite3.Database;
/** A connection that may only be read from (queries that never write take this). */
export type ReadableDB = Db & { readonly __readable: unique symbol };
/** A connection that may be written to. Every writable connection is also readable. */
export type WritableDB = ReadableDB & { readonly __writable: unique symbol };

export function asWritable(db: Db): WritableDB {
  return db as WritableDB;
}

const statements = new WeakMap<Db, Map<string, BetterSqlite3.Statement>>();

/** Prepared statements are cached per connection: the query text of a template never changes. */
function prepare(db: Db, query: string): BetterSqlite3.Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let statement = cache.get(query);
  if (!statement) {
    statement = db.prepare(query);
    if (cache.size < 500) {
      cache.set(query, statement);
    }
  }
  return statement;
}

export function all<T>(db: ReadableDB, [query, params]: QueryTemplate): T[] {
  return prepare(db, query).all(...params) as T[];
}

export function one<T>(db: ReadableDB, [query, params]: QueryTemplate): T | undefined {
  return prepare(db, query).get(...params) as T | undefined;
}

export function run(db: WritableDB, [query, params]: QueryTemplate): BetterSqlite3.RunResult {
  return prepare(db, query).run(...params);
}

export function toBytes(value: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(value.byteLength);
  copy.set(value);
  return copy;
}
