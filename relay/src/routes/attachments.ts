import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateUploadRequestSchema, type UploadStatus, UploadStatusSchema } from '@sotto/shared-types';
import { type Context, Hono } from 'hono';
import { requireAuth } from '../auth/require-auth.js';
import { BlobOverflowError } from '../blobs/blob-store.js';
import { parseRange } from '../blobs/http-range.js';
import type { AppEnv } from '../context.js';
import { RelayError } from '../errors.js';
import {
  type AttachmentRow,
  claimUpload,
  deleteAttachment,
  extendUpload,
  findAttachment,
  insertAttachment,
  markComplete,
  releaseUpload,
  renewUpload,
} from '../store/attachments.js';
import { jsonBody, parseParams } from '../validate.js';

/** How long an upload lease lasts without renewal (a crashed instance's lease runs out after this). */
const LEASE_MS = 60_000;
/** A blob volume out of room (ENOSPC) or over the relay user's disk quota (EDQUOT). */
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT']);
const STORAGE_FULL_RETRY_SECONDS = 300;
const BlobIdSchema = UploadStatusSchema.shape.id;

const status = (row: AttachmentRow, offset: number): UploadStatus => ({
  id: row.id,
  size: row.size,
  offset,
  complete: offset === row.size && row.complete,
  expiresAt: row.expiresAt,
});

const notFound = () => new RelayError({ code: 'not_found', message: 'no such attachment' });

const offsetConflict = (offset: number, message: string) =>
  new RelayError({ code: 'conflict', message, extra: { offset }, headers: { 'Upload-Offset': String(offset) } });

function blobId(c: Context<AppEnv>): string {
  return parseParams(BlobIdSchema, c.req.param('id'), 'id');
}

function uploadOffsetHeader(c: Context<AppEnv>): number {
  const raw = c.req.header('upload-offset') ?? '';
  if (!/^\d{1,15}$/.test(raw)) {
    throw new RelayError({
      code: 'bad_request',
      message: 'Upload-Offset header must be a byte count',
      extra: { fields: ['Upload-Offset'] },
    });
  }
  return Number(raw);
}

/**
 * One PATCH under the blob's upload lease: bytes to disk at `offset`, then the digest check on the last byte.
 * Returns the bytes the relay has and the blob's expiry: an incomplete upload lives on for
 * ATTACHMENT_INCOMPLETE_TTL_SECONDS after its last bytes, a complete one for ATTACHMENT_TTL_SECONDS.
 */
async function writeUpload(
  c: Context<AppEnv>,
  row: AttachmentRow,
  offset: number,
): Promise<{ length: number; expiresAt: number }> {
  const { env, sql, clock, blobs } = c.get('services');
  const { id } = row;
  const writer = randomUUID();
  const now = clock.now();
  const alive = now + env.ATTACHMENT_INCOMPLETE_TTL_SECONDS * 1000;
  const claimedUntil = await claimUpload(sql, id, row.accountId, writer, now, LEASE_MS, alive);
  if (claimedUntil === undefined) {
    throw offsetConflict(await blobs.size(id), 'another request is uploading this attachment');
  }
  const renew = setInterval(() => {
    renewUpload(sql, id, writer, clock.now() + LEASE_MS).catch(() => undefined);
  }, LEASE_MS / 3);
  try {
    const current = await blobs.size(id);
    if (offset !== current) {
      throw offsetConflict(current, `Upload-Offset is ${offset}, the relay has ${current} bytes`);
    }
    const declared = c.req.header('content-length');
    if (declared !== undefined && offset + Number(declared) > row.size) {
      throw new RelayError({ code: 'payload_too_large', message: 'more bytes than the announced size' });
    }
    const body = idleLimited(
      (c.req.raw.body ?? []) as AsyncIterable<Uint8Array>,
      env.ATTACHMENT_IDLE_TIMEOUT_SECONDS * 1000,
    );
    const keepAlive = () => extendUpload(sql, id, clock.now() + env.ATTACHMENT_INCOMPLETE_TTL_SECONDS * 1000);
    let length: number;
    try {
      length = await blobs.append(id, offset, body, row.size);
    } catch (err) {
      // A dropped connection keeps what arrived before it: that is progress too.
      if ((await blobs.size(id).catch(() => offset)) > offset) {
        await keepAlive().catch(() => undefined);
      }
      if (err instanceof RelayError) {
        throw err;
      }
      if (err instanceof BlobOverflowError) {
        throw new RelayError({ code: 'payload_too_large', message: 'more bytes than the announced size' });
      }
      if (STORAGE_FULL.has(String((err as { code?: unknown }).code))) {
        // What arrived is kept, like any progress: the upload resumes (HEAD, PATCH) once there is room.
        throw new RelayError({
          code: 'unavailable',
          message: 'the relay has no room for more attachment bytes now; resume the upload later',
          headers: { 'Retry-After': String(STORAGE_FULL_RETRY_SECONDS) },
          cause: err,
        });
      }
      throw err;
    }
    if (length === row.size) {
      if ((await blobs.sha256(id)) !== row.sha256) {
        await deleteAttachment(sql, id);
        await blobs.remove([id]);
        throw new RelayError({
          code: 'bad_request',
          message: 'the blob does not match the announced SHA-256; it was discarded',
          extra: { fields: ['sha256'] },
        });
      }
      const expiresAt = clock.now() + env.ATTACHMENT_TTL_SECONDS * 1000;
      await markComplete(sql, id, expiresAt);
      return { length, expiresAt };
    }
    const expiresAt = length > offset ? await keepAlive() : undefined;
    return { length, expiresAt: expiresAt ?? claimedUntil };
  } finally {
    clearInterval(renew);
    await releaseUpload(sql, id, writer).catch(() => undefined);
  }
}

/**
 * The upload body, ended with an error once no bytes came for `idleMs`. A connection that vanished without a
 * reset (a phone changing networks) would otherwise hold the upload's lease, renewed while it waits, until
 * Node's request timeout (5 minutes): every resume meanwhile answered 409. Ended, it keeps what arrived and
 * lets the lease go.
 */
async function* idleLimited(body: AsyncIterable<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RelayError({ code: 'request_timeout', message: `no upload bytes for ${idleMs / 1000} s` })),
          idleMs,
        );
      });
      const next = await Promise.race([chunks.next(), idle]).finally(() => clearTimeout(timer));
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) {
      // Not awaited: a stream's iterator finishes its pending read (which may never come) before it closes.
      chunks.return?.()?.catch(() => undefined);
    }
  }
}

/**
 * /v1/attachments: encrypted blobs. POST announces one (size, digest), PATCH appends bytes at the
 * `Upload-Offset` the relay holds (HEAD tells it after a dropped connection), GET downloads with `Range`.
 * Downloads need any valid account: blob ids are unguessable (192 random bits) and the bytes are ciphertext.
 */
export const attachmentRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post('/', async (c) => {
    const { env, sql, clock, limits, blobs } = c.get('services');
    const auth = c.get('auth');
    const body = await jsonBody(c, CreateUploadRequestSchema);
    await limits.consume('upload', auth.accountId);
    if (body.size > env.ATTACHMENT_MAX_BYTES) {
      throw new RelayError({
        code: 'payload_too_large',
        message: `attachments are limited to ${env.ATTACHMENT_MAX_BYTES} bytes`,
        extra: { fields: ['size'] },
      });
    }
    const id = randomBytes(24).toString('base64url');
    const now = clock.now();
    const expiresAt = now + env.ATTACHMENT_INCOMPLETE_TTL_SECONDS * 1000;
    const result = await insertAttachment(sql, {
      id,
      accountId: auth.accountId,
      size: body.size,
      sha256: body.sha256,
      now,
      expiresAt,
      quota: env.ATTACHMENT_QUOTA_BYTES,
    });
    if (result === 'quota') {
      throw new RelayError({
        code: 'quota_exceeded',
        message: `this account's attachments would exceed ${env.ATTACHMENT_QUOTA_BYTES} bytes`,
      });
    }
    if (result === 'no_account') {
      throw new RelayError({ code: 'unauthorized', message: 'account no longer exists' });
    }
    try {
      await blobs.create(id);
    } catch (err) {
      await deleteAttachment(sql, id);
      throw err;
    }
    const row: AttachmentRow = {
      id,
      accountId: auth.accountId,
      size: body.size,
      sha256: body.sha256,
      complete: false,
      createdAt: now,
      expiresAt,
    };
    c.header('Location', `/v1/attachments/${id}`);
    c.header('Upload-Offset', '0');
    return c.json(status(row, 0), 201);
  })
  .patch('/:id', async (c) => {
    const { sql, clock, blobs } = c.get('services');
    const auth = c.get('auth');
    const id = blobId(c);
    const offset = uploadOffsetHeader(c);
    const row = await findAttachment(sql, id, clock.now());
    if (!row || row.accountId !== auth.accountId) {
      throw notFound();
    }
    if (row.complete) {
      throw offsetConflict(row.size, 'this upload is already complete');
    }
    // A dropped PATCH of this blob on this instance may still be settling: let it finish first.
    await blobs.settled(id);
    const { length, expiresAt } = await blobs.track(id, writeUpload(c, row, offset));
    c.header('Upload-Offset', String(length));
    return c.json(status({ ...row, complete: length === row.size, expiresAt }, length));
  })
  .get('/:id', async (c) => {
    const { sql, clock, blobs } = c.get('services');
    const auth = c.get('auth');
    const id = blobId(c);
    const row = await findAttachment(sql, id, clock.now());
    if (c.req.method === 'HEAD') {
      // Upload status for the uploader (after a dropped connection); size for anyone once complete.
      const owner = row?.accountId === auth.accountId;
      if (!row || !(owner || row.complete)) {
        throw notFound();
      }
      if (!row.complete) {
        await blobs.settled(id);
      }
      const offset = row.complete ? row.size : await blobs.size(id);
      c.header('Upload-Offset', String(offset));
      c.header('Upload-Length', String(row.size));
      c.header('Cache-Control', 'no-store');
      if (row.complete) {
        c.header('Accept-Ranges', 'bytes');
        c.header('Content-Length', String(row.size));
      }
      return c.body(null, 200);
    }
    if (!row?.complete) {
      throw notFound();
    }
    const range = parseRange(c.req.header('range'), row.size);
    if (range.kind === 'unsatisfiable') {
      throw new RelayError({
        code: 'range_not_satisfiable',
        message: `the blob has ${row.size} bytes`,
        headers: { 'Content-Range': `bytes */${row.size}` },
      });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, row.size - 1];
    const file = await blobs.read(id, start, end).catch((err: unknown) => {
      throw (err as { code?: unknown }).code === 'ENOENT' ? notFound() : err;
    });
    const stream = Readable.toWeb(file) as ReadableStream<Uint8Array>;
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(end - start + 1),
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'private, max-age=86400, immutable',
    };
    if (range.kind === 'partial') {
      headers['Content-Range'] = `bytes ${start}-${end}/${row.size}`;
      return c.body(stream, 206, headers);
    }
    return c.body(stream, 200, headers);
  });
