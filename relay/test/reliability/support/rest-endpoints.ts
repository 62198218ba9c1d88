import { randomBytes } from 'node:crypto';
import {
  AddDeviceRequestSchema,
  CreateUploadRequestSchema,
  RegisterRequestSchema,
  SendMessagesRequestSchema,
  TokenRequestSchema,
  UploadKeysRequestSchema,
} from '@sotto/shared-types';
import fc from 'fast-check';
import { newDeviceSecret, type TestDevice } from '../../support/client.js';
import { generateKeys } from '../../support/keys.js';
import {
  anyMethod,
  badAuthorization,
  badSegment,
  contentTypes,
  invalidFor,
  oversizedBody,
  type RequestSpec,
  rawBodies,
} from './fuzz-inputs.js';

/** What the REST fuzzing works on: real accounts, devices and attachments on the relay under test. */
export interface FuzzWorld {
  alice: TestDevice;
  bob: TestDevice;
  /** Bob's second device (registration id 4321). */
  bob2: TestDevice;
  /** Alice's attachments: one complete, one half uploaded (16 of 64 bytes). */
  completeBlob: string;
  partialBlob: string;
  /** The relay's MAX_BODY_BYTES and ATTACHMENT_MAX_BYTES. */
  bodyLimit: number;
  blobLimit: number;
}

const authHeader = (auth: string | undefined): Record<string, string> => (auth ? { authorization: auth } : {});
const json = (token: string | undefined, extra: Record<string, string> = {}): Record<string, string> => ({
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  'content-type': 'application/json',
  ...extra,
});

export interface Endpoint {
  name: string;
  /** A 2xx is a legitimate answer (read-only route). */
  mayAccept: boolean;
  cases: () => fc.Arbitrary<RequestSpec>;
}

/** Valid bodies to mutate from. */
const validRegister = () => ({ username: 'valid_name', deviceSecret: newDeviceSecret(), registrationId: 5 });
/** A segment that names one of `ids` exactly (a real request on a real device, not malformed input). */
const names = (segment: string, ids: number[]) => ids.map(String).includes(segment);
const b64 = (n: number) => randomBytes(n).toString('base64');

/** Every route of the relay with the malformed, hostile and borderline requests to fire at it. */
export function restEndpoints(w: FuzzWorld): Endpoint[] {
  const validSend = () => ({
    timestamp: Date.now(),
    messages: [
      { destinationDeviceId: 1, destinationRegistrationId: w.bob.registrationId, type: 'whisper', content: 'AAAA' },
      { destinationDeviceId: 2, destinationRegistrationId: 4321, type: 'prekey', content: 'AAAA' },
    ],
  });

  return [
    {
      name: 'POST /v1/accounts',
      mayAccept: false,
      cases: () =>
        fc.oneof(
          {
            weight: 8,
            arbitrary: fc
              .tuple(invalidFor(RegisterRequestSchema, validRegister()), contentTypes)
              .map(([body, ct]) => ({ method: 'POST', path: '/v1/accounts', headers: { 'content-type': ct }, body })),
          },
          {
            // Valid shape, taken username (case variants): 409 and nothing created.
            weight: 1,
            arbitrary: fc.constantFrom(w.alice.username, w.bob.username).map((username) => ({
              method: 'POST',
              path: '/v1/accounts',
              headers: json(undefined),
              body: JSON.stringify({ ...validRegister(), username }),
            })),
          },
          {
            weight: 1,
            arbitrary: oversizedBody(w.bodyLimit).map((body) => ({
              method: 'POST',
              path: '/v1/accounts',
              headers: json(undefined),
              body,
            })),
          },
        ),
    },
    {
      name: 'POST /v1/auth/token',
      mayAccept: false,
      cases: () =>
        fc.oneof(
          {
            weight: 8,
            arbitrary: invalidFor(TokenRequestSchema, { grant: 'refresh_token', refreshToken: 'r'.repeat(43) }).map(
              (body) => ({ method: 'POST', path: '/v1/auth/token', headers: json(undefined), body }),
            ),
          },
          {
            weight: 1,
            arbitrary: invalidFor(TokenRequestSchema, {
              grant: 'device_secret',
              accountId: w.alice.accountId,
              deviceId: 1,
              deviceSecret: w.alice.deviceSecret,
            }).map((body) => ({ method: 'POST', path: '/v1/auth/token', headers: json(undefined), body })),
          },
          {
            // Valid shape, unknown refresh token: 401, no family revoked.
            weight: 2,
            arbitrary: fc.base64String({ minLength: 44, maxLength: 100 }).map((t) => ({
              method: 'POST',
              path: '/v1/auth/token',
              headers: json(undefined),
              body: JSON.stringify({ grant: 'refresh_token', refreshToken: t.replace(/[=+/]/g, 'A') }),
            })),
          },
        ),
    },
    ...(['GET /v1/accounts/me', 'DELETE /v1/accounts/me', 'GET /v1/devices', 'GET /v1/keys/count'] as const).map(
      (name): Endpoint => {
        const [method, path] = name.split(' ') as [string, string];
        return {
          name: `${name} (bad tokens)`,
          mayAccept: false,
          cases: () =>
            fc
              .tuple(badAuthorization, fc.constantFrom('', '?x=1', `?accountId=${w.bob.accountId}`, '?%00'))
              .map(([auth, q]) => ({ method, path: `${path}${q}`, headers: authHeader(auth) })),
        };
      },
    ),
    {
      name: 'GET /v1/accounts/username/:username',
      mayAccept: true,
      cases: () =>
        fc
          .oneof(badSegment, fc.stringMatching(/^[a-z0-9_.]{3,32}$/))
          .map((u) => ({ method: 'GET', path: `/v1/accounts/username/${u}`, headers: json(w.alice.accessToken) })),
    },
    {
      name: 'POST /v1/devices',
      mayAccept: false,
      cases: () =>
        invalidFor(AddDeviceRequestSchema, { deviceSecret: newDeviceSecret(), registrationId: 9, deviceName: 'x' }).map(
          (body) => ({ method: 'POST', path: '/v1/devices', headers: json(w.alice.accessToken), body }),
        ),
    },
    {
      name: 'DELETE /v1/devices/:deviceId',
      mayAccept: false,
      cases: () =>
        fc
          .oneof(
            badSegment.filter((s) => !names(s, [1])),
            fc.integer({ min: 2, max: 127 }).map(String),
            // Non-canonical spellings of Alice's own device 1: malformed, so refused (400), never a deletion.
            fc.constantFrom('0x1', '%201', '1%20', '1e0', '01', '1.0', '+1'),
          )
          .map((id) => ({ method: 'DELETE', path: `/v1/devices/${id}`, headers: json(w.alice.accessToken) })),
    },
    {
      name: 'PUT /v1/keys',
      mayAccept: false,
      cases: () => {
        const valid = generateKeys(1).upload;
        const ec = () => Buffer.concat([Buffer.from([5]), randomBytes(32)]).toString('base64');
        return fc.oneof(
          {
            weight: 6,
            arbitrary: invalidFor(UploadKeysRequestSchema, valid).map((body) => ({
              method: 'PUT',
              path: '/v1/keys',
              headers: json(w.alice.accessToken),
              body,
            })),
          },
          {
            // Valid shape, bad signature next to one-time keys: refused as a whole, no key stored.
            weight: 2,
            arbitrary: fc.integer({ min: 0, max: 0xffffff }).map((keyId) => ({
              method: 'PUT',
              path: '/v1/keys',
              headers: json(w.alice.accessToken),
              body: JSON.stringify({
                signedPreKey: { keyId, publicKey: ec(), signature: b64(64) },
                preKeys: [{ keyId: keyId ^ 1, publicKey: ec() }],
              }),
            })),
          },
          {
            // Another identity key for an account that has one: 409 (or 400 when not a key at all).
            weight: 1,
            arbitrary: fc.constant(null).map(() => ({
              method: 'PUT',
              path: '/v1/keys',
              headers: json(w.alice.accessToken),
              body: JSON.stringify({ identityKey: ec(), preKeys: [{ keyId: 7, publicKey: ec() }] }),
            })),
          },
          {
            weight: 1,
            arbitrary: oversizedBody(w.bodyLimit).map((body) => ({
              method: 'PUT',
              path: '/v1/keys',
              headers: json(w.alice.accessToken),
              body,
            })),
          },
        );
      },
    },
    {
      name: 'GET /v1/keys/:accountId/:deviceId',
      mayAccept: false,
      cases: () =>
        fc.oneof(
          fc
            .tuple(fc.oneof(badSegment, fc.uuid()), fc.oneof(badSegment, fc.constantFrom('*', '1', '2')))
            .map(([a, d]) => ({ method: 'GET', path: `/v1/keys/${a}/${d}`, headers: json(w.alice.accessToken) })),
          fc
            .oneof(
              badSegment.filter((s) => s !== '*' && !names(s, [1, 2])),
              fc.integer({ min: 3, max: 127 }).map(String),
            )
            .map((d) => ({
              method: 'GET',
              path: `/v1/keys/${w.bob.accountId}/${d}`,
              headers: json(w.alice.accessToken),
            })),
        ),
    },
    {
      name: 'PUT /v1/messages/:accountId',
      mayAccept: false,
      cases: () =>
        fc.oneof(
          {
            weight: 6,
            arbitrary: invalidFor(SendMessagesRequestSchema, validSend()).map((body) => ({
              method: 'PUT',
              path: `/v1/messages/${w.bob.accountId}`,
              headers: json(w.alice.accessToken),
              body,
            })),
          },
          {
            weight: 1,
            arbitrary: badSegment.map((a) => ({
              method: 'PUT',
              path: `/v1/messages/${a}`,
              headers: json(w.alice.accessToken),
              body: JSON.stringify(validSend()),
            })),
          },
          {
            // Valid shape, wrong device set or registration ids (409/410), or an unknown account (404).
            weight: 2,
            arbitrary: fc
              .tuple(
                fc.subarray([1, 2, 3, 9]),
                fc.integer({ min: 1, max: 16380 }),
                fc.boolean(),
                fc.constantFrom('prekey', 'whisper', 'sealed', 'plaintext'),
                fc.boolean(),
              )
              .filter(([ids, reg]) => !(ids.length === 2 && ids.includes(1) && ids.includes(2) && reg === 4321))
              .map(([ids, reg, unknown, type, online]) => ({
                method: 'PUT',
                path: `/v1/messages/${unknown ? '11111111-2222-4333-8444-555555555555' : w.bob.accountId}`,
                headers: json(w.alice.accessToken),
                body: JSON.stringify({
                  timestamp: Date.now(),
                  ...(online ? { online: true } : {}),
                  messages: (ids.length ? ids : [1]).map((id) => ({
                    destinationDeviceId: id,
                    destinationRegistrationId: id === 1 ? reg : 4321 + (id === 2 ? 1 : 0),
                    type,
                    content: b64(16),
                  })),
                }),
              })),
          },
          {
            weight: 1,
            arbitrary: oversizedBody(w.bodyLimit).map((body) => ({
              method: 'PUT',
              path: `/v1/messages/${w.bob.accountId}`,
              headers: json(w.alice.accessToken),
              body,
            })),
          },
        ),
    },
    {
      name: 'GET /v1/calling/turn',
      mayAccept: false,
      cases: () =>
        badAuthorization.map((auth) => ({
          method: 'GET',
          path: '/v1/calling/turn',
          headers: authHeader(auth),
        })),
    },
    {
      name: 'POST /v1/attachments',
      mayAccept: false,
      cases: () =>
        fc.oneof(
          {
            weight: 8,
            arbitrary: invalidFor(CreateUploadRequestSchema, { size: 10, sha256: 'a'.repeat(64) }).map((body) => ({
              method: 'POST',
              path: '/v1/attachments',
              headers: json(w.alice.accessToken),
              body,
            })),
          },
          {
            // Valid shape, over the size limit: 413 and nothing reserved.
            weight: 2,
            arbitrary: fc.integer({ min: w.blobLimit + 1, max: Number.MAX_SAFE_INTEGER }).map((size) => ({
              method: 'POST',
              path: '/v1/attachments',
              headers: json(w.alice.accessToken),
              body: JSON.stringify({ size, sha256: 'b'.repeat(64) }),
            })),
          },
        ),
    },
    {
      name: 'PATCH /v1/attachments/:id',
      mayAccept: false,
      cases: () =>
        fc
          .tuple(
            fc.oneof(
              badSegment,
              fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
              fc.constantFrom(w.completeBlob, w.partialBlob),
            ),
            fc.oneof(
              fc.constantFrom('', '-1', '0x10', '1e3', ' 16', '16 ', '99999999999999999999', '1.5', 'abc'),
              fc.nat({ max: 200 }).map(String),
            ),
            fc.option(fc.uint8Array({ maxLength: 200 })),
            fc.boolean(),
          )
          // The next bytes at the right offset of Alice's own partial upload are a real upload, not a fuzz case.
          .filter(([id, offset]) => !(id === w.partialBlob && /^\s*0*16\s*$/.test(offset)))
          .map(([id, offset, body, withToken]) => ({
            method: 'PATCH',
            path: `/v1/attachments/${id}`,
            headers: {
              ...authHeader(withToken ? `Bearer ${w.alice.accessToken}` : undefined),
              'upload-offset': offset,
            },
            ...(body === null ? {} : { body }),
          })),
    },
    {
      name: 'GET/HEAD /v1/attachments/:id',
      mayAccept: true,
      cases: () =>
        fc
          .tuple(
            fc.constantFrom('GET', 'HEAD'),
            fc.oneof(
              badSegment,
              fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
              fc.constantFrom(w.completeBlob, w.partialBlob),
            ),
            fc.oneof(
              fc.constant(undefined),
              fc.constantFrom(
                'bytes=0-',
                'bytes=-1',
                'bytes=5-2',
                'bytes=0-0,1-1',
                'bytes=99-',
                'bits=0-1',
                'bytes=-0',
              ),
              fc
                .tuple(fc.integer({ min: -5, max: 100 }), fc.integer({ min: -5, max: 100 }))
                .map(([a, b]) => `bytes=${a}-${b}`),
              fc.string({ maxLength: 30 }),
            ),
            badAuthorization,
            fc.boolean(),
          )
          .map(([method, id, range, badAuth, realToken]) => ({
            method,
            path: `/v1/attachments/${id}`,
            headers: {
              ...authHeader(realToken ? `Bearer ${w.alice.accessToken}` : badAuth),
              ...(range === undefined ? {} : { range }),
            },
          })),
    },
    {
      name: 'GET /healthz /readyz /metrics',
      mayAccept: true,
      cases: () =>
        fc
          .tuple(
            fc.constantFrom('/healthz', '/readyz', '/metrics'),
            fc.constantFrom('', '?a=1', '?%ff'),
            badAuthorization,
          )
          .map(([p, q, auth]) => ({ method: 'GET', path: `${p}${q}`, headers: authHeader(auth) })),
    },
    {
      name: 'any method, any path',
      mayAccept: true,
      cases: () =>
        fc
          .tuple(
            anyMethod,
            fc.array(badSegment, { minLength: 1, maxLength: 4 }),
            fc.constantFrom('/v1/', '/', '/v1/accounts/', '/v1/keys/', '/v1/devices/', '/v1/ws/'),
            fc.option(rawBodies),
            fc.boolean(),
          )
          .map(([method, segs, prefix, body, withToken]) => ({
            method,
            path: `${prefix}${segs.join('/')}`,
            headers: json(withToken ? w.alice.accessToken : undefined),
            ...(body === null ? {} : { body }),
          }))
          // A DELETE with a real token could be a legitimate deletion (of the fuzzing account), not a fuzz case.
          .filter((s) => !(s.method === 'DELETE' && s.headers.authorization)),
    },
  ];
}
