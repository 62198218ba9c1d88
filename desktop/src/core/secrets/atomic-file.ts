import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Writes via a temporary file + fsync + rename, owner-only permissions: a crash leaves the old or the new file. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
