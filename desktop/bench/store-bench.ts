import { randomBytes, randomUUID } from 'node:crypto';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import type { PreKeyBundleResponse } from '@sotto/shared-types';
import { KeyManager } from '../src/core/protocol/key-manager.js';
import { createProtocolStores } from '../src/core/protocol/protocol-stores.js';
import { decryptEnvelope, encryptForDevice, startSession } from '../src/core/protocol/session-cipher.js';
import { listConversations } from '../src/core/store/conversation-queries.js';
import { DatabaseLock, openDatabase } from '../src/core/store/database.js';
import { historyPage, indexNewMessages, searchMessages } from '../src/core/store/message-queries.js';
import { saveProfile } from '../src/core/store/profile-queries.js';
import type { WritableDB } from '../src/core/store/sql.js';

function newProfileDb(path: string, accountId: string): WritableDB {
  const db = openDatabase(path, { key: randomBytes(32) });
  saveProfile(db, {
    accountId,
    username: accountId.slice(0, 8),
    deviceId: 1,
    relayUrl: 'bench',
    registrationId: 1 + Math.floor(Math.random() * 16000),
    identityKeyPair: IdentityKeyPair.generate().serialize(),
    deviceSecret: randomBytes(32).toString('base64url'),
    createdAt: Date.now(),
  });
  return db;
}

/** PQXDH session setups per second, both ends, with our encrypted SQLite stores and one transaction per side. */
export async function sessionSetupsPerSecond(dir: string, count: number): Promise<number> {
  const bobId = randomUUID();
  const aliceId = randomUUID();
  const bobDb = newProfileDb(`${dir}/bob-sessions.db`, bobId);
  const aliceDb = newProfileDb(`${dir}/alice-sessions.db`, aliceId);
  const bobStores = createProtocolStores(bobDb, () => undefined, Date.now);
  const aliceStores = createProtocolStores(aliceDb, () => undefined, Date.now);
  const upload = await new KeyManager(bobDb, bobStores, Date.now).generateInitialKeys();
  const bobLock = new DatabaseLock(bobDb);
  const aliceLock = new DatabaseLock(aliceDb);
  const payload = new Uint8Array(256) as Uint8Array<ArrayBuffer>;
  const n = Math.min(count, upload.preKeys?.length ?? 0);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const peer = bobId; // a fresh sender each time: a new session on both ends
    const bundle: PreKeyBundleResponse = {
      accountId: peer,
      username: 'bob',
      identityKey: upload.identityKey ?? '',
      devices: [
        {
          deviceId: 1,
          registrationId: 1,
          signedPreKey: upload.signedPreKey ?? { keyId: 0, publicKey: '', signature: '' },
          kyberPreKey: upload.kyberPreKeys?.[i] ??
            upload.lastResortKyberPreKey ?? { keyId: 0, publicKey: '', signature: '' },
          kyberPreKeyIsLastResort: false,
          ...(upload.preKeys?.[i] ? { preKey: upload.preKeys[i] } : {}),
        },
      ],
    };
    const sender = { accountId: randomUUID(), deviceId: 1 };
    const message = await aliceLock.transaction(async () => {
      await startSession(aliceStores, sender, bundle, bundle.devices[0] as PreKeyBundleResponse['devices'][0]);
      return encryptForDevice(aliceStores, sender, peer, 1, payload);
    });
    await bobLock.transaction(() =>
      decryptEnvelope(
        bobStores,
        { accountId: bobId, deviceId: 1 },
        {
          type: message.type,
          sourceAccountId: sender.accountId,
          sourceDeviceId: 1,
          content: message.content,
        },
      ),
    );
  }
  const rate = n / ((performance.now() - start) / 1000);
  bobDb.close();
  aliceDb.close();
  return rate;
}

const WORDS = Array.from({ length: 4000 }, (_, i) => `w${i.toString(36)}x`);
const NEEDLE = 'zyzzyva';

/** Fills an encrypted profile database with `rows` messages (0.1 % contain the needle word). */
export function fillMessages(path: string, key: Buffer, rows: number): void {
  const db = openDatabase(path, { key });
  const now = Date.now() - rows * 1000;
  db.prepare(`INSERT INTO conversations (id, username, created_at, updated_at) VALUES ('peer', 'peer', ?, ?)`).run(
    now,
    now,
  );
  const insert = db.prepare(
    `INSERT INTO messages (id, conversation_id, kind, from_me, author_account_id, body, sent_at, received_at, status, unread)
     VALUES (?, 'peer', 'text', ?, 'peer', ?, ?, ?, 'read', 0)`,
  );
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const words = Array.from({ length: 8 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]);
      if (i % 1000 === 0) {
        words[3] = NEEDLE;
      }
      insert.run(randomUUID(), i % 2, words.join(' '), now + i * 1000, now + i * 1000);
    }
    // As the app does before each COMMIT.
    indexNewMessages(db);
  });
  for (let i = 0; i < rows; i += 10_000) {
    batch(i, Math.min(rows, i + 10_000));
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** FTS search newest first, LIMIT 50: p95 in ms. */
export function searchP95(path: string, key: Buffer, runs: number): { p95: number; hits: number } {
  const db = openDatabase(path, { key });
  const times: number[] = [];
  let hits = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    hits = searchMessages(db, NEEDLE, 50).length;
    times.push(performance.now() - start);
  }
  db.close();
  return { p95: percentile(times, 95), hits };
}

/** Open the profile database with its raw key and render the conversation list plus the first page. */
export function coldOpenMs(path: string, key: Buffer): number {
  const start = performance.now();
  const db = openDatabase(path, { key });
  const conversations = listConversations(db);
  const page = historyPage(db, conversations[0]?.id ?? 'peer', { limit: 50 });
  const elapsed = performance.now() - start;
  if (page.messages.length === 0) {
    throw new Error('cold open found no messages');
  }
  db.close();
  return elapsed;
}
