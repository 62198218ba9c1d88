import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Sql } from '../store/db.js';
import { AccessTokens } from './access-tokens.js';

const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

async function tokens(clock: ManualClock): Promise<AccessTokens> {
  // With a PEM key the database is never touched.
  return AccessTokens.load(undefined as unknown as Sql, pem, {
    issuer: 'sotto-relay',
    audience: 'sotto',
    ttlSeconds: 900,
    clock,
  });
}

describe('access token verification (remembered after the first check)', () => {
  it('still refuses a remembered token once it has expired', async () => {
    const clock = new ManualClock(Date.now());
    const t = await tokens(clock);
    const claims = { sub: randomUUID(), did: 1, fam: randomUUID() };
    const token = await t.sign(claims);
    expect(await t.verify(token)).toEqual(claims);
    expect(await t.verify(token)).toEqual(claims);
    clock.advance(901 * 1000);
    expect(await t.verify(token)).toBeUndefined();
  });

  it('refuses a token with a changed signature or payload even when the original was remembered', async () => {
    const clock = new ManualClock(Date.now());
    const t = await tokens(clock);
    const token = await t.sign({ sub: randomUUID(), did: 2, fam: randomUUID() });
    expect(await t.verify(token)).toBeDefined();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await t.verify(`${header}.${payload}.${flipped}`)).toBeUndefined();
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), did: 3 }));
    expect(await t.verify(`${header}.${other.toString('base64url')}.${signature}`)).toBeUndefined();
  });
});
