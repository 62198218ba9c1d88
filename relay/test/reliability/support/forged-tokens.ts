import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import postgres from 'postgres';

export interface ForgedToken {
  name: string;
  token: string;
}

export interface TokenContext {
  /** The relay's real signing key (read from its database, as an attacker who stole it could not). */
  privateJwk: JWK;
  publicJwk: JWK;
  issuer: string;
  audience: string;
  /** A real access token of the victim, to tamper with. */
  victimToken: string;
  victim: { accountId: string; deviceId: number; familyId: string };
  other: { accountId: string };
  revokedFamilyId: string;
}

const b64u = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const unsigned = (header: object, payload: object, sig = '') =>
  `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}.${sig}`;
const hmac = (alg: 'sha256' | 'sha512', key: Buffer | string, header: object, payload: object) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${createHmac(alg, key).update(input).digest('base64url')}`;
};

export async function readServerKey(databaseUrl: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ private_jwk: JWK; public_jwk: JWK }[]>`
      SELECT private_jwk, public_jwk FROM server_keys WHERE name = 'jwt-ed25519'`;
    if (!row) {
      throw new Error('no server key');
    }
    return { privateJwk: row.private_jwk, publicJwk: row.public_jwk };
  } finally {
    await sql.end();
  }
}

/** Tokens that must all be refused: forged, tampered, truncated, expired, future-dated, mis-addressed. */
export async function forgeTokens(ctx: TokenContext): Promise<ForgedToken[]> {
  const now = Math.floor(Date.now() / 1000);
  const { accountId, deviceId, familyId } = ctx.victim;
  const claims = {
    sub: accountId,
    did: deviceId,
    fam: familyId,
    iss: ctx.issuer,
    aud: ctx.audience,
    iat: now,
    exp: now + 600,
  };
  const realKey = await importJWK(ctx.privateJwk, 'EdDSA');
  const real = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...header }).sign(realKey);
  /** Signed with the real key by hand, for headers jose will not produce. */
  const rawReal = (header: Record<string, unknown>, body: object) => {
    const input = `${b64u(JSON.stringify({ alg: 'EdDSA', ...header }))}.${b64u(JSON.stringify(body))}`;
    const key = createPrivateKey({ key: ctx.privateJwk as never, format: 'jwk' });
    return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
  };
  const without = (key: keyof typeof claims) => {
    const copy: Record<string, unknown> = { ...claims };
    delete copy[key];
    return copy;
  };
  const otherEd = generateKeyPairSync('ed25519');
  const otherKey = await importJWK(otherEd.privateKey.export({ format: 'jwk' }) as JWK, 'EdDSA');
  const otherJwk = otherEd.publicKey.export({ format: 'jwk' });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p256Key = await importJWK(p256.privateKey.export({ format: 'jwk' }) as JWK, 'ES256');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaKey = await importJWK(rsa.privateKey.export({ format: 'jwk' }) as JWK, 'RS256');
  const publicPem = createPublicKey({ key: ctx.publicJwk as never, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string;
  const publicRaw = Buffer.from(ctx.publicJwk.x ?? '', 'base64url');
  const [h, p, s] = ctx.victimToken.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const hs = { alg: 'HS256', typ: 'JWT' };

  const list: [string, string | Promise<string>][] = [
    ['alg none', unsigned({ alg: 'none', typ: 'JWT' }, claims)],
    ['alg None', unsigned({ alg: 'None' }, claims)],
    ['alg NONE with the real signature kept', unsigned({ alg: 'NONE' }, claims, s)],
    ['alg none, empty header', unsigned({}, claims)],
    ['HS256 keyed with the public key (raw 32 bytes)', hmac('sha256', publicRaw, hs, claims)],
    ['HS256 keyed with the public key (PEM)', hmac('sha256', publicPem, hs, claims)],
    ['HS256 keyed with the public key (JWK JSON)', hmac('sha256', JSON.stringify(ctx.publicJwk), hs, claims)],
    ['HS256 keyed with the public key (base64url x)', hmac('sha256', ctx.publicJwk.x ?? '', hs, claims)],
    ['HS512 keyed with the public key', hmac('sha512', publicRaw, { alg: 'HS512' }, claims)],
    ['EdDSA signed by another key', new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).sign(otherKey)],
    [
      'EdDSA signed by another key, that key embedded as jwk header',
      new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', jwk: otherJwk as never }).sign(otherKey),
    ],
    [
      'EdDSA signed by another key, jku/kid pointing elsewhere',
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', jku: 'http://127.0.0.1:1/jwks', kid: '../../dev/null' })
        .sign(otherKey),
    ],
    ['ES256 with a fresh P-256 key', new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(p256Key)],
    ['RS256 with a fresh RSA key', new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(rsaKey)],
    ['expired a second ago (real key)', real({ ...claims, iat: now - 601, exp: now - 1 })],
    ['expired a day ago (real key)', real({ ...claims, iat: now - 86_401, exp: now - 86_400 })],
    ['not valid before next hour (nbf, real key)', real({ ...claims, nbf: now + 3600 })],
    ['issued next hour (iat in the future, real key)', real({ ...claims, iat: now + 3600, exp: now + 4200 })],
    [
      'issued next year (iat in the future, real key)',
      real({ ...claims, iat: now + 31_536_000, exp: now + 31_536_600 }),
    ],
    ['wrong audience (real key)', real({ ...claims, aud: 'someone-else' })],
    ['audience list without ours (real key)', real({ ...claims, aud: ['a', 'b'] })],
    ['no audience (real key)', real(without('aud'))],
    ['wrong issuer (real key)', real({ ...claims, iss: 'https://evil.example' })],
    ['no issuer (real key)', real(without('iss'))],
    ['no expiry (real key)', real(without('exp'))],
    ['no subject (real key)', real(without('sub'))],
    ['revoked family (real key)', real({ ...claims, fam: ctx.revokedFamilyId })],
    ['unknown family (real key)', real({ ...claims, fam: '6f1d7f3e-0000-4000-8000-000000000000' })],
    ['another device of the family (real key)', real({ ...claims, did: deviceId + 1 })],
    ['another account with our family (real key)', real({ ...claims, sub: ctx.other.accountId })],
    ['device id as a string (real key)', real({ ...claims, did: String(deviceId) })],
    ['crit header with an unknown extension (real key)', rawReal({ crit: ['x-sotto'], 'x-sotto': 1 }, claims)],
    ['b64:false header (real key)', rawReal({ b64: false, crit: ['b64'] }, claims)],
    [
      'payload tampered: subject swapped',
      `${h}.${b64u(JSON.stringify({ ...payload, sub: ctx.other.accountId }))}.${s}`,
    ],
    ['payload tampered: expiry extended', `${h}.${b64u(JSON.stringify({ ...payload, exp: now + 10 ** 8 }))}.${s}`],
    ['header tampered: alg HS256', `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${p}.${s}`],
    ['signature bit flipped (first char)', `${h}.${p}.${flip(s, 0)}`],
    ['signature bit flipped (middle)', `${h}.${p}.${flip(s, 40)}`],
    ['signature dropped', `${h}.${p}.`],
    ['signature truncated by one char', `${h}.${p}.${s.slice(0, -1)}`],
    ['signature with a character appended', `${h}.${p}.${s}A`],
    ['two segments only', `${h}.${p}`],
    ['five segments (JWE shape)', `${h}.${p}.${s}.${s}.${s}`],
    ['token truncated in the payload', ctx.victimToken.slice(0, h.length + 10)],
    ['token with a trailing dot', `${ctx.victimToken}.`],
    ['signature replaced by another token signature', `${h}.${p}.${b64u(Buffer.alloc(64, 7))}`],
  ];
  return Promise.all(list.map(async ([name, token]) => ({ name, token: await token })));
}
