import postgres from 'postgres';

/** The one `sql` instance type the whole relay uses (real Postgres or PGlite through its socket). */
export type Sql = postgres.Sql<Record<string, never>>;
export type TxSql = postgres.TransactionSql<Record<string, never>>;

export interface SqlOptions {
  max: number;
  /** Seconds to wait for a connection before failing the query (then the request answers 503). */
  connectTimeout?: number;
}

export function createSql(url: string, { max, connectTimeout = 5 }: SqlOptions): Sql {
  return postgres(url, {
    max,
    connect_timeout: connectTimeout,
    idle_timeout: 60,
    onnotice: () => {},
    // bigint columns hold millisecond timestamps and queue ids, all far below 2^53: read them as numbers.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    transform: { undefined: null },
  }) as unknown as Sql;
}
