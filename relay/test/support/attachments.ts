import { createHash, randomBytes } from 'node:crypto';
import { type ClientRequest, request } from 'node:http';
import type { UploadStatus } from '@sotto/shared-types';
import { type ApiResult, api } from './client.js';

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const randomBlob = (size: number) => randomBytes(size);

/** POST /v1/attachments for `blob` (or a size/digest given explicitly). */
export function announce(
  baseUrl: string,
  token: string,
  blob: Buffer,
  override: { size?: number; sha256?: string } = {},
): Promise<ApiResult<UploadStatus>> {
  return api<UploadStatus>(baseUrl, 'POST', '/v1/attachments', {
    token,
    body: { size: override.size ?? blob.length, sha256: override.sha256 ?? sha256Hex(blob) },
  });
}

/** PATCH bytes at `offset`. */
export async function patch(
  baseUrl: string,
  token: string,
  id: string,
  offset: number,
  bytes: Buffer,
): Promise<ApiResult<UploadStatus>> {
  const res = await fetch(`${baseUrl}/v1/attachments/${id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as UploadStatus, headers: res.headers };
}

export async function head(baseUrl: string, token: string, id: string): Promise<{ status: number; headers: Headers }> {
  const res = await fetch(`${baseUrl}/v1/attachments/${id}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers };
}

export async function download(
  baseUrl: string,
  token: string | undefined,
  id: string,
  range?: string,
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const headers: Record<string, string> = {};
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  if (range) {
    headers.range = range;
  }
  const res = await fetch(`${baseUrl}/v1/attachments/${id}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Starts a PATCH that announces `total` bytes but sends only `sent` of them, then (once `whenSent`
 * resolves) drops the connection: what a client losing its network midway looks like to the relay.
 */
export function droppedPatch(
  baseUrl: string,
  token: string,
  id: string,
  offset: number,
  bytes: Buffer,
  sent: number,
  whenSent: () => Promise<void>,
): Promise<void> {
  const { request: req, answered } = openPatch(baseUrl, token, id, offset, bytes.length);
  return new Promise<void>((resolve, reject) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    answered.then(
      (status) => reject(new Error(`the relay answered ${status} to a body it never fully got`)),
      () => undefined, // the dropped connection, as intended
    );
    req.write(bytes.subarray(0, sent));
    whenSent().then(
      () => req.destroy(),
      (err: unknown) => {
        req.destroy();
        reject(err);
      },
    );
  });
}

/**
 * Starts a PATCH of `total` bytes at `offset` and leaves its body open: the test writes and ends it (or
 * stalls) through `request`. `answered` resolves with the status once the relay answers.
 */
export function openPatch(
  baseUrl: string,
  token: string,
  id: string,
  offset: number,
  total: number,
): { request: ClientRequest; answered: Promise<number> } {
  const url = new URL(`${baseUrl}/v1/attachments/${id}`);
  const req = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'content-length': String(total),
    },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  answered.catch(() => undefined);
  return { request: req, answered };
}
