import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ClientFrameSchema,
  ContentSchema,
  ErrorBodySchema,
  issuePaths,
  RegisterRequestSchema,
  SendMessagesRequestSchema,
  ServerFrameSchema,
  TokenRequestSchema,
  UploadKeysRequestSchema,
} from './index.js';

const uuid = '0b9f1f7e-3c55-4b7e-9d0a-5c7f2b1c9e11';
const guid = 'a3c1d6a2-7f3b-4a8e-8c4d-2b6e9f0a1b2c';
const secret = 'q'.repeat(43);
const ecKey = Buffer.alloc(33, 5).toString('base64');
const signature = Buffer.alloc(64, 7).toString('base64');
const kyberKey = Buffer.alloc(1569, 9).toString('base64');

/** Parses `input` and expects a failure naming exactly `path`. */
function expectRejected(schema: z.ZodType, input: unknown, path: string) {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  if (!result.success) {
    expect(issuePaths(result.error)).toContain(path);
  }
}

describe('accounts and auth', () => {
  const valid = { username: 'alice_01.x', deviceSecret: secret, registrationId: 42 };

  it('accepts a valid registration', () => {
    expect(RegisterRequestSchema.parse(valid)).toEqual(valid);
  });

  it.each([
    ['too short', { ...valid, username: 'ab' }, 'username'],
    ['too long', { ...valid, username: 'a'.repeat(33) }, 'username'],
    ['uppercase', { ...valid, username: 'Alice' }, 'username'],
    ['forbidden character', { ...valid, username: 'al-ice' }, 'username'],
    ['short secret', { ...valid, deviceSecret: 'abc' }, 'deviceSecret'],
    ['registration id out of range', { ...valid, registrationId: 0 }, 'registrationId'],
    ['registration id wrong type', { ...valid, registrationId: '42' }, 'registrationId'],
    ['unknown field', { ...valid, admin: true }, '(root)'],
  ])('rejects a registration with %s', (_name, input, path) => {
    expectRejected(RegisterRequestSchema, input, path);
  });

  it('distinguishes token grants and rejects an unknown grant', () => {
    expect(
      TokenRequestSchema.parse({ grant: 'device_secret', accountId: uuid, deviceId: 1, deviceSecret: secret }).grant,
    ).toBe('device_secret');
    expect(TokenRequestSchema.parse({ grant: 'refresh_token', refreshToken: 'r'.repeat(40) }).grant).toBe(
      'refresh_token',
    );
    expectRejected(TokenRequestSchema, { grant: 'password', accountId: uuid }, 'grant');
    expectRejected(
      TokenRequestSchema,
      { grant: 'device_secret', accountId: 'nope', deviceId: 1, deviceSecret: secret },
      'accountId',
    );
  });
});

describe('prekeys', () => {
  it('accepts a full upload', () => {
    const upload = {
      identityKey: ecKey,
      signedPreKey: { keyId: 1, publicKey: ecKey, signature },
      lastResortKyberPreKey: { keyId: 2, publicKey: kyberKey, signature },
      preKeys: [{ keyId: 3, publicKey: ecKey }],
      kyberPreKeys: [{ keyId: 4, publicKey: kyberKey, signature }],
    };
    expect(UploadKeysRequestSchema.parse(upload)).toEqual(upload);
  });

  it.each([
    [
      '101 one-time prekeys',
      { preKeys: Array.from({ length: 101 }, (_, i) => ({ keyId: i, publicKey: ecKey })) },
      'preKeys',
    ],
    [
      'a duplicate one-time prekey id',
      { preKeys: [3, 4, 3].map((keyId) => ({ keyId, publicKey: ecKey })) },
      'preKeys.2.keyId',
    ],
    [
      'a duplicate one-time Kyber prekey id',
      { kyberPreKeys: [5, 5].map((keyId) => ({ keyId, publicKey: kyberKey, signature })) },
      'kyberPreKeys.1.keyId',
    ],
    ['a key that is not base64', { identityKey: '!!!' }, 'identityKey'],
    ['a truncated key', { identityKey: Buffer.alloc(20).toString('base64') }, 'identityKey'],
    ['an oversized key', { identityKey: Buffer.alloc(64).toString('base64') }, 'identityKey'],
    ['a negative key id', { signedPreKey: { keyId: -1, publicKey: ecKey, signature } }, 'signedPreKey.keyId'],
    [
      'a missing signature',
      { lastResortKyberPreKey: { keyId: 1, publicKey: kyberKey } },
      'lastResortKyberPreKey.signature',
    ],
  ])('rejects %s', (_name, input, path) => {
    expectRejected(UploadKeysRequestSchema, input, path);
  });
});

describe('messages', () => {
  const message = { destinationDeviceId: 1, destinationRegistrationId: 7, type: 'prekey', content: 'AAEC' };

  it('accepts a send to two devices', () => {
    const body = { messages: [message, { ...message, destinationDeviceId: 2 }], timestamp: 1_700_000_000_000 };
    expect(SendMessagesRequestSchema.parse(body).messages).toHaveLength(2);
  });

  it.each([
    ['no messages', { messages: [], timestamp: 1 }, 'messages'],
    ['an unknown envelope type', { messages: [{ ...message, type: 'cleartext' }], timestamp: 1 }, 'messages.0.type'],
    ['empty content', { messages: [{ ...message, content: '' }], timestamp: 1 }, 'messages.0.content'],
    [
      'device id 0',
      { messages: [{ ...message, destinationDeviceId: 0 }], timestamp: 1 },
      'messages.0.destinationDeviceId',
    ],
    ['a fractional timestamp', { messages: [message], timestamp: 1.5 }, 'timestamp'],
    [
      'content over the size limit',
      { messages: [{ ...message, content: Buffer.alloc(256 * 1024 + 3).toString('base64') }], timestamp: 1 },
      'messages.0.content',
    ],
  ])('rejects %s', (_name, input, path) => {
    expectRejected(SendMessagesRequestSchema, input, path);
  });
});

describe('websocket frames', () => {
  it('parses every client frame type', () => {
    expect(ClientFrameSchema.parse({ type: 'auth', token: 'x.y.z' }).type).toBe('auth');
    expect(ClientFrameSchema.parse({ type: 'ack', guids: [guid] }).type).toBe('ack');
    expect(ClientFrameSchema.parse({ type: 'ping' }).type).toBe('ping');
    const send = {
      type: 'send',
      id: 7,
      destination: uuid,
      request: {
        timestamp: 1,
        messages: [{ destinationDeviceId: 1, destinationRegistrationId: 5, type: 'whisper', content: 'AAEC' }],
      },
    };
    expect(ClientFrameSchema.parse(send).type).toBe('send');
  });

  it.each([
    ['an unknown type', { type: 'subscribe' }, 'type'],
    ['a send without an id', { type: 'send', destination: uuid, request: { timestamp: 1, messages: [] } }, 'id'],
    [
      'a send with an invalid request',
      { type: 'send', id: 1, destination: uuid, request: { timestamp: 1, messages: [] } },
      'request.messages',
    ],
    ['an ack without guids', { type: 'ack', guids: [] }, 'guids'],
    ['an ack with a non-uuid', { type: 'ack', guids: ['42'] }, 'guids.0'],
    ['an empty token', { type: 'auth', token: '' }, 'token'],
  ])('rejects %s', (_name, input, path) => {
    expectRejected(ClientFrameSchema, input, path);
  });

  it('parses an envelope frame from the relay', () => {
    const frame = ServerFrameSchema.parse({
      type: 'envelope',
      envelope: {
        guid,
        type: 'whisper',
        sourceAccountId: uuid,
        sourceDeviceId: 1,
        destinationDeviceId: 2,
        clientTimestamp: 1,
        serverTimestamp: 2,
        content: 'AAEC',
      },
    });
    expect(frame.type).toBe('envelope');
  });

  it('parses send results and send errors, and rejects an error without its body', () => {
    const ok = ServerFrameSchema.parse({
      type: 'send_result',
      id: 3,
      body: { messages: [{ destinationDeviceId: 1, guid, serverTimestamp: 2 }] },
    });
    expect(ok.type).toBe('send_result');
    const refused = ServerFrameSchema.parse({
      type: 'send_error',
      id: 3,
      status: 409,
      body: { error: { code: 'stale_devices', message: 'm', requestId: 'r', missingDevices: [2], extraDevices: [] } },
    });
    expect(refused.type).toBe('send_error');
    expectRejected(ServerFrameSchema, { type: 'send_error', id: 3, status: 409 }, 'body');
  });
});

describe('encrypted content', () => {
  const base = { id: guid, sentAt: 1_700_000_000_000 };

  it.each([
    { kind: 'text', ...base, body: 'hello' },
    { kind: 'reply', ...base, body: 'yes', quote: { messageId: guid, authorAccountId: uuid, text: 'hello' } },
    { kind: 'receipt', receipt: 'read', messageIds: [guid], at: 1 },
    { kind: 'typing', action: 'started', at: 1 },
    { kind: 'reaction', targetMessageId: guid, targetAuthorAccountId: uuid, emoji: '👍', remove: false, sentAt: 1 },
    { kind: 'edit', targetMessageId: guid, body: 'fixed', sentAt: 1 },
    { kind: 'delete', targetMessageId: guid, sentAt: 1 },
    { kind: 'timer', expiresInSeconds: 3600, sentAt: 1 },
    { kind: 'call', callId: guid, signal: { type: 'offer', sdp: 'v=0', video: true }, sentAt: 1 },
    { kind: 'group', groupId: 'g'.repeat(22), change: { type: 'create', name: 'Team', members: [uuid] }, sentAt: 1 },
  ])('accepts $kind', (content) => {
    expect(ContentSchema.parse(content)).toEqual(content);
  });

  const reaction = (emoji: string) => ({
    kind: 'reaction',
    targetMessageId: guid,
    targetAuthorAccountId: uuid,
    emoji,
    remove: false,
    sentAt: 1,
  });

  it.each(['👍', '❤️', '❤', '👍🏽', '👩‍👩‍👧', '🏳️‍🌈', '🇩🇪', '1️⃣'])('accepts the reaction %s', (emoji) => {
    expect(ContentSchema.parse(reaction(emoji))).toEqual(reaction(emoji));
  });

  // Shown as a chip under someone else's message, words would read as theirs.
  it.each(['', 'ok', '👍👍', '👍 send me the recovery key', '\u202e👍', '👍\u200b'])(
    'rejects the reaction %j',
    (emoji) => {
      expectRejected(ContentSchema, reaction(emoji), 'emoji');
    },
  );

  it.each([
    ['an unknown kind', { kind: 'poll', ...base }, 'kind'],
    ['an empty text', { kind: 'text', ...base, body: '' }, 'body'],
    ['a reply without a quote', { kind: 'reply', ...base, body: 'x' }, 'quote'],
    ['a receipt of an unknown type', { kind: 'receipt', receipt: 'viewed', messageIds: [guid], at: 1 }, 'receipt'],
    ['a negative timer', { kind: 'timer', expiresInSeconds: -1, sentAt: 1 }, 'expiresInSeconds'],
    [
      'an ICE message without candidates',
      { kind: 'call', callId: guid, signal: { type: 'ice', candidates: [] }, sentAt: 1 },
      'signal.candidates',
    ],
  ])('rejects %s', (_name, input, path) => {
    expectRejected(ContentSchema, input, path);
  });
});

describe('error body', () => {
  it('carries stale device lists', () => {
    const body = ErrorBodySchema.parse({
      error: {
        code: 'stale_devices',
        message: 'device list changed',
        requestId: 'r1',
        missingDevices: [2],
        extraDevices: [3],
      },
    });
    expect(body.error.missingDevices).toEqual([2]);
    expectRejected(ErrorBodySchema, { error: { code: 'teapot', message: '', requestId: 'r' } }, 'error.code');
  });
});
