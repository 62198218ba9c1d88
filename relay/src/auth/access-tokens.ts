import { createPrivateKey, createPublicKey } from 'node:crypto';
import { type AccessClaims, AccessClaimsSchema } from '@sotto/shared-types';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { Sql } from '../store/db.js';
import { getOrCreateServerKey } from '../store/server-keys.js';

const ALG = 'EdDSA';

type Key = Awaited<ReturnType<typeof importJWK>>;

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
}

/** Signs and verifies access JWTs (EdDSA / Ed25519) with alg, iss and aud pinned. */
export class AccessTokens {
  private constructor(
    private readonly privateKey: Key,
    private readonly publicKey: Key,
    private readonly options: AccessTokenOptions,
  ) {}

  /** Uses JWT_PRIVATE_KEY when given, else the key pair kept in Postgres (generated once, shared by every instance). */
  static async load(sql: Sql, pem: string | undefined, options: AccessTokenOptions): Promise<AccessTokens> {
    let privateJwk: JWK;
    let publicJwk: JWK;
    if (pem) {
      const key = createPrivateKey(pem);
      privateJwk = key.export({ format: 'jwk' }) as JWK;
      publicJwk = createPublicKey(key).export({ format: 'jwk' }) as JWK;
    } else {
      const stored = await getOrCreateServerKey(
        sql,
        'jwt-ed25519',
        async () => {
          const pair = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
          return {
            privateJwk: { ...(await exportJWK(pair.privateKey)) },
            publicJwk: { ...(await exportJWK(pair.publicKey)) },
          };
        },
        options.clock.now(),
      );
      privateJwk = stored.privateJwk as JWK;
      publicJwk = stored.publicJwk as JWK;
    }
    return new AccessTokens(await importJWK(privateJwk, ALG), await importJWK(publicJwk, ALG), options);
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  async sign(claims: AccessClaims): Promise<string> {
    const nowSeconds = Math.floor(this.options.clock.now() / 1000);
    return new SignJWT({ did: claims.did, fam: claims.fam })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.options.ttlSeconds)
      .sign(this.privateKey);
  }

  /** The claims of a valid token, or undefined for anything else (bad signature, expired, wrong iss/aud/alg). */
  async verify(token: string): Promise<AccessClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALG],
        issuer: this.options.issuer,
        audience: this.options.audience,
        currentDate: new Date(this.options.clock.now()),
      });
      const claims = AccessClaimsSchema.safeParse(payload);
      return claims.success ? claims.data : undefined;
    } catch {
      return undefined;
    }
  }
}
