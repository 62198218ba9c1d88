import { randomBytes } from 'node:crypto';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorBody } from '@sotto/shared-types';
import { describe, expect, it } from 'vitest';
import {
  announce,
  download,
  droppedPatch,
  head,
  openPatch,
  patch,
  randomBlob,
  sha256Hex,
} from '../../test/support/attachments.js';
import { api, errorCode, getToken, registerDevice } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { ManualClock } from '../clock.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const DAY = 24 * 3600 * 1000;
const clock = new ManualClock(Date.now());
const fx = useRelay({
  clock,
  env: { ATTACHMENT_MAX_BYTES: String(4 * MIB), ATTACHMENT_QUOTA_BYTES: String(10 * MIB) },
});
const limited = useRelay({ env: { RATE_UPLOAD_POINTS: '2' } });

const blobPath = (id: string) => join(fx.relay.relay.services.blobs.dir, id);

async function waitForFileSize(path: string, size: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if ((await stat(path)).size >= size) {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`file never reached ${size} bytes`);
}

describe('attachments', () => {
  it('uploads in two PATCHes and lets any signed-in account download the exact bytes', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const blob = randomBlob(300 * KIB + 7);
    const created = await announce(fx.relay.url, alice.accessToken, blob);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ size: blob.length, offset: 0, complete: false });
    expect(created.body.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const id = created.body.id;

    const first = await patch(fx.relay.url, alice.accessToken, id, 0, blob.subarray(0, 100 * KIB));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ offset: 100 * KIB, complete: false });
    // Not downloadable before the last byte.
    expect((await download(fx.relay.url, bob.accessToken, id)).status).toBe(404);
    const second = await patch(fx.relay.url, alice.accessToken, id, 100 * KIB, blob.subarray(100 * KIB));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ offset: blob.length, complete: true });
    expect(second.headers.get('upload-offset')).toBe(String(blob.length));

    const got = await download(fx.relay.url, bob.accessToken, id);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-length')).toBe(String(blob.length));
    expect(got.bytes.equals(blob)).toBe(true);
    // The relay stored exactly the ciphertext it was given, nothing else.
    expect((await stat(blobPath(id))).size).toBe(blob.length);
  });

  it('resumes after a dropped connection: HEAD gives the offset and the upload continues from there', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(1 * MIB);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    const sent = 256 * KIB;
    await droppedPatch(fx.relay.url, alice.accessToken, id, 0, blob, sent, () => waitForFileSize(blobPath(id), sent));

    const status = await head(fx.relay.url, alice.accessToken, id);
    expect(status.status).toBe(200);
    const offset = Number(status.headers.get('upload-offset'));
    expect(offset).toBe(sent);
    expect(status.headers.get('upload-length')).toBe(String(blob.length));

    // Continuing from the wrong place is refused with the relay's offset.
    const wrong = await patch(fx.relay.url, alice.accessToken, id, 0, blob);
    expect(wrong.status).toBe(409);
    expect((wrong.body as unknown as ErrorBody).error).toMatchObject({ code: 'conflict', offset });
    expect(wrong.headers.get('upload-offset')).toBe(String(offset));

    const rest = await patch(fx.relay.url, alice.accessToken, id, offset, blob.subarray(offset));
    expect(rest.status).toBe(200);
    expect(rest.body.complete).toBe(true);
    const got = await download(fx.relay.url, alice.accessToken, id);
    expect(sha256Hex(got.bytes)).toBe(sha256Hex(blob));
    // Once complete, PATCH answers 409 with the full length.
    const again = await patch(fx.relay.url, alice.accessToken, id, blob.length, Buffer.from('x'));
    expect(again.status).toBe(409);
  });

  it('discards a blob whose digest does not match and answers 400', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(64 * KIB);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob, { sha256: sha256Hex(Buffer.from('other')) }))
      .body;
    const r = await patch(fx.relay.url, alice.accessToken, id, 0, blob);
    expect(r.status).toBe(400);
    expect((r.body as unknown as ErrorBody).error.fields).toEqual(['sha256']);
    expect(existsSync(blobPath(id))).toBe(false);
    expect((await head(fx.relay.url, alice.accessToken, id)).status).toBe(404);
    expect((await download(fx.relay.url, alice.accessToken, id)).status).toBe(404);
  });

  it('answers 413 for a blob over the size limit and for more bytes than announced', async () => {
    const alice = await registerDevice(fx.relay.url);
    const big = await api(fx.relay.url, 'POST', '/v1/attachments', {
      token: alice.accessToken,
      body: { size: 4 * MIB + 1, sha256: sha256Hex(Buffer.from('x')) },
    });
    expect(big.status).toBe(413);
    expect(errorCode(big)).toBe('payload_too_large');

    const blob = randomBlob(1000);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    const over = await patch(fx.relay.url, alice.accessToken, id, 0, Buffer.concat([blob, Buffer.from('extra')]));
    expect(over.status).toBe(413);
    // Nothing of the refused body was kept: the upload starts again from 0.
    expect((await head(fx.relay.url, alice.accessToken, id)).headers.get('upload-offset')).toBe('0');
    expect((await patch(fx.relay.url, alice.accessToken, id, 0, blob)).status).toBe(200);
  });

  it('enforces the per-account quota with 413 quota_exceeded', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    const digest = sha256Hex(Buffer.from('y'));
    for (let i = 0; i < 2; i++) {
      const r = await api(fx.relay.url, 'POST', '/v1/attachments', {
        token: alice.accessToken,
        body: { size: 4 * MIB, sha256: digest },
      });
      expect(r.status).toBe(201);
    }
    const over = await api(fx.relay.url, 'POST', '/v1/attachments', {
      token: alice.accessToken,
      body: { size: 3 * MIB, sha256: digest },
    });
    expect(over.status).toBe(413);
    expect(errorCode(over)).toBe('quota_exceeded');
    // The quota is per account: another account still uploads.
    expect((await announce(fx.relay.url, bob.accessToken, randomBlob(10))).status).toBe(201);
  });

  it('serves byte ranges with 206 and answers 416 outside the blob', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(10_000);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    await patch(fx.relay.url, alice.accessToken, id, 0, blob);

    const middle = await download(fx.relay.url, alice.accessToken, id, 'bytes=100-199');
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe('bytes 100-199/10000');
    expect(middle.bytes.equals(blob.subarray(100, 200))).toBe(true);
    const tail = await download(fx.relay.url, alice.accessToken, id, 'bytes=9000-');
    expect(tail.bytes.equals(blob.subarray(9000))).toBe(true);
    const suffix = await download(fx.relay.url, alice.accessToken, id, 'bytes=-10');
    expect(suffix.status).toBe(206);
    expect(suffix.bytes.equals(blob.subarray(9990))).toBe(true);
    const outside = await download(fx.relay.url, alice.accessToken, id, 'bytes=10000-');
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe('bytes */10000');
  });

  it('answers a JSON 404 for a blob whose file is gone, instead of headers and a broken body', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(5000);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    await patch(fx.relay.url, alice.accessToken, id, 0, blob);
    unlinkSync(blobPath(id)); // deleted with its account, or expired, while the row was read
    for (const range of [undefined, 'bytes=0-99']) {
      const gone = await download(fx.relay.url, alice.accessToken, id, range);
      expect(gone.status).toBe(404);
      expect((JSON.parse(gone.bytes.toString()) as ErrorBody).error.code).toBe('not_found');
    }
  });

  it('answers 503 with Retry-After when the blob volume is full, and the upload resumes once there is room', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(5000);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    const { blobs } = fx.relay.relay.services;
    const append = blobs.append.bind(blobs);
    blobs.append = async () => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    };
    try {
      const full = await patch(fx.relay.url, alice.accessToken, id, 0, blob);
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('300');
      expect((full.body as unknown as ErrorBody).error.code).toBe('unavailable');
    } finally {
      blobs.append = append;
    }
    expect((await head(fx.relay.url, alice.accessToken, id)).headers.get('upload-offset')).toBe('0');
    expect((await patch(fx.relay.url, alice.accessToken, id, 0, blob)).status).toBe(200);
  });

  it('answers 401 without a token, 404 for unknown ids and other accounts’ uploads, 400 for bad ids', async () => {
    const alice = await registerDevice(fx.relay.url);
    const mallory = await registerDevice(fx.relay.url);
    const blob = randomBlob(100);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    expect((await download(fx.relay.url, undefined, id)).status).toBe(401);
    expect(
      (await api(fx.relay.url, 'POST', '/v1/attachments', { body: { size: 1, sha256: 'a'.repeat(64) } })).status,
    ).toBe(401);
    expect((await download(fx.relay.url, alice.accessToken, 'A'.repeat(32))).status).toBe(404);
    // Someone else cannot write into (or probe) an upload in progress.
    expect((await patch(fx.relay.url, mallory.accessToken, id, 0, blob)).status).toBe(404);
    expect((await head(fx.relay.url, mallory.accessToken, id)).status).toBe(404);
    expect((await download(fx.relay.url, alice.accessToken, 'bad.id')).status).toBe(400);
    const noOffset = await api(fx.relay.url, 'PATCH', `/v1/attachments/${id}`, {
      token: alice.accessToken,
      rawBody: 'x',
    });
    expect(noOffset.status).toBe(400);
    const badBody = await api(fx.relay.url, 'POST', '/v1/attachments', {
      token: alice.accessToken,
      body: { size: 0, sha256: 'nope' },
    });
    expect(badBody.status).toBe(400);
    expect((badBody.body as ErrorBody).error.fields).toEqual(expect.arrayContaining(['size', 'sha256']));
  });

  it('removes the account’s blob files when the account is deleted', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(5000);
    const done = (await announce(fx.relay.url, alice.accessToken, blob)).body.id;
    await patch(fx.relay.url, alice.accessToken, done, 0, blob);
    const partial = (await announce(fx.relay.url, alice.accessToken, blob)).body.id;
    await patch(fx.relay.url, alice.accessToken, partial, 0, blob.subarray(0, 100));
    expect(existsSync(blobPath(done)) && existsSync(blobPath(partial))).toBe(true);

    expect((await api(fx.relay.url, 'DELETE', '/v1/accounts/me', { token: alice.accessToken })).status).toBe(204);
    expect(existsSync(blobPath(done))).toBe(false);
    expect(existsSync(blobPath(partial))).toBe(false);
    const bob = await registerDevice(fx.relay.url);
    expect((await download(fx.relay.url, bob.accessToken, done)).status).toBe(404);
  });

  it('rate-limits uploads per account with 429 and Retry-After', async () => {
    const alice = await registerDevice(limited.relay.url);
    for (let i = 0; i < 2; i++) {
      expect((await announce(limited.relay.url, alice.accessToken, randomBlob(10))).status).toBe(201);
    }
    const r = await announce(limited.relay.url, alice.accessToken, randomBlob(10));
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('an upload whose connection went silent', () => {
  const idle = useRelay({ env: { ATTACHMENT_IDLE_TIMEOUT_SECONDS: '1' } });

  it('is ended after the idle timeout, so the resume from the offset the relay holds goes through', async () => {
    const alice = await registerDevice(idle.relay.url);
    const blob = randomBlob(200 * KIB);
    const { id } = (await announce(idle.relay.url, alice.accessToken, blob)).body;
    // A phone changes networks mid-PATCH: no reset reaches the relay, the request just stops sending.
    const { request: stalled } = openPatch(idle.relay.url, alice.accessToken, id, 0, blob.length);
    stalled.on('error', () => undefined);
    stalled.write(blob.subarray(0, 50 * KIB));
    const path = join(idle.relay.relay.services.blobs.dir, id);
    await expect.poll(async () => (await stat(path)).size).toBe(50 * KIB);
    try {
      // The client reconnects and resumes where the relay says (409 "another request is uploading" while the
      // stalled request held the upload; until Node's request timeout, 5 minutes, before).
      await expect
        .poll(
          async () => {
            const offset = Number((await head(idle.relay.url, alice.accessToken, id)).headers.get('upload-offset'));
            return (await patch(idle.relay.url, alice.accessToken, id, offset, blob.subarray(offset))).status;
          },
          { timeout: 8000, interval: 500 },
        )
        .toBe(200);
      expect((await download(idle.relay.url, alice.accessToken, id)).bytes.equals(blob)).toBe(true);
    } finally {
      stalled.destroy();
    }
  });
});

describe('attachment expiry', () => {
  it('stops serving a blob after 30 days and the cleanup deletes its file and row', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(2000);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    await patch(fx.relay.url, alice.accessToken, id, 0, blob);
    const abandoned = (await announce(fx.relay.url, alice.accessToken, blob)).body.id;

    clock.advance(29 * DAY);
    const bob = await registerDevice(fx.relay.url);
    expect((await download(fx.relay.url, bob.accessToken, id)).status).toBe(200);
    clock.advance(2 * DAY);
    const carol = await registerDevice(fx.relay.url);
    expect((await download(fx.relay.url, carol.accessToken, id)).status).toBe(404);

    await fx.relay.relay.cleanup();
    expect(existsSync(blobPath(id))).toBe(false);
    expect(existsSync(blobPath(abandoned))).toBe(false);
    const { sql } = fx.relay.relay.services;
    const rows = await sql`SELECT id FROM attachments WHERE id IN (${id}, ${abandoned})`;
    expect(rows.length).toBe(0);
  });

  it('drops an upload that got no bytes for a day and frees its quota; bytes keep one going', async () => {
    const alice = await registerDevice(fx.relay.url);
    /** Alice's access token now (the clock moves by days here; tokens last 15 minutes). */
    const token = async () =>
      (await getToken(fx.relay.url, alice.accountId, alice.deviceId, alice.deviceSecret)).accessToken;
    const blob = randomBlob(4 * MIB);
    const started = clock.now();
    const going = (await announce(fx.relay.url, await token(), blob)).body;
    expect(going.expiresAt).toBe(started + DAY);
    const abandoned = (await announce(fx.relay.url, await token(), blob)).body.id; // a client that crashed
    const tooMuch = { size: 3 * MIB, sha256: sha256Hex(blob) };
    const refused = await api(fx.relay.url, 'POST', '/v1/attachments', { token: await token(), body: tooMuch });
    expect(errorCode(refused)).toBe('quota_exceeded');

    clock.advance(DAY / 2);
    const half = await patch(fx.relay.url, await token(), going.id, 0, blob.subarray(0, 2 * MIB));
    expect(half.body).toMatchObject({ offset: 2 * MIB, expiresAt: clock.now() + DAY });
    clock.advance(DAY / 2 + 1000);
    // The abandoned upload is gone, and the quota it held with it.
    expect((await head(fx.relay.url, await token(), abandoned)).status).toBe(404);
    const again = await api(fx.relay.url, 'POST', '/v1/attachments', { token: await token(), body: tooMuch });
    expect(again.status).toBe(201);
    await fx.relay.relay.cleanup();
    expect(existsSync(blobPath(abandoned))).toBe(false);

    // The one that got bytes resumes, and once complete is kept for 30 days from its last byte.
    const done = await patch(fx.relay.url, await token(), going.id, 2 * MIB, blob.subarray(2 * MIB));
    expect(done.body).toMatchObject({ complete: true, expiresAt: clock.now() + 30 * DAY });
    clock.advance(29 * DAY);
    const bob = await registerDevice(fx.relay.url);
    const got = await download(fx.relay.url, bob.accessToken, going.id);
    expect(got.status).toBe(200);
  });

  it('keeps an upload that is being written when its day runs out during the PATCH', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(200 * KIB);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    // The client comes back 23 hours later and resumes on a slow link; the PATCH outlasts the day.
    clock.advance(23 * 3600 * 1000);
    const token = (await getToken(fx.relay.url, alice.accountId, alice.deviceId, alice.deviceSecret)).accessToken;
    const { request: upload, answered } = openPatch(fx.relay.url, token, id, 0, blob.length);
    upload.write(blob.subarray(0, 50 * KIB));
    await waitForFileSize(blobPath(id), 50 * KIB);
    clock.advance(2 * 3600 * 1000);
    await fx.relay.relay.cleanup();
    expect(existsSync(blobPath(id))).toBe(true);
    upload.end(blob.subarray(50 * KIB));
    expect(await answered).toBe(200);
    const reader = await registerDevice(fx.relay.url);
    const got = await download(fx.relay.url, reader.accessToken, id);
    expect(got.bytes.equals(blob)).toBe(true);
  });

  it('sweeps blob files whose row is gone, and keeps every file that has one', async () => {
    const alice = await registerDevice(fx.relay.url);
    const blob = randomBlob(500);
    const { id } = (await announce(fx.relay.url, alice.accessToken, blob)).body;
    await patch(fx.relay.url, alice.accessToken, id, 0, blob);
    // As a crash between deleting the row and unlinking the file would leave it.
    const orphan = randomBytes(24).toString('base64url');
    writeFileSync(blobPath(orphan), blob);
    clock.advance(DAY);

    await fx.relay.relay.cleanup();
    expect(existsSync(blobPath(orphan))).toBe(false);
    expect(existsSync(blobPath(id))).toBe(true);
    const bob = await registerDevice(fx.relay.url);
    expect((await download(fx.relay.url, bob.accessToken, id)).status).toBe(200);
  });
});
