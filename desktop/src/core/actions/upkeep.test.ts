import { randomUUID } from 'node:crypto';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import type { DeviceBundle, KeyCountResponse, PreKeyBundleResponse, UploadKeysRequest } from '@sotto/shared-types';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SottoError } from '../errors.js';
import { KeyManager, ONE_TIME_KEY_GRACE_MS, ROTATION_GRACE_MS, ROTATION_INTERVAL_MS } from '../protocol/key-manager.js';
import { createProtocolStores } from '../protocol/protocol-stores.js';
import { decryptEnvelope, encryptForDevice, startSession } from '../protocol/session-cipher.js';
import type { RelayApi } from '../relay-client/relay-api.js';
import { relayErrorFromText } from '../relay-client/relay-error.js';
import { DatabaseLock } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { saveProfile } from '../store/profile-queries.js';
import { all, asWritable, sql, type WritableDB } from '../store/sql.js';
import { CoreContext, EventHub } from '../sync/core-context.js';
import { ExpirySweeper, KeyUpkeep, maintainKeys } from './upkeep.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An upkeep whose runs the test finishes by hand. */
function manualUpkeep() {
  const finishers: (() => void)[] = [];
  let runs = 0;
  const upkeep = () => {
    runs += 1;
    return new Promise<void>((resolve) => finishers.push(resolve));
  };
  return { upkeep, runs: () => runs, finishRun: () => finishers.shift()?.() };
}

describe('key upkeep scheduling', () => {
  it('runs every interval while connected, and not while offline', async () => {
    vi.useFakeTimers();
    let connected = true;
    let runs = 0;
    const keyUpkeep = new KeyUpkeep(
      async () => {
        runs += 1;
      },
      () => connected,
      1000,
    );
    keyUpkeep.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    connected = false;
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    await keyUpkeep.stop();
    connected = true;
    await vi.advanceTimersByTimeAsync(3000);
    await keyUpkeep.request(); // asked after close: nothing runs against a closed database
    expect(runs).toBe(3);
  });

  it('runs once more after the run in progress however often it is asked meanwhile', async () => {
    const { upkeep, runs, finishRun } = manualUpkeep();
    const keyUpkeep = new KeyUpkeep(upkeep, () => true);
    const first = keyUpkeep.request();
    const asked = [keyUpkeep.request(), keyUpkeep.request(), keyUpkeep.request()];
    expect(runs()).toBe(1);
    finishRun();
    await vi.waitFor(() => expect(runs()).toBe(2));
    finishRun();
    await Promise.all([first, ...asked]);
    expect(runs()).toBe(2);
  });

  it('logs a failed run instead of rejecting, and runs again when asked', async () => {
    let runs = 0;
    const keyUpkeep = new KeyUpkeep(
      async () => {
        runs += 1;
        throw new Error('relay unreachable');
      },
      () => true,
    );
    await expect(keyUpkeep.request()).resolves.toBeUndefined();
    await expect(keyUpkeep.request()).resolves.toBeUndefined();
    expect(runs).toBe(2);
  });
});

describe('expiry sweeper', () => {
  it('sweeps again after a sweep whose transaction failed', async () => {
    vi.useFakeTimers();
    let sweeps = 0;
    // Only what a sweep touches: its transaction (the first fails, as behind another process's write lock)
    // and the next-expiry query (nothing expires: the next sweep is the once-a-minute one).
    const ctx = {
      now: () => Date.now(),
      tx: async () => {
        sweeps += 1;
        if (sweeps === 1) {
          throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        }
      },
      db: { prepare: () => ({ get: () => ({ at: null }) }) },
    } as unknown as CoreContext;
    const sweeper = new ExpirySweeper(ctx);
    sweeper.schedule(0);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sweeps).toBeGreaterThan(2); // swept again, and kept sweeping after that
    sweeper.stop();
    const stopped = sweeps;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sweeps).toBe(stopped);
  });
});

/** How the next key upload ends: its answer lost after the relay stored it, lost before, or a refusal. */
type UploadOutcome = 'stored, answer lost' | 'stored, proxy 502' | 'not stored, answer lost' | 'refused';

/** What the relay keeps of a device's keys (as relay/src/store/keys.ts does), with the next upload's fate. */
class KeyRelay {
  signedPreKey: UploadKeysRequest['signedPreKey'];
  lastResort: UploadKeysRequest['lastResortKyberPreKey'];
  preKeys: NonNullable<UploadKeysRequest['preKeys']> = [];
  kyberPreKeys: NonNullable<UploadKeysRequest['kyberPreKeys']> = [];
  uploads = 0;
  next: UploadOutcome | undefined;
  /** False for a relay from before the count listed the ids. */
  listsIds = true;

  async keyCount(): Promise<KeyCountResponse> {
    const count = { preKeys: this.preKeys.length, kyberPreKeys: this.kyberPreKeys.length };
    return this.listsIds
      ? { ...count, preKeyIds: this.preKeys.map((k) => k.keyId), kyberPreKeyIds: this.kyberPreKeys.map((k) => k.keyId) }
      : count;
  }

  async uploadKeys(request: UploadKeysRequest): Promise<void> {
    this.uploads += 1;
    const outcome = this.next;
    this.next = undefined;
    if (outcome === 'refused') {
      throw relayErrorFromText(413, '{"error":{"code":"too_large","message":"too many keys","requestId":"r"}}');
    }
    if (outcome !== 'not stored, answer lost') {
      this.signedPreKey = request.signedPreKey ?? this.signedPreKey;
      this.lastResort = request.lastResortKyberPreKey ?? this.lastResort;
      this.preKeys.push(...(request.preKeys ?? []));
      this.kyberPreKeys.push(...(request.kyberPreKeys ?? []));
    }
    if (outcome === 'stored, proxy 502') {
      throw relayErrorFromText(502, '<html>Bad Gateway</html>');
    }
    if (outcome !== undefined) {
      throw new SottoError('relay_unreachable', 'cannot reach the relay', { cause: new Error('ECONNRESET') });
    }
  }

  /** A bundle as a new contact gets it: the newest one-time keys, or none (the last-resort Kyber key). */
  take(oneTime: boolean): DeviceBundle {
    const signedPreKey = this.signedPreKey;
    const kyber = oneTime ? this.kyberPreKeys.pop() : this.lastResort;
    const preKey = oneTime ? this.preKeys.pop() : undefined;
    if (!signedPreKey || !kyber) {
      throw new Error('the relay has no keys');
    }
    return {
      deviceId: 1,
      registrationId: 42,
      signedPreKey,
      kyberPreKey: kyber,
      kyberPreKeyIsLastResort: !oneTime,
      ...(preKey ? { preKey } : {}),
    };
  }
}

function profileDb(username: string) {
  const db = asWritable(new Database(':memory:'));
  migrate(db);
  const identity = IdentityKeyPair.generate();
  const address = { accountId: randomUUID(), deviceId: 1 };
  saveProfile(db, {
    ...address,
    username,
    relayUrl: 'memory://',
    registrationId: 42,
    identityKeyPair: identity.serialize(),
    deviceSecret: null,
    createdAt: 0,
  });
  return { db, identity, address };
}

/** This device, registered on a relay that holds its keys, and a way for new contacts to write to it. */
async function registered() {
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const me = profileDb('bob');
  const stores = createProtocolStores(me.db, () => undefined, clock.now);
  const keys = new KeyManager(me.db, stores, clock.now);
  const relay = new KeyRelay();
  await relay.uploadKeys(await keys.generateInitialKeys());
  const ctx = new CoreContext(
    me.db,
    new DatabaseLock(me.db),
    stores,
    relay as unknown as RelayApi,
    { ...me.address, username: 'bob' },
    new EventHub(),
    clock.now,
  );

  /** A new contact sets up a session from the bundle the relay hands out now, and writes: the message in flight. */
  const newContactWrites = async (oneTime: boolean) => {
    const contact = profileDb('contact');
    const contactStores = createProtocolStores(contact.db, () => undefined, clock.now);
    const bundle: PreKeyBundleResponse = {
      accountId: me.address.accountId,
      username: 'bob',
      identityKey: Buffer.from(me.identity.publicKey.serialize()).toString('base64'),
      devices: [relay.take(oneTime)],
    };
    await startSession(contactStores, contact.address, bundle, bundle.devices[0] as DeviceBundle);
    const message = await encryptForDevice(
      contactStores,
      contact.address,
      me.address.accountId,
      1,
      new Uint8Array(Buffer.from('hello')) as Uint8Array<ArrayBuffer>,
    );
    return {
      type: message.type,
      sourceAccountId: contact.address.accountId,
      sourceDeviceId: 1,
      content: message.content,
    };
  };
  const decrypt = async (message: Awaited<ReturnType<typeof newContactWrites>>) =>
    Buffer.from(await decryptEnvelope(stores, me.address, message)).toString();
  return { db: me.db, keys, relay, ctx, clock, newContactWrites, decrypt };
}

const ids = (db: WritableDB, query: string) => all<{ key_id: number }>(db, [query, []]).map((r) => r.key_id);

describe('key upkeep when the answer to an upload is lost', () => {
  it.each(['stored, answer lost', 'stored, proxy 502'] as const)(
    'rotation (%s): keeps the keys the relay hands out, and the next run uploads them again',
    async (outcome) => {
      const { db, keys, relay, ctx, clock, newContactWrites, decrypt } = await registered();
      clock.advance(ROTATION_INTERVAL_MS);
      relay.next = outcome;
      await expect(maintainKeys(ctx, keys)).rejects.toThrow(SottoError);
      expect(relay.signedPreKey?.keyId).toBe(2); // the relay took the rotation
      const lastResort = relay.lastResort?.keyId;

      // A new contact gets the new signed prekey and last-resort Kyber key: this device reads what it writes.
      expect(await decrypt(await newContactWrites(false))).toBe('hello');
      expect(keys.rotationDue()).toBe(true); // not confirmed: for all this device knows, the relay has key 1

      clock.advance(3600 * 1000);
      const uploads = relay.uploads;
      await maintainKeys(ctx, keys);
      expect(relay.uploads).toBe(uploads + 1);
      expect(relay.signedPreKey?.keyId).toBe(2);
      expect(relay.lastResort?.keyId).toBe(lastResort);
      expect(keys.rotationDue()).toBe(false);
      clock.advance(ROTATION_GRACE_MS);
      await maintainKeys(ctx, keys);
      expect(ids(db, 'SELECT key_id FROM signed_prekeys')).toEqual([2]);
      expect(ids(db, 'SELECT key_id FROM kyber_prekeys WHERE last_resort = 1')).toEqual([lastResort]);
      expect(await decrypt(await newContactWrites(false))).toBe('hello');
    },
  );

  it('rotation answer lost before the relay stored it: the old keys stay for the grace after the retry took', async () => {
    const { db, keys, relay, ctx, clock, newContactWrites, decrypt } = await registered();
    clock.advance(ROTATION_INTERVAL_MS);
    const inFlight = await newContactWrites(false); // sent with key 1, not yet received
    relay.next = 'not stored, answer lost';
    await expect(maintainKeys(ctx, keys)).rejects.toThrow(SottoError);
    expect(relay.signedPreKey?.keyId).toBe(1);
    expect(await decrypt(await newContactWrites(false))).toBe('hello');

    // Days later (past the grace) the retry reaches the relay: key 1's grace starts only now.
    clock.advance(ROTATION_GRACE_MS + 1);
    await maintainKeys(ctx, keys);
    expect(relay.signedPreKey?.keyId).not.toBe(1);
    expect(keys.rotationDue()).toBe(false);
    expect(await decrypt(inFlight)).toBe('hello');
    expect(ids(db, 'SELECT key_id FROM signed_prekeys ORDER BY key_id')).toEqual([1, 2]);
  });
  it.each(['stored, answer lost', 'stored, proxy 502'] as const)(
    'refill (%s): keeps the one-time keys the relay hands out, and the next refill uses new ids',
    async (outcome) => {
      const { db, keys, relay, ctx, newContactWrites, decrypt } = await registered();
      relay.preKeys.splice(0, 90); // bundle fetches used them up
      relay.kyberPreKeys.splice(0, 90);
      relay.next = outcome;
      await expect(maintainKeys(ctx, keys)).rejects.toThrow(SottoError);
      expect(relay.preKeys).toHaveLength(110);

      // Every one-time key the relay holds has its private half here; a contact given one can write.
      const preKeys = new Set(ids(db, 'SELECT key_id FROM prekeys'));
      const kyberPreKeys = new Set(ids(db, 'SELECT key_id FROM kyber_prekeys WHERE last_resort = 0'));
      expect(relay.preKeys.filter((k) => !preKeys.has(k.keyId))).toEqual([]);
      expect(relay.kyberPreKeys.filter((k) => !kyberPreKeys.has(k.keyId))).toEqual([]);
      expect(await decrypt(await newContactWrites(true))).toBe('hello');

      // The relay has enough: no upload. Once used up again, the refill brings keys with ids never uploaded.
      const uploaded = new Set(relay.preKeys.map((k) => k.keyId));
      const uploads = relay.uploads;
      await maintainKeys(ctx, keys);
      expect(relay.uploads).toBe(uploads);
      relay.preKeys.splice(0, 100);
      await maintainKeys(ctx, keys);
      expect(relay.preKeys.slice(-100).filter((k) => uploaded.has(k.keyId))).toEqual([]);
    },
  );

  it('a refusal (4xx: the relay stored nothing) takes the new keys back', async () => {
    const { db, keys, relay, ctx, clock } = await registered();
    const before = {
      preKeys: ids(db, 'SELECT key_id FROM prekeys ORDER BY key_id'),
      kyber: ids(db, 'SELECT key_id FROM kyber_prekeys ORDER BY key_id'),
      signed: ids(db, 'SELECT key_id FROM signed_prekeys ORDER BY key_id'),
    };
    const used = relay.preKeys.splice(0, 90);
    relay.next = 'refused';
    await expect(maintainKeys(ctx, keys)).rejects.toMatchObject({ code: 'relay_error', status: 413 });
    relay.preKeys.unshift(...used); // only the rotation is due now
    clock.advance(ROTATION_INTERVAL_MS);
    relay.next = 'refused';
    await expect(maintainKeys(ctx, keys)).rejects.toMatchObject({ code: 'relay_error', status: 413 });
    expect(relay.signedPreKey?.keyId).toBe(1);
    expect({
      preKeys: ids(db, 'SELECT key_id FROM prekeys ORDER BY key_id'),
      kyber: ids(db, 'SELECT key_id FROM kyber_prekeys ORDER BY key_id'),
      signed: ids(db, 'SELECT key_id FROM signed_prekeys ORDER BY key_id'),
    }).toEqual(before);
    expect(all(db, sql`SELECT key_id FROM signed_prekeys WHERE replaced_at IS NOT NULL`)).toEqual([]);
    expect(keys.rotationDue()).toBe(true);
  });
});

describe('one-time private keys the relay no longer holds', () => {
  const oneTimeIds = (db: WritableDB) => ({
    preKeys: ids(db, 'SELECT key_id FROM prekeys ORDER BY key_id'),
    kyberPreKeys: ids(db, 'SELECT key_id FROM kyber_prekeys WHERE last_resort = 0 ORDER BY key_id'),
  });
  const heldByRelay = (relay: KeyRelay) => ({
    preKeys: relay.preKeys.map((k) => k.keyId).sort((a, b) => a - b),
    kyberPreKeys: relay.kyberPreKeys.map((k) => k.keyId).sort((a, b) => a - b),
  });

  it('are deleted once no envelope can use them any more: handed out without a message, or a refill never taken', async () => {
    const { db, keys, relay, ctx, clock, newContactWrites, decrypt } = await registered();
    const inFlight = await newContactWrites(true); // its one-time keys handed out; the message is on its way
    relay.preKeys.splice(0, 85); // fetched by contacts who never wrote
    relay.kyberPreKeys.splice(0, 85);
    relay.next = 'not stored, answer lost'; // the refill's keys are kept here, never on the relay
    await expect(maintainKeys(ctx, keys)).rejects.toThrow(SottoError);
    await maintainKeys(ctx, keys); // the next refill takes
    expect(oneTimeIds(db).preKeys).toHaveLength(300);

    // While an envelope sealed with them could still arrive, they stay.
    clock.advance(ONE_TIME_KEY_GRACE_MS - 3600 * 1000);
    await maintainKeys(ctx, keys);
    expect(oneTimeIds(db).preKeys).toHaveLength(300);
    expect(await decrypt(inFlight)).toBe('hello');

    // Then only the keys the relay holds are left, and a contact given one can still write.
    clock.advance(3600 * 1000);
    await maintainKeys(ctx, keys);
    expect(oneTimeIds(db)).toEqual(heldByRelay(relay));
    expect(relay.preKeys).toHaveLength(114);
    expect(await decrypt(await newContactWrites(true))).toBe('hello');
  });

  it('a key seen held again starts over; a relay that does not list ids leaves every key', async () => {
    const { db, keys, relay, ctx, clock } = await registered();
    const before = oneTimeIds(db);
    const away = relay.preKeys.splice(0, 10); // an upload still on its way when the relay counted
    await maintainKeys(ctx, keys);
    relay.preKeys.unshift(...away);
    clock.advance(ONE_TIME_KEY_GRACE_MS / 2);
    await maintainKeys(ctx, keys);
    relay.preKeys.splice(0, 10);
    clock.advance(ONE_TIME_KEY_GRACE_MS / 2 + 1);
    await maintainKeys(ctx, keys);
    expect(oneTimeIds(db)).toEqual(before); // missing for half the grace, twice: kept

    const older = await registered();
    const all = oneTimeIds(older.db);
    older.relay.listsIds = false;
    older.relay.preKeys.splice(0, 50);
    await maintainKeys(older.ctx, older.keys);
    older.clock.advance(2 * ONE_TIME_KEY_GRACE_MS);
    await maintainKeys(older.ctx, older.keys);
    expect(oneTimeIds(older.db)).toEqual(all);
  });
});
