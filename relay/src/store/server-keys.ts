import type { Sql } from './db.js';

export interface StoredKeyPair {
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
}

/**
 * Returns the named key pair, storing `candidate` first if none exists yet. Safe when several instances
 * start together: the first insert wins and everyone reads the winner.
 */
export async function getOrCreateServerKey(
  sql: Sql,
  name: string,
  candidate: () => Promise<StoredKeyPair>,
  now: number,
): Promise<StoredKeyPair> {
  const read = async () => {
    const [row] = await sql<{ private_jwk: Record<string, unknown>; public_jwk: Record<string, unknown> }[]>`
      SELECT private_jwk, public_jwk FROM server_keys WHERE name = ${name}`;
    return row && { privateJwk: row.private_jwk, publicJwk: row.public_jwk };
  };
  const existing = await read();
  if (existing) {
    return existing;
  }
  const fresh = await candidate();
  await sql`INSERT INTO server_keys (name, private_jwk, public_jwk, created_at)
            VALUES (${name}, ${sql.json(fresh.privateJwk as never)}, ${sql.json(fresh.publicJwk as never)}, ${now})
            ON CONFLICT (name) DO NOTHING`;
  const winner = await read();
  if (!winner) {
    throw new Error('server key vanished after insert');
  }
  return winner;
}
