import { randomUUID } from 'node:crypto';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import type { PreKeyBundleResponse } from '@sotto/shared-types';
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { SottoError } from '../errors.js';
import { migrate } from '../store/migrate.js';
import { saveProfile } from '../store/profile-queries.js';
import { asWritable, one, run, sql, type WritableDB } from '../store/sql.js';
import { KeyManager } from './key-manager.js';
import { createProtocolStores, inStoreBatch, type ProtocolStores } from './protocol-stores.js';
import { decryptEnvelope, encryptForDevice, startSession } from './session-cipher.js';

function party(username: string) {
  const db = asWritable(new Database(':memory:'));
  migrate(db);
  const accountId = randomUUID();
  saveProfile(db, {
    accountId,
    username,
    deviceId: 1,
    relayUrl: 'memory://',
    registrationId: 7,
    identityKeyPair: IdentityKeyPair.generate().serialize(),
    deviceSecret: null,
    createdAt: 0,
  });
  const stores = createProtocolStores(db, () => undefined, Date.now);
  return { db, stores, address: { accountId, deviceId: 1 } };
}

async function pair() {
  const alice = party('alice');
  const bob = party('bob');
  const upload = await new KeyManager(bob.db, bob.stores, Date.now).generateInitialKeys();
  const device = {
    deviceId: 1,
    registrationId: 7,
    signedPreKey: upload.signedPreKey ?? { keyId: 0, publicKey: '', signature: '' },
    kyberPreKey: upload.kyberPreKeys?.[0] ?? { keyId: 0, publicKey: '', signature: '' },
    kyberPreKeyIsLastResort: false,
    ...(upload.preKeys?.[0] ? { preKey: upload.preKeys[0] } : {}),
  };
  const bundle: PreKeyBundleResponse = {
    accountId: bob.address.accountId,
    username: 'bob',
    identityKey: upload.identityKey ?? '',
    devices: [device],
  };
  await startSession(alice.stores, alice.address, bundle, device);
  const encrypt = async (text: string) => {
    const message = await encryptForDevice(
      alice.stores,
      alice.address,
      bob.address.accountId,
      1,
      new Uint8Array(Buffer.from(text)) as Uint8Array<ArrayBuffer>,
    );
    return {
      type: message.type,
      sourceAccountId: alice.address.accountId,
      sourceDeviceId: 1,
      content: message.content,
    };
  };
  const decrypt = async (input: Awaited<ReturnType<typeof encrypt>> | undefined) => {
    if (!input) {
      throw new Error('no such message');
    }
    return Buffer.from(await decryptEnvelope(bob.stores, bob.address, input)).toString();
  };
  // One after the other: concurrent encryptions would read the same session state.
  const encryptAll = async (texts: string[]) => {
    const out: Awaited<ReturnType<typeof encrypt>>[] = [];
    for (const text of texts) {
      out.push(await encrypt(text));
    }
    return out;
  };
  return { bob, encryptAll, decrypt };
}

const storedSession = (db: WritableDB) => one<{ record: Uint8Array }>(db, sql`SELECT record FROM sessions`)?.record;

async function inBatch<T>(db: WritableDB, stores: ProtocolStores, fn: () => Promise<T>): Promise<T> {
  db.exec('BEGIN');
  try {
    const value = await inStoreBatch(stores, fn);
    db.exec('COMMIT');
    return value;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

describe('receive batch: session writes deferred to the end of the transaction', () => {
  it('writes the advanced session once, at the end, and it decrypts what follows', async () => {
    const { bob, encryptAll, decrypt } = await pair();
    const messages = await encryptAll(['one', 'two', 'three']);
    const texts = await inBatch(bob.db, bob.stores, async () => {
      const out = [await decrypt(messages[0]), await decrypt(messages[1])];
      expect(storedSession(bob.db)).toBeUndefined(); // still in memory inside the batch
      return out;
    });
    expect(texts).toEqual(['one', 'two']);
    expect(storedSession(bob.db)).toBeDefined();
    expect(await decrypt(messages[2])).toBe('three'); // outside a batch: straight from the database
  });

  it('a rolled-back envelope (SAVEPOINT) leaves the session as before it: the envelope decrypts again later', async () => {
    const { bob, encryptAll, decrypt } = await pair();
    const [first, second] = await encryptAll(['first', 'second']);
    await inBatch(bob.db, bob.stores, async () => {
      expect(await decrypt(first)).toBe('first');
      const snapshot = bob.stores.session.snapshot();
      run(bob.db, sql`SAVEPOINT envelope`);
      expect(await decrypt(second)).toBe('second');
      // e.g. storing its content failed: undo this envelope only
      run(bob.db, sql`ROLLBACK TO envelope`);
      run(bob.db, sql`RELEASE envelope`);
      bob.stores.session.restore(snapshot);
    });
    expect(await decrypt(second)).toBe('second');
    await expect(decrypt(first)).rejects.toSatisfy((error) => SottoError.is(error, 'duplicate_message'));
  });

  it('a rolled-back batch writes nothing: its envelopes decrypt again from the old state', async () => {
    const { bob, encryptAll, decrypt } = await pair();
    const [first, second] = await encryptAll(['first', 'second']);
    await expect(
      inBatch(bob.db, bob.stores, async () => {
        await decrypt(first);
        await decrypt(second);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(storedSession(bob.db)).toBeUndefined();
    expect(await decrypt(first)).toBe('first');
    expect(await decrypt(second)).toBe('second');
  });
});
