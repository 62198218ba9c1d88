import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SOCKET_RECORD, startEmbeddedPostgres } from './embedded.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const parent = mkdtempSync(join(tmpdir(), 'sotto-embedded-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

/** Local addresses (hex, as /proc shows them) of the TCP sockets this process listens on. */
function tcpListeners(): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) {
        inodes.add(inode);
      }
    } catch {
      // closed meanwhile
    }
  }
  const listening: string[] = [];
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) {
        listening.push(cols[1] ?? '');
      }
    }
  }
  return listening.sort();
}

/** Starts the embedded database on `dataDir` in another process and SIGKILLs it: returns the socket it served on. */
async function crashHolder(dataDir: string): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions', 'source', 'relay/test/support/embedded-holder.ts', dataDir],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const { value: path } = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  child.kill('SIGKILL');
  await exited;
  if (typeof path !== 'string') {
    throw new Error('the holder process printed no socket path');
  }
  return path;
}

// PGlite asks for no password, and writes its files readable and writable by everyone: the folder's mode and
// a socket only this user can reach are what keep other local users from the accounts and the signing key.
describe('the embedded database', () => {
  const dataDir = join(parent, 'data');

  it('is created private, served on a private Unix socket and on no TCP port', { timeout: 60_000 }, async () => {
    const before = tcpListeners();
    const db = await startEmbeddedPostgres(dataDir);
    try {
      expect(mode(dataDir)).toBe(0o700);
      expect(db.warning).toBeUndefined();
      expect(tcpListeners()).toEqual(before);
      expect(statSync(db.path).isSocket()).toBe(true);
      expect(mode(dirname(db.path))).toBe(0o700);
      const sql = db.connect();
      expect(await sql`SELECT 41 + 1 AS answer`).toEqual([{ answer: 42 }]);
      await sql.end();
    } finally {
      await db.stop();
    }
    expect(existsSync(dirname(db.path))).toBe(false);
  });

  it('narrows a folder an earlier version left open to other users', { timeout: 60_000 }, async () => {
    chmodSync(dataDir, 0o755);
    const db = await startEmbeddedPostgres(dataDir);
    await db.stop();
    expect(mode(dataDir)).toBe(0o700);
    expect(db.warning).toBeUndefined();
  });

  it('removes the socket folder a crashed relay on this data folder left behind, and nothing else', {
    timeout: 60_000,
  }, async () => {
    const left = dirname(await crashHolder(dataDir));
    expect(existsSync(left)).toBe(true);
    const anotherRelays = mkdtempSync(join(tmpdir(), 'sotto-pg-'));
    try {
      const db = await startEmbeddedPostgres(dataDir);
      try {
        expect(existsSync(left)).toBe(false);
        expect(existsSync(anotherRelays)).toBe(true);
        expect(readFileSync(join(dataDir, SOCKET_RECORD), 'utf8')).toBe(`${hostname()}\n${dirname(db.path)}\n`);
      } finally {
        await db.stop();
      }
      expect(existsSync(join(dataDir, SOCKET_RECORD))).toBe(false);
    } finally {
      rmSync(anotherRelays, { recursive: true, force: true });
    }
  });

  it('leaves alone what a record names that is not a socket folder of ours', { timeout: 60_000 }, async () => {
    const notASocketFolder = join(parent, 'keep');
    mkdirSync(notASocketFolder);
    const target = mkdtempSync(join(tmpdir(), 'sotto-keep-'));
    const link = join(parent, 'sotto-pg-AbC123');
    symlinkSync(target, link);
    try {
      for (const named of [notASocketFolder, link, parent]) {
        writeFileSync(join(dataDir, SOCKET_RECORD), `${hostname()}\n${named}\n`);
        const db = await startEmbeddedPostgres(dataDir);
        await db.stop();
        expect(existsSync(named)).toBe(true);
      }
      expect(existsSync(target)).toBe(true);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)(
    'warns when an open folder belongs to someone else',
    { timeout: 60_000 },
    async () => {
      chownSync(dataDir, 65534, 65534);
      chmodSync(dataDir, 0o755);
      const db = await startEmbeddedPostgres(dataDir);
      await db.stop();
      expect(db.warning).toMatch(/can be read by other users.*chmod 700/);
      expect(mode(dataDir)).toBe(0o755);
    },
  );

  it("runs concurrent statements and transactions from a cold pool of the relay's size", {
    timeout: 60_000,
  }, async () => {
    // PGlite is one session behind pglite-socket: with 4 pooled connections (as before), the messages of
    // connections starting up and running interleaved there, and every such burst had a statement fail
    // with 'portal "" does not exist' (as a rejection inside postgres.js nobody handled).
    const db = await startEmbeddedPostgres('memory://');
    const sql = db.connect();
    const failures: string[] = [];
    let wrong = 0;
    try {
      await sql`CREATE TABLE probe (id int PRIMARY KEY, v text)`;
      await Promise.all(
        Array.from({ length: 3000 }, async (_, i) => {
          try {
            if (i % 3 === 0) {
              await sql.begin(async (tx) => {
                await tx`INSERT INTO probe (id, v) VALUES (${i}, ${`v${i}`})`;
                const [row] = await tx<{ v: string }[]>`SELECT v FROM probe WHERE id = ${i}`;
                wrong += row?.v === `v${i}` ? 0 : 1;
              });
            } else {
              const rows = await sql<{ v: number }[]>`SELECT ${i}::int AS v FROM generate_series(1, ${(i % 5) + 1})`;
              wrong += rows.length === (i % 5) + 1 && rows.every((r) => r.v === i) ? 0 : 1;
            }
          } catch (error) {
            failures.push((error as Error).message);
          }
        }),
      );
    } finally {
      await sql.end();
      await db.stop();
    }
    expect(failures).toEqual([]);
    expect(wrong).toBe(0);
  });
});
