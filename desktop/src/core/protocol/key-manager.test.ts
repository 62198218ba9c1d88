import { randomBytes } from 'node:crypto';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { migrate } from '../store/migrate.js';
import { saveProfile } from '../store/profile-queries.js';
import { all, asWritable, sql } from '../store/sql.js';
import { KeyManager, REFILL_THRESHOLD, ROTATION_GRACE_MS, ROTATION_INTERVAL_MS } from './key-manager.js';
import { createProtocolStores } from './protocol-stores.js';

function setup() {
  const db = asWritable(new Database(':memory:'));
  migrate(db);
  saveProfile(db, {
    accountId: '0b4f7a52-7c39-4c84-8f2a-9e3c1e4f6a11',
    username: 'alice',
    deviceId: 1,
    relayUrl: 'http://relay',
    registrationId: 42,
    identityKeyPair: IdentityKeyPair.generate().serialize(),
    deviceSecret: randomBytes(32).toString('base64url'),
    createdAt: 0,
  });
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const keys = new KeyManager(
    db,
    createProtocolStores(db, () => undefined, clock.now),
    clock.now,
  );
  return { db, keys, clock };
}

const count = (db: ReturnType<typeof setup>['db'], table: string) =>
  all<{ n: number }>(db, [`SELECT count(*) AS n FROM ${table}`, []])[0]?.n;

describe('key lifecycle', () => {
  it('generates identity, signed prekey, last-resort Kyber and 100 + 100 one-time keys', async () => {
    const { db, keys } = setup();
    const upload = await keys.generateInitialKeys();
    expect(upload.identityKey).toBeDefined();
    expect(upload.signedPreKey).toBeDefined();
    expect(upload.lastResortKyberPreKey).toBeDefined();
    expect(upload.preKeys).toHaveLength(100);
    expect(upload.kyberPreKeys).toHaveLength(100);
    expect(new Set(upload.preKeys?.map((k) => k.keyId)).size).toBe(100);
    expect(count(db, 'prekeys')).toBe(100);
    expect(count(db, 'kyber_prekeys')).toBe(101);
  });

  it('refills only below the threshold', async () => {
    const { keys } = setup();
    await keys.generateInitialKeys();
    expect(keys.refill({ preKeys: REFILL_THRESHOLD, kyberPreKeys: 50 })).toBeNull();
    const refill = keys.refill({ preKeys: REFILL_THRESHOLD - 1, kyberPreKeys: 50 });
    expect(refill?.preKeys).toHaveLength(100);
    expect(refill?.kyberPreKeys).toBeUndefined();
  });

  it('rotates weekly and deletes the old private keys after the grace period', async () => {
    const { db, keys, clock } = setup();
    await keys.generateInitialKeys();
    expect(keys.rotationDue()).toBe(false);
    clock.advance(ROTATION_INTERVAL_MS);
    expect(keys.rotationDue()).toBe(true);
    const rotated = keys.rotate();
    expect(rotated.signedPreKey.keyId).toBe(2);
    expect(keys.rotationDue()).toBe(true); // not confirmed: the relay may still hold key 1
    keys.confirmRotation(rotated);
    expect(keys.rotationDue()).toBe(false);
    expect(count(db, 'signed_prekeys')).toBe(2); // the old one is kept for messages in flight
    clock.advance(ROTATION_GRACE_MS - 1);
    expect(keys.deleteExpiredKeys()).toBe(0);
    clock.advance(1);
    expect(keys.deleteExpiredKeys()).toBe(2);
    expect(all<{ key_id: number }>(db, sql`SELECT key_id FROM signed_prekeys`).map((r) => r.key_id)).toEqual([2]);
    expect(count(db, 'kyber_prekeys')).toBe(101); // 100 one-time + the new last resort
  });

  it('keeps the keys of a rotation not confirmed current, uploads them again, and starts the grace once confirmed', async () => {
    const { db, keys, clock } = setup();
    await keys.generateInitialKeys();
    clock.advance(ROTATION_INTERVAL_MS);
    const lost = keys.rotate(); // the relay's answer was lost: it holds key 1 or key 2
    clock.advance(ROTATION_GRACE_MS);
    expect(keys.rotationDue()).toBe(true);
    expect(keys.deleteExpiredKeys()).toBe(0);
    const again = keys.rotate();
    expect(again).toEqual(lost);
    keys.confirmRotation(again);
    expect(keys.rotationDue()).toBe(false);
    clock.advance(ROTATION_GRACE_MS - 1);
    expect(keys.deleteExpiredKeys()).toBe(0);
    clock.advance(1);
    expect(keys.deleteExpiredKeys()).toBe(2); // signed prekey 1 and the last-resort Kyber key made with it
    expect(all<{ key_id: number }>(db, sql`SELECT key_id FROM signed_prekeys`).map((r) => r.key_id)).toEqual([2]);
  });
});
