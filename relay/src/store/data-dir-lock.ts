import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The lock file in an embedded data folder: the holder's pid. */
export const LOCK_FILE = 'sotto-relay.pid';

/** Another live process holds the embedded data folder. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  readonly code = 'SOTTO_DATA_DIR_IN_USE';

  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dir} is in use by process ${pid} (a running relay, or the admin CLI): ` +
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

/**
 * Takes the embedded data folder for this process. PGlite, unlike a Postgres server, takes no lock of its own:
 * two processes on one folder (a second relay on another port, the admin CLI while the relay runs) each keep
 * their own cache of the same files and overwrite each other's pages. A lock left by a process that is gone
 * (a crash, a killed container whose restarted relay has the same pid) is taken over. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  // Written whole under a private name, then linked into place: the lock file never exists half-written.
  const mine = `${path}.${process.pid}`;
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(mine, path);
        return async () => {
          await unlink(path).catch(() => undefined);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw err;
        }
      }
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (holder !== process.pid && alive(holder)) {
        throw new DataDirInUseError(dir, holder);
      }
      // Left behind by a process that is gone: remove it and try again.
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await unlink(mine).catch(() => undefined);
  }
  throw new Error(`could not take ${path}: it keeps reappearing`);
}
