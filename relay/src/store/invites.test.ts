import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useMigratedSql } from '../../test/support/fixture.js';
import { consumeInvite, createInvite, listInvites, newInviteCode, revokeInvite } from './invites.js';

const fx = useMigratedSql();

describe('invites', () => {
  it('are single use, expire, can be revoked, and are stored only as hashes', async () => {
    const { sql } = fx;
    const now = Date.now();
    const code = await createInvite(sql, now);
    const expiring = await createInvite(sql, now, 1000);
    const revoked = await createInvite(sql, now);

    expect(await sql.begin((tx) => consumeInvite(tx, code, randomUUID(), now))).toBe(true);
    expect(await sql.begin((tx) => consumeInvite(tx, code, randomUUID(), now))).toBe(false);
    expect(await sql.begin((tx) => consumeInvite(tx, expiring, randomUUID(), now + 2000))).toBe(false);
    expect(await revokeInvite(sql, revoked)).toBe(true);
    expect(await sql.begin((tx) => consumeInvite(tx, revoked, randomUUID(), now))).toBe(false);

    const invites = await listInvites(sql);
    expect(invites).toHaveLength(2);
    expect(invites.filter((i) => i.usedAt !== null)).toHaveLength(1);
    const stored = await sql`SELECT * FROM invites`;
    expect(JSON.stringify(stored)).not.toContain(code);
  });

  it('never start with "-", so the admin CLI can always take them as arguments', () => {
    // Plain base64url starts with "-" once in 64 codes: 1,000 codes without one would be a fluke.
    const codes = Array.from({ length: 1000 }, () => newInviteCode());
    expect(codes.filter((c) => c.startsWith('-'))).toEqual([]);
    expect(new Set(codes).size).toBe(1000);
    expect(codes.every((c) => /^[A-Za-z0-9_-]{24}$/.test(c))).toBe(true);
  });
});
