import { link, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file in an embedded data folder: the holder's pid and host. */
export const LOCK_FILE = 'sotto-relay.pid';
/** The holder touches its lock this often, so a process on another host (container) can tell it is alive. */
const HEARTBEAT_MS = 10_000;
/** A lock from another host untouched for this long is left by a process that is gone. */
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

interface Holder {
  pid: number;
  host: string;
}

/** Another live process holds the embedded data folder. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  readonly code = 'SOTTO_DATA_DIR_IN_USE';

  constructor(
    readonly dir: string,
    readonly pid: number,
    host?: string,
  ) {
    const where =
      host === undefined ? '' : ` on host ${host} (taken over ${STALE_AFTER_MS / 1000} s after its last heartbeat)`;
    super(
      `the embedded database in ${dir} is in use by process ${pid}${where} (a running relay, or the admin CLI): ` +
        `stop it first, or give this relay its own SOTTO_DATA_DIR. If no such process is running, delete ${join(dir, LOCK_FILE)}`,
    );
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** "PID HOST"; a lock written before hosts were recorded holds only the pid (taken as this host's). */
function parse(text: string): Holder {
  const [pid = '', host = hostname()] = text.trim().split(/\s+/);
  return { pid: Number.parseInt(pid, 10), host };
}

async function readHolder(path: string): Promise<(Holder & { touchedAt: number }) | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { ...parse(text), touchedAt: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw err;
  }
}

/**
 * Whether the holder may still be running. On this host its pid answers (our own pid is an earlier run of
 * ours: a restarted container's relay gets the same pid). Another host's pid cannot be asked (another
 * container sharing the volume), so its heartbeat decides.
 */
function live(holder: Holder & { touchedAt: number }): boolean {
  if (holder.host !== hostname()) {
    return Date.now() - holder.touchedAt < STALE_AFTER_MS;
  }
  return holder.pid !== process.pid && alive(holder.pid);
}

const isMine = (holder: Holder | undefined) => holder?.pid === process.pid && holder.host === hostname();

/**
 * Takes the embedded data folder for this process. PGlite, unlike a Postgres server, takes no lock of its own:
 * two processes on one folder (a second relay on another port, the admin CLI while the relay runs, two
 * containers on one volume) each keep their own cache of the same files and overwrite each other's pages.
 * A lock left by a process that is gone (a crash, a killed container) is taken over, by one process at a
 * time. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  // Written whole under a private name, then linked into place: the lock file never exists half-written.
  const mine = `${path}.${hostname()}.${process.pid}`;
  await writeFile(mine, `${process.pid} ${hostname()}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if ((await tryLink(mine, path)) || (await takeOverStale(dir, path, mine))) {
        return holdLock(path);
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  } finally {
    await unlink(mine).catch(() => undefined);
  }
  throw new Error(`could not take ${path}: it keeps changing hands; try again`);
}

async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return false;
    }
    throw err;
  }
}

/**
 * Replaces a lock whose holder is gone. Throws DataDirInUseError if it is alive; false if another process is
 * taking it over right now (try again). The check and the replacement happen under `path.takeover`, so two
 * processes that both saw the same dead holder cannot each remove the other's new lock.
 */
async function takeOverStale(dir: string, path: string, mine: string): Promise<boolean> {
  const seen = await readHolder(path);
  if (seen && live(seen)) {
    throw new DataDirInUseError(dir, seen.pid, seen.host === hostname() ? undefined : seen.host);
  }
  const guard = `${path}.takeover`;
  if (!(await tryLink(mine, guard))) {
    const taker = await readHolder(guard);
    if (taker && !live(taker)) {
      await unlink(guard).catch(() => undefined); // a taker that died half-way
    }
    return false;
  }
  try {
    const holder = await readHolder(path);
    if (holder && live(holder)) {
      return false; // taken meanwhile: the next attempt reports it
    }
    if (holder) {
      await unlink(path);
    }
    return await tryLink(mine, path);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Keeps the lock's heartbeat while held; the release removes the lock only if it is still ours. */
function holdLock(path: string): () => Promise<void> {
  const heartbeat = setInterval(() => {
    const now = new Date();
    void utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    if (isMine(await readHolder(path).catch(() => undefined))) {
      await unlink(path).catch(() => undefined);
    }
  };
}
