import { createPrivateKey, createPublicKey } from 'node:crypto';
import { type AccessClaims, AccessClaimsSchema } from '@sotto/shared-types';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { Sql } from '../store/db.js';
import { getOrCreateServerKey } from '../store/server-keys.js';

const ALG = 'EdDSA';
/** Clock skew tolerated between relay instances for a token's issue time. */
const MAX_FUTURE_IAT_SECONDS = 5;

type Key = Awaited<ReturnType<typeof importJWK>>;

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
}

/** Verified tokens remembered (an Ed25519 check per request is the most expensive step of a send). */
const VERIFIED_CACHE_SIZE = 20_000;

/**
 * Signs and verifies access JWTs (EdDSA / Ed25519) with alg, iss and aud pinned. A token that verified is
 * remembered with its expiry, so the next request with it skips the signature check; revocation is still
 * checked per request (isFamilyLive), so this only caches what the signature proves.
 */
export class AccessTokens {
  private readonly verified = new Map<string, { claims: AccessClaims; expMs: number; iatMs: number }>();

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
  async verify(token: string, { remember = true }: { remember?: boolean } = {}): Promise<AccessClaims | undefined> {
    const known = this.verified.get(token);
    if (known) {
      const now = this.options.clock.now();
      if (known.expMs > now && known.iatMs <= now + MAX_FUTURE_IAT_SECONDS * 1000) {
        return known.claims;
      }
      this.verified.delete(token);
    }
    try {
      const now = this.options.clock.now();
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALG],
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(now),
      });
      // jose checks `iat` only with maxTokenAge: refuse tokens dated in the future (a few seconds of skew allowed).
      if ((payload.iat ?? 0) > Math.floor(now / 1000) + MAX_FUTURE_IAT_SECONDS) {
        return undefined;
      }
      const claims = AccessClaimsSchema.safeParse(payload);
      if (!claims.success) {
        return undefined;
      }
      if (remember) {
        this.remember(token, {
          claims: claims.data,
          expMs: (payload.exp ?? 0) * 1000,
          iatMs: (payload.iat ?? 0) * 1000,
        });
      }
      return claims.data;
    } catch {
      return undefined;
    }
  }

  private remember(token: string, entry: { claims: AccessClaims; expMs: number; iatMs: number }): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Oldest first (a Map keeps insertion order): drop a tenth at once rather than one per insert.
      let drop = Math.ceil(VERIFIED_CACHE_SIZE / 10);
      for (const key of this.verified.keys()) {
        this.verified.delete(key);
        drop -= 1;
        if (drop === 0) {
          break;
        }
      }
    }
    this.verified.set(token, entry);
  }
}
