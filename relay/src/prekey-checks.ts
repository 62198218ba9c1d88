import { KEMPublicKey, PublicKey } from '@signalapp/libsignal-client';
import type { UploadKeysRequest } from '@sotto/shared-types';
import { RelayError } from './errors.js';
import type { KeyUpload, SignedKey } from './store/keys.js';

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

function badKey(field: string): RelayError {
  return new RelayError({
    code: 'bad_request',
    message: `${field} is not a valid public key`,
    extra: { fields: [field] },
  });
}

function badSignature(field: string): RelayError {
  return new RelayError({
    code: 'invalid_signature',
    message: `${field} is not signed by the account's identity key`,
    extra: { fields: [field] },
  });
}

export function parseIdentityKey(b64: string, field = 'identityKey'): PublicKey {
  try {
    return PublicKey.deserialize(bytes(b64));
  } catch {
    throw badKey(field);
  }
}

function checkEcKey(b64: string, field: string): Buffer {
  try {
    PublicKey.deserialize(bytes(b64));
  } catch {
    throw badKey(field);
  }
  return Buffer.from(b64, 'base64');
}

function checkSigned(
  identity: PublicKey,
  key: { keyId: number; publicKey: string; signature: string },
  field: string,
  kind: 'ec' | 'kyber',
): SignedKey {
  const pub = bytes(key.publicKey);
  try {
    if (kind === 'ec') {
      PublicKey.deserialize(pub);
    } else {
      KEMPublicKey.deserialize(pub);
    }
  } catch {
    throw badKey(`${field}.publicKey`);
  }
  let valid = false;
  try {
    valid = identity.verify(pub, bytes(key.signature));
  } catch {
    valid = false;
  }
  if (!valid) {
    throw badSignature(`${field}.signature`);
  }
  return { keyId: key.keyId, publicKey: Buffer.from(pub), signature: Buffer.from(key.signature, 'base64') };
}

/**
 * Checks every key of an upload against the identity key (libsignal XEdDSA verification) before anything is
 * written, so a rejected upload changes nothing. Throws a 400 naming the offending field.
 */
export function checkKeyUpload(identity: PublicKey | undefined, body: UploadKeysRequest): KeyUpload {
  const needsIdentity = body.signedPreKey || body.lastResortKyberPreKey || (body.kyberPreKeys?.length ?? 0) > 0;
  if (needsIdentity && !identity) {
    throw new RelayError({
      code: 'bad_request',
      message: 'upload the identity key before signed prekeys',
      extra: { fields: ['identityKey'] },
    });
  }
  const upload: KeyUpload = {};
  if (identity && body.signedPreKey) {
    upload.signedPreKey = checkSigned(identity, body.signedPreKey, 'signedPreKey', 'ec');
  }
  if (identity && body.lastResortKyberPreKey) {
    upload.lastResortKyberPreKey = checkSigned(identity, body.lastResortKyberPreKey, 'lastResortKyberPreKey', 'kyber');
  }
  if (identity && body.kyberPreKeys) {
    upload.kyberPreKeys = body.kyberPreKeys.map((k, i) => checkSigned(identity, k, `kyberPreKeys.${i}`, 'kyber'));
  }
  if (body.preKeys) {
    upload.preKeys = body.preKeys.map((k, i) => ({
      keyId: k.keyId,
      publicKey: checkEcKey(k.publicKey, `preKeys.${i}.publicKey`),
    }));
  }
  return upload;
}
