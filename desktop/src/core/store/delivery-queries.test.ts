import type { Content, OutgoingMessage } from '@sotto/shared-types';
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { dueRun, enqueueOutbox, removeOutbox, setPrepared } from './delivery-queries.js';
import { migrate } from './migrate.js';
import { asWritable, one, sql, type WritableDB } from './sql.js';

const fresh = (): WritableDB => {
  const db = asWritable(new Database(':memory:'));
  migrate(db);
  return db;
};
const text = (body: string): Content => ({ kind: 'text', id: body, body, sentAt: 1, senderUsername: 'alice' });
const ciphertext = (deviceId: number, bytes: number[]): OutgoingMessage => ({
  destinationDeviceId: deviceId,
  destinationRegistrationId: 100 + deviceId,
  type: deviceId === 1 ? 'whisper' : 'prekey',
  content: Buffer.from(bytes).toString('base64'),
});
const count = (db: WritableDB, table: 'outbox' | 'outbox_ciphertexts') =>
  one<{ n: number }>(db, [`SELECT count(*) AS n FROM ${table}`, []])?.n;

describe('outbox ciphertexts', () => {
  it('come back exactly as stored, per item and device, and go with their item', () => {
    const db = fresh();
    for (const body of ['one', 'two', 'three']) {
      enqueueOutbox(db, { recipientAccountId: 'bob', messageId: body, contentJson: JSON.stringify(text(body)) }, 0);
    }
    enqueueOutbox(db, { recipientAccountId: 'carol', messageId: 'c', contentJson: JSON.stringify(text('c')) }, 0);
    const [first, two, three] = dueRun(db, 'bob', 0, 10);
    expect([first?.prepared, two?.prepared, three?.prepared]).toEqual([null, null, null]);

    const forTwo = [ciphertext(2, [9, 8, 7]), ciphertext(1, [0, 255, 1])];
    setPrepared(db, two?.seq ?? 0, forTwo);
    setPrepared(db, first?.seq ?? 0, [ciphertext(1, [42])]);
    const run = dueRun(db, 'bob', 0, 10);
    expect(run.map((i) => i.content)).toEqual([text('one'), text('two'), text('three')]);
    expect(run[0]?.prepared).toEqual([ciphertext(1, [42])]);
    expect(run[1]?.prepared).toEqual([ciphertext(1, [0, 255, 1]), ciphertext(2, [9, 8, 7])]); // by device
    expect(run[2]?.prepared).toBeNull();
    // A run after the first item starts after it, with its ciphertexts.
    expect(dueRun(db, 'bob', 0, 1, first?.seq).map((i) => i.prepared)).toEqual([run[1]?.prepared]);
    expect(dueRun(db, 'carol', 0, 10)[0]?.prepared).toBeNull();

    setPrepared(db, two?.seq ?? 0, null); // 409/410: encrypt again
    expect(dueRun(db, 'bob', 0, 10)[1]?.prepared).toBeNull();
    removeOutbox(db, first?.seq ?? 0);
    expect(count(db, 'outbox')).toBe(3);
    expect(count(db, 'outbox_ciphertexts')).toBe(0);
  });

  it('leave the queued item untouched when stored (nothing grows in place)', () => {
    const db = fresh();
    enqueueOutbox(db, { recipientAccountId: 'bob', messageId: 'm', contentJson: JSON.stringify(text('hello')) }, 0);
    const before = one(db, sql`SELECT * FROM outbox`);
    setPrepared(db, dueRun(db, 'bob', 0, 1)[0]?.seq ?? 0, [ciphertext(1, [1, 2, 3])]);
    expect(one(db, sql`SELECT * FROM outbox`)).toEqual(before);
  });
});
