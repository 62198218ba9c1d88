import type { Sql } from './db.js';

export interface FamilyRow {
  id: string;
  accountId: string;
  deviceId: number;
}

export async function createFamily(
  sql: Sql,
  f: { id: string; accountId: string; deviceId: number; tokenHash: Buffer; now: number; expiresAt: number },
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`INSERT INTO token_families (id, account_id, device_id, created_at)
             VALUES (${f.id}, ${f.accountId}, ${f.deviceId}, ${f.now})`;
    await tx`INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at)
             VALUES (${f.tokenHash}, ${f.id}, ${f.now}, ${f.expiresAt})`;
  });
}

export type RotateResult =
  | { kind: 'rotated'; family: FamilyRow }
  | { kind: 'unknown' }
  | { kind: 'expired' }
  | { kind: 'revoked' }
  | { kind: 'reused'; family: FamilyRow };

/**
 * Trades a refresh token for a new one in the same family. A token that was already used revokes the
 * whole family (someone copied it); the revocation commits even though the caller then answers 401.
 */
export async function rotateRefreshToken(
  sql: Sql,
  oldHash: Buffer,
  newHash: Buffer,
  now: number,
  expiresAt: number,
): Promise<RotateResult> {
  return sql.begin(async (tx): Promise<RotateResult> => {
    const [row] = await tx<
      {
        family_id: string;
        account_id: string;
        device_id: number;
        used_at: number | null;
        expires_at: number;
        revoked_at: number | null;
      }[]
    >`
      SELECT t.family_id, t.used_at, t.expires_at, f.account_id, f.device_id, f.revoked_at
      FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
      WHERE t.token_hash = ${oldHash} FOR UPDATE OF t, f`;
    if (!row) {
      return { kind: 'unknown' };
    }
    const family = { id: row.family_id, accountId: row.account_id, deviceId: row.device_id };
    if (row.revoked_at != null) {
      return { kind: 'revoked' };
    }
    if (row.used_at != null) {
      await tx`UPDATE token_families SET revoked_at = ${now} WHERE id = ${row.family_id}`;
      return { kind: 'reused', family };
    }
    if (row.expires_at <= now) {
      return { kind: 'expired' };
    }
    await tx`UPDATE refresh_tokens SET used_at = ${now} WHERE token_hash = ${oldHash}`;
    await tx`INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at)
             VALUES (${newHash}, ${row.family_id}, ${now}, ${expiresAt})`;
    return { kind: 'rotated', family };
  });
}

/**
 * What a socket checks at its heartbeat while Redis (which carries revocations and takeovers) is down:
 * whether its token family is still live, and the device's newest socket (see touchDevice).
 */
export async function socketStanding(
  sql: Sql,
  familyId: string,
  accountId: string,
  deviceId: number,
): Promise<{ familyLive: boolean; liveConnection: string | null }> {
  const [row] = await sql<{ family_live: boolean; live_connection: string | null }[]>`
    SELECT EXISTS (
             SELECT 1 FROM token_families
             WHERE id = ${familyId} AND account_id = ${accountId} AND device_id = ${deviceId} AND revoked_at IS NULL
           ) AS family_live,
           (SELECT live_connection FROM devices WHERE account_id = ${accountId} AND device_id = ${deviceId})
             AS live_connection`;
  return { familyLive: row?.family_live ?? false, liveConnection: row?.live_connection ?? null };
}

export async function revokeDeviceFamilies(sql: Sql, accountId: string, deviceId: number, now: number): Promise<void> {
  await sql`UPDATE token_families SET revoked_at = ${now}
            WHERE account_id = ${accountId} AND device_id = ${deviceId} AND revoked_at IS NULL`;
}

/** Deletes expired refresh tokens (used ones stay until then, so reuse is still detected). */
export async function deleteExpiredRefreshTokens(sql: Sql, now: number): Promise<number> {
  const result = await sql`DELETE FROM refresh_tokens WHERE expires_at <= ${now}`;
  // A family with no refresh token left can never be used again (its access tokens expired long ago).
  await sql`DELETE FROM token_families f WHERE f.created_at < ${now - 24 * 3600 * 1000}
            AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id)`;
  return result.count;
}
