import { KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import type { UploadKeysRequest } from '@sotto/shared-types';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export interface TestKeys {
  identity: PrivateKey;
  upload: UploadKeysRequest;
}

/** Real libsignal keys: identity, signed EC prekey, last-resort Kyber, and `oneTime` one-time keys of each kind. */
export function generateKeys(oneTime = 3, identity = PrivateKey.generate(), firstId = 1): TestKeys {
  const signed = PrivateKey.generate().getPublicKey().serialize();
  const lastResort = KEMKeyPair.generate().getPublicKey().serialize();
  const preKeys = Array.from({ length: oneTime }, (_, i) => ({
    keyId: firstId + i,
    publicKey: b64(PrivateKey.generate().getPublicKey().serialize()),
  }));
  const kyberPreKeys = Array.from({ length: oneTime }, (_, i) => {
    const pub = KEMKeyPair.generate().getPublicKey().serialize();
    return { keyId: firstId + 1000 + i, publicKey: b64(pub), signature: b64(identity.sign(pub)) };
  });
  return {
    identity,
    upload: {
      identityKey: b64(identity.getPublicKey().serialize()),
      signedPreKey: { keyId: 1, publicKey: b64(signed), signature: b64(identity.sign(signed)) },
      lastResortKyberPreKey: { keyId: 999, publicKey: b64(lastResort), signature: b64(identity.sign(lastResort)) },
      preKeys,
      kyberPreKeys,
    },
  };
}
