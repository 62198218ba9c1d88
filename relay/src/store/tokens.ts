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

/** Who an authenticated socket is, for a standing check. */
export interface SocketIdentity {
  familyId: string;
  accountId: string;
  deviceId: number;
}

export interface SocketStanding {
  /** The socket's token family still exists for this device and is not revoked. */
  familyLive: boolean;
  /** The device's newest socket (see touchDevice); null when none is recorded or the device is gone. */
  liveConnection: string | null;
}

/** Sockets checked in one statement: 19,000 sockets on an instance are four statements, not 19,000. */
export const STANDING_CHUNK = 5000;

/**
 * What Postgres says of each socket, in the order given: checked when revocations and takeovers may have
 * been lost on their way through Redis (see StandingCheck). Family ids come from authenticated sockets, so
 * they are uuids (the family lookup never finds anything else live).
 */
export async function socketStandings(sql: Sql, sockets: readonly SocketIdentity[]): Promise<SocketStanding[]> {
  const standings: SocketStanding[] = [];
  for (let start = 0; start < sockets.length; start += STANDING_CHUNK) {
    const chunk = sockets.slice(start, start + STANDING_CHUNK);
    const rows = await sql<{ n: number; family_live: boolean; live_connection: string | null }[]>`
      SELECT r.n,
             EXISTS (
               SELECT 1 FROM token_families f
               WHERE f.id = r.family_id AND f.account_id = r.account_id AND f.device_id = r.device_id
                 AND f.revoked_at IS NULL
             ) AS family_live,
             d.live_connection
      FROM unnest(${chunk.map((_, n) => n)}::int[], ${chunk.map((s) => s.familyId)}::uuid[],
                  ${chunk.map((s) => s.accountId)}::uuid[], ${chunk.map((s) => s.deviceId)}::smallint[])
           AS r(n, family_id, account_id, device_id)
      LEFT JOIN devices d ON d.account_id = r.account_id AND d.device_id = r.device_id`;
    const byIndex = new Map(rows.map((r) => [r.n, r]));
    for (let n = 0; n < chunk.length; n++) {
      const row = byIndex.get(n);
      standings.push({ familyLive: row?.family_live ?? false, liveConnection: row?.live_connection ?? null });
    }
  }
  return standings;
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
