import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SottoError } from '../../src/core/errors.js';
import { DB_FILE, Profile } from '../../src/core/profile.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { openDatabase } from '../../src/core/store/database.js';
import { tempDir, until } from './support/helpers.js';
import { dumpDatabase, type RelayProcess, startRelay } from './support/relay-process.js';

// A unique canary travels in a conversation; afterwards its bytes must appear in no relay table, no
// Redis traffic, no relay log, and no client file (database, WAL, SHM) — but the clients can read it.
let relay: RelayProcess;
let monitor: ChildProcess;
let redisTraffic = '';
const home = tempDir('sotto-canary-');

beforeAll(async () => {
  monitor = spawn('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  monitor.stdout?.on('data', (chunk: Buffer) => {
    redisTraffic += chunk.toString('latin1');
  });
  relay = await startRelay();
});

afterAll(async () => {
  monitor?.kill('SIGTERM');
  await relay?.stop();
  home.remove();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('canary', () => {
  it('never leaves the clients in readable form, and a wrong key opens nothing', { timeout: 60_000 }, async () => {
    const canary = `CANARY-${randomBytes(12).toString('hex')}`;
    const suffix = randomBytes(3).toString('hex');
    const users = await Promise.all(
      ['alice', 'bob'].map(async (name) => {
        const dir = join(home.path, name);
        const secrets = new MemorySecretStore();
        const profile = new Profile(dir, { secretStore: secrets });
        const { messenger } = await profile.registerMessenger({ relayUrl: relay.url, username: `${name}_${suffix}` });
        return { dir, profile, messenger, secrets };
      }),
    );
    const [alice, bob] = users as [(typeof users)[0], (typeof users)[0]];
    await alice.messenger.connect();
    await bob.messenger.connect();
    const conv = await alice.messenger.startConversation(`bob_${suffix}`);
    await alice.messenger.sendText(conv.id, `first ${canary} message`);
    const aliceId = alice.messenger.profile().accountId;
    await until(() => bob.messenger.search(canary).length === 1, 15_000, 'bob receives the canary');
    await bob.messenger.sendText(aliceId, `reply with ${canary} inside`);
    await until(() => alice.messenger.search(canary).length === 2, 15_000, 'alice receives the reply');
    await bob.messenger.markRead(aliceId);
    await until(() => alice.messenger.history(conv.id).messages[0]?.status === 'read', 15_000, 'read receipt');

    const needle = Buffer.from(canary);
    const leaks: string[] = [];
    const check = (what: string, data: Buffer) => {
      if (data.includes(needle)) {
        leaks.push(what);
      }
    };
    // Client files while the databases are open (WAL and SHM present)…
    for (const user of users) {
      expect(existsSync(join(user.dir, `${DB_FILE}-wal`))).toBe(true);
      for (const file of filesUnder(user.dir)) {
        check(file, readFileSync(file));
      }
    }
    await alice.messenger.close();
    await bob.messenger.close();
    // …and after closing.
    for (const user of users) {
      for (const file of filesUnder(user.dir)) {
        check(file, readFileSync(file));
      }
    }
    check('relay database', dumpDatabase(relay.databaseUrl ?? ''));
    check('relay logs', Buffer.from(relay.logs()));
    // The logs really were collected, past start-up: the requests of the conversation are in them.
    expect(relay.logs()).toMatch(/"route":"\/v1\/keys[^\n]*"msg":"request"/);
    check('redis traffic', Buffer.from(redisTraffic, 'latin1'));
    expect(redisTraffic.length).toBeGreaterThan(0); // MONITOR really saw the relay's traffic
    expect(leaks).toEqual([]);

    // The key is needed: a wrong one fails clearly and changes nothing.
    const dbPath = join(alice.dir, DB_FILE);
    const before = readFileSync(dbPath);
    let error: unknown;
    try {
      openDatabase(dbPath, { key: randomBytes(32) });
    } catch (caught) {
      error = caught;
    }
    expect(SottoError.is(error, 'wrong_key')).toBe(true);
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(before.subarray(0, 15).toString()).not.toBe('SQLite format 3');
    // The right key still reads the canary back.
    const reopened = await alice.profile.openMessenger();
    expect(reopened.search(canary)).toHaveLength(2);
    await reopened.close();
  });
});
