import postgres from 'postgres';

export type TableCounts = Record<string, number>;

/** Row counts of every relay table, plus a digest of the rows that matter (revocations, keys, queues). */
export async function tableCounts(databaseUrl: string): Promise<TableCounts> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const counts: TableCounts = {};
    // Every table of the relay's schema (new ones, such as attachments, are included by themselves).
    const tables = await sql<{ name: string }[]>`
      SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`;
    for (const { name: table } of tables) {
      // unsafe: identifiers cannot be parameters; the names come from information_schema.
      const [row] = await sql.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`);
      counts[table] = row?.n ?? 0;
    }
    const [revoked] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM token_families WHERE revoked_at IS NOT NULL`;
    const [used] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM refresh_tokens WHERE used_at IS NOT NULL`;
    const [identity] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM accounts WHERE identity_key IS NOT NULL`;
    counts['token_families(revoked)'] = revoked?.n ?? 0;
    counts['refresh_tokens(used)'] = used?.n ?? 0;
    counts['accounts(with identity key)'] = identity?.n ?? 0;
    return counts;
  } finally {
    await sql.end();
  }
}

/** The tables whose counts differ. */
export function changedTables(before: TableCounts, after: TableCounts): string[] {
  return Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
}
