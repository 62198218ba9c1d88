import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useMigratedSql } from '../../test/support/fixture.js';
import { touchDevice } from './devices.js';
import { STANDING_CHUNK, socketStandings } from './tokens.js';

const fx = useMigratedSql();

async function newDevice(): Promise<string> {
  const { sql } = fx;
  const account = randomUUID();
  await sql`INSERT INTO accounts (id, username, created_at) VALUES (${account}, ${`u${account.slice(0, 8)}`}, 0)`;
  await sql`INSERT INTO devices (account_id, device_id, registration_id, secret_hash, created_at)
            VALUES (${account}, 1, 1, 'x', 0)`;
  return account;
}

const liveConnection = async (account: string) =>
  (await socketStandings(fx.sql, [{ familyId: randomUUID(), accountId: account, deviceId: 1 }]))[0]?.liveConnection;

describe('the live-connection register (takeovers while Redis is down)', () => {
  it('names the socket that connected last, whatever order the writes land in', async () => {
    const { sql } = fx;
    const account = await newDevice();
    const older = randomUUID();
    const newer = randomUUID();
    // The newer socket's write lands first, the older one's after it (both writes are fire-and-forget).
    await touchDevice(sql, account, 1, 2_000, newer);
    await touchDevice(sql, account, 1, 1_000, older);
    expect(await liveConnection(account)).toBe(newer);
    const [row] = await sql<{ last_seen_at: string }[]>`SELECT last_seen_at FROM devices WHERE account_id = ${account}`;
    expect(Number(row?.last_seen_at)).toBe(2_000);

    const newest = randomUUID();
    await touchDevice(sql, account, 1, 3_000, newest);
    expect(await liveConnection(account)).toBe(newest);
  });

  it('settles on one socket when two connect in the same millisecond', async () => {
    const { sql } = fx;
    const account = await newDevice();
    const [a, b] = [randomUUID(), randomUUID()].sort();
    await touchDevice(sql, account, 1, 5_000, b as string);
    await touchDevice(sql, account, 1, 5_000, a as string);
    expect(await liveConnection(account)).toBe(b);
    const other = await newDevice();
    await touchDevice(sql, other, 1, 5_000, a as string);
    await touchDevice(sql, other, 1, 5_000, b as string);
    expect(await liveConnection(other)).toBe(b);
  });
});

describe('socketStandings', () => {
  it('answers every socket of a check larger than one statement, in the order asked', async () => {
    const { sql } = fx;
    const account = await newDevice();
    const live = randomUUID();
    const revoked = randomUUID();
    await sql`INSERT INTO token_families (id, account_id, device_id, created_at, revoked_at)
              VALUES (${live}, ${account}, 1, 0, NULL), (${revoked}, ${account}, 1, 0, 1)`;
    const connection = randomUUID();
    await touchDevice(sql, account, 1, 1_000, connection);
    const sockets = Array.from({ length: STANDING_CHUNK + 2 }, () => ({
      familyId: randomUUID(),
      accountId: account,
      deviceId: 1,
    }));
    sockets[1] = { familyId: live, accountId: account, deviceId: 1 };
    sockets[STANDING_CHUNK + 1] = { familyId: live, accountId: account, deviceId: 1 };
    sockets[STANDING_CHUNK] = { familyId: revoked, accountId: account, deviceId: 1 };
    // A live family of another device (the device id is part of the family's identity).
    sockets[2] = { familyId: live, accountId: account, deviceId: 2 };
    const standings = await socketStandings(sql, sockets);
    expect(standings).toHaveLength(sockets.length);
    const liveAt = standings.flatMap((s, i) => (s.familyLive ? [i] : []));
    expect(liveAt).toEqual([1, STANDING_CHUNK + 1]);
    expect(standings[1]?.liveConnection).toBe(connection);
    expect(standings[2]?.liveConnection).toBeNull();
    expect(standings[STANDING_CHUNK + 1]?.liveConnection).toBe(connection);
  });
});
