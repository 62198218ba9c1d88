import { randomUUID } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { lockDataDir } from './data-dir-lock.js';
import { createSql, type Sql } from './db.js';

/**
 * PGlite is one database session: pglite-socket serves several connections by passing their protocol messages
 * to it one at a time, so the Parse/Bind/Execute of two connections interleave and an Execute finds the
 * unnamed portal replaced or gone ("portal "" does not exist"; met inside postgres.js's own queries, the
 * rejection is unhandled and ends the process). One connection keeps them apart: postgres.js pipelines
 * queries on it, and PGlite runs one at a time anyway. (The socket takes one more, for a reconnect.)
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * In the data folder, while a relay holds it: the host and the socket folder it serves on, so that after a
 * crash (SIGKILL, power loss) the next relay on this folder removes the folder the crashed one left behind.
 */
export const SOCKET_RECORD = 'sotto-relay.socket';
const SOCKET_DIR_PREFIX = 'sotto-pg-';

export interface EmbeddedPostgres {
  /** The socket it is served on: a Unix socket in a folder only this user can enter (a named pipe on Windows). */
  path: string;
  /** The relay's connection pool to it: EMBEDDED_POOL_SIZE connections through `path`. */
  connect(): Sql;
  /** Set when the data folder is open to other users and could not be made private. */
  warning?: string;
  stop(): Promise<void>;
}

/**
 * The data folder holds the whole database, the relay's token signing key included: it is made private to
 * this user (created 0700, or narrowed to 0700 when it is ours). PGlite writes its files world-readable, so
 * the folder's mode is what keeps other local users out. Returns a warning when it stays open.
 */
async function makePrivate(dataDir: string): Promise<string | undefined> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') {
    return undefined; // no mode bits there: access follows the folder's ACL (a user's own folders are private)
  }
  const info = await stat(dataDir);
  if ((info.mode & 0o077) === 0) {
    return undefined;
  }
  if (info.uid === process.getuid?.()) {
    await chmod(dataDir, 0o700);
    return undefined;
  }
  return `the data folder ${dataDir} can be read by other users and is not ours to change: make it private (chmod 700, as its owner)`;
}

/**
 * Where to serve the embedded database. On Windows a named pipe of a random name (by default only its
 * creator, administrators and the system may write to one; it goes with the process); elsewhere a Unix
 * socket in a folder mkdtemp creates 0700, under the temporary folder since a socket's path must stay under
 * 104 bytes.
 */
async function privateSocket(): Promise<{ path: string; socketDir?: string }> {
  if (process.platform === 'win32') {
    return { path: `\\\\.\\pipe\\${SOCKET_DIR_PREFIX}${randomUUID()}` };
  }
  const socketDir = await mkdtemp(join(tmpdir(), SOCKET_DIR_PREFIX));
  return { path: join(socketDir, '.s.PGSQL.5432'), socketDir };
}

/**
 * Removes the socket folder that a relay which held `dataDir` and crashed left in the temporary folder, as
 * its record names it (call while holding the folder's lock). Only a folder of this host, of the name
 * mkdtemp gave it, and this user's own (not a link) is removed.
 */
async function removeLeftSocketDir(dataDir: string): Promise<void> {
  const record = join(dataDir, SOCKET_RECORD);
  const [host, socketDir] = (await readFile(record, 'utf8').catch(() => '')).split('\n');
  if (
    host === hostname() &&
    socketDir &&
    new RegExp(`^${SOCKET_DIR_PREFIX}[A-Za-z0-9]{6}$`).test(basename(socketDir))
  ) {
    const info = await lstat(socketDir).catch(() => undefined);
    if (info?.isDirectory() && info.uid === process.getuid?.()) {
      await rm(socketDir, { recursive: true, force: true });
    }
  }
  await rm(record, { force: true });
}

/**
 * The embedded default: PGlite in `dataDir`, served through pglite-socket on a private socket (see
 * privateSocket), so the relay talks to it with the same `postgres` client and SQL as to a real server.
 * PGlite asks for no password: on a TCP port of 127.0.0.1 every local user could open the database.
 * `dataDir` of `memory://` keeps everything in memory (tests). A folder is locked to this process until `stop`
 * (see lockDataDir).
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const durable = !dataDir.startsWith('memory://');
  let unlock = async () => {};
  let warning: string | undefined;
  if (durable) {
    warning = await makePrivate(dataDir);
    unlock = await lockDataDir(dataDir);
  }
  let socketDir: string | undefined;
  const release = async () => {
    if (socketDir) {
      await rm(socketDir, { recursive: true, force: true });
    }
    if (durable) {
      await rm(join(dataDir, SOCKET_RECORD), { force: true });
    }
    await unlock();
  };
  try {
    if (durable) {
      await removeLeftSocketDir(dataDir);
    }
    const socket = await privateSocket();
    socketDir = socket.socketDir;
    if (durable && socketDir) {
      await writeFile(join(dataDir, SOCKET_RECORD), `${hostname()}\n${socketDir}\n`, { mode: 0o600 });
    }
    const { path } = socket;
    const db = await PGlite.create(dataDir);
    const server = new PGLiteSocketServer({ db, path, maxConnections: EMBEDDED_POOL_SIZE + 1 });
    await server.start();
    return {
      path,
      connect: () =>
        createSql('postgres://postgres@localhost/postgres?sslmode=disable', { max: EMBEDDED_POOL_SIZE, path }),
      ...(warning ? { warning } : {}),
      async stop() {
        await server.stop();
        await db.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
