import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Env } from '../env.js';

/** Blob ids are base64url (the path schema checks this before any id reaches the file system). */
const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export class BlobOverflowError extends Error {
  constructor() {
    super('more bytes than announced');
    this.name = 'BlobOverflowError';
  }
}

/** Where blobs go: BLOB_DIR, else `${SOTTO_DATA_DIR}/blobs`; an in-memory relay gets a private temp dir. */
export async function resolveBlobDir(env: Env): Promise<{ dir: string; temporary: boolean }> {
  if (env.BLOB_DIR) {
    return { dir: env.BLOB_DIR, temporary: false };
  }
  if (env.SOTTO_DATA_DIR.startsWith('memory://')) {
    return { dir: await mkdtemp(join(tmpdir(), 'sotto-blobs-')), temporary: true };
  }
  return { dir: join(env.SOTTO_DATA_DIR, 'blobs'), temporary: false };
}

/**
 * Encrypted blobs as plain files named by id in one directory (a volume shared by every instance).
 * Bytes are appended at an explicit offset straight from the request stream, one chunk at a time, so an
 * upload never sits whole in memory; what reached the disk before a dropped connection stays there.
 */
export class BlobStore {
  /** Uploads being written by this process: HEAD and a resuming PATCH wait for a dropped one to settle. */
  private readonly writing = new Map<string, Promise<unknown>>();

  private constructor(
    readonly dir: string,
    private readonly temporary: boolean,
  ) {}

  static async open(env: Env): Promise<BlobStore> {
    const { dir, temporary } = await resolveBlobDir(env);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new BlobStore(dir, temporary);
  }

  path(id: string): string {
    if (!ID_PATTERN.test(id)) {
      throw new Error('invalid blob id');
    }
    return join(this.dir, id);
  }

  /** Creates the empty file of a newly announced upload. */
  async create(id: string): Promise<void> {
    const fh = await open(this.path(id), 'wx', 0o600);
    await fh.close();
  }

  /** Bytes on disk so far (0 when the file is missing). */
  async size(id: string): Promise<number> {
    try {
      return (await stat(this.path(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return 0;
      }
      throw err;
    }
  }

  /** Waits (at most `timeoutMs`) for this process's in-flight write of `id`, e.g. one whose client went away. */
  async settled(id: string, timeoutMs = 5000): Promise<void> {
    const pending = this.writing.get(id);
    if (!pending) {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pending.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Marks `work` (a whole PATCH: write and lease release) as this process's upload of `id` until it settles,
   * so `settled(id)` can wait for it. Returns `work`.
   */
  track<T>(id: string, work: Promise<T>): Promise<T> {
    this.writing.set(id, work);
    const forget = () => {
      if (this.writing.get(id) === work) {
        this.writing.delete(id);
      }
    };
    work.then(forget, forget);
    return work;
  }

  /**
   * Writes `body` at `offset`, chunk by chunk, never past `limit` bytes in total. Returns the new length.
   * A body that would go past `limit` is refused (BlobOverflowError) and its bytes are cut off again. A body
   * that fails midway (client gone) keeps the bytes already written and rethrows.
   */
  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>, limit: number): Promise<number> {
    const fh = await open(this.path(id), 'r+');
    let position = offset;
    try {
      for await (const chunk of body) {
        if (position + chunk.byteLength > limit) {
          throw new BlobOverflowError();
        }
        let written = 0;
        while (written < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, written, chunk.byteLength - written, position + written);
          written += bytesWritten;
        }
        position += chunk.byteLength;
      }
      return position;
    } catch (err) {
      if (err instanceof BlobOverflowError) {
        await fh.truncate(offset);
      }
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** Hex SHA-256 of the file, read as a stream. */
  async sha256(id: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.path(id))) {
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  }

  /** Bytes `start`..`end` (inclusive) of a blob. */
  async read(id: string, start: number, end: number): Promise<Readable> {
    // Opened before the answer starts: a file gone meanwhile (its account deleted, its time up) is a clear
    // error, not a 200 whose body breaks off; once open it reads to the end even if it is deleted meanwhile.
    const file = await open(this.path(id), 'r');
    return file.createReadStream({ start, end, highWaterMark: 256 * 1024 });
  }

  /** Deletes the files of these blobs (missing ones are fine). */
  async remove(ids: string[]): Promise<void> {
    await Promise.all(
      ids.map((id) =>
        unlink(this.path(id)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') {
            throw err;
          }
        }),
      ),
    );
  }

  /** Blob files last written before `before` (ms since the epoch): candidates for the orphan sweep. */
  async filesOlderThan(before: number): Promise<string[]> {
    const ids: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (!ID_PATTERN.test(name)) {
        continue;
      }
      try {
        if ((await stat(join(this.dir, name))).mtimeMs < before) {
          ids.push(name);
        }
      } catch {
        // removed meanwhile
      }
    }
    return ids;
  }

  /** Removes a temporary directory (in-memory relays only); a real blob directory stays. */
  async close(): Promise<void> {
    if (this.temporary) {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
