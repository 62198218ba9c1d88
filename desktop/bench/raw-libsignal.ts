import {
  CiphertextMessageType,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  type PrivateKey,
  ProtocolAddress,
  type PublicKey,
  processPreKeyBundle,
  SessionRecord,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';

/** libsignal with in-memory stores (records serialised on save/load, as any real store does): the ceiling. */
class MemStores {
  identity: IdentityKeyPair = IdentityKeyPair.generate();
  readonly registrationId = 1 + Math.floor(Math.random() * 16000);
  readonly sessions = new Map<string, Uint8Array<ArrayBuffer>>();
  readonly identities = new Map<string, PublicKey>();
  readonly preKeys = new Map<number, PreKeyRecord>();
  readonly signed = new Map<number, SignedPreKeyRecord>();
  readonly kyber = new Map<number, KyberPreKeyRecord>();
  readonly session: SessionStore;
  readonly identityStore: IdentityKeyStore;
  readonly preKeyStore: PreKeyStore;
  readonly signedStore: SignedPreKeyStore;
  readonly kyberStore: KyberPreKeyStore;

  constructor() {
    const self = this;
    this.session = new (class extends SessionStore {
      async saveSession(a: ProtocolAddress, r: SessionRecord) {
        self.sessions.set(a.toString(), r.serialize());
      }
      async getSession(a: ProtocolAddress) {
        const r = self.sessions.get(a.toString());
        return r ? SessionRecord.deserialize(r) : null;
      }
      async getExistingSessions(addresses: ProtocolAddress[]) {
        return addresses.map((a) =>
          SessionRecord.deserialize(self.sessions.get(a.toString()) as Uint8Array<ArrayBuffer>),
        );
      }
    })();
    this.identityStore = new (class extends IdentityKeyStore {
      async getIdentityKey(): Promise<PrivateKey> {
        return self.identity.privateKey;
      }
      async getLocalRegistrationId() {
        return self.registrationId;
      }
      async saveIdentity(a: ProtocolAddress, k: PublicKey) {
        self.identities.set(a.name(), k);
        return IdentityChange.NewOrUnchanged;
      }
      async isTrustedIdentity() {
        return true;
      }
      async getIdentity(a: ProtocolAddress) {
        return self.identities.get(a.name()) ?? null;
      }
    })();
    this.preKeyStore = new (class extends PreKeyStore {
      async savePreKey(id: number, r: PreKeyRecord) {
        self.preKeys.set(id, r);
      }
      async getPreKey(id: number) {
        return self.preKeys.get(id) as PreKeyRecord;
      }
      async removePreKey(id: number) {
        self.preKeys.delete(id);
      }
    })();
    this.signedStore = new (class extends SignedPreKeyStore {
      async saveSignedPreKey(id: number, r: SignedPreKeyRecord) {
        self.signed.set(id, r);
      }
      async getSignedPreKey(id: number) {
        return self.signed.get(id) as SignedPreKeyRecord;
      }
    })();
    this.kyberStore = new (class extends KyberPreKeyStore {
      async saveKyberPreKey(id: number, r: KyberPreKeyRecord) {
        self.kyber.set(id, r);
      }
      async getKyberPreKey(id: number) {
        return self.kyber.get(id) as KyberPreKeyRecord;
      }
      async markKyberPreKeyUsed() {}
    })();
  }

  bundle(id: number): PreKeyBundle {
    const pre = this.identity.privateKey; // signing key
    const ec = IdentityKeyPair.generate();
    this.preKeys.set(id, PreKeyRecord.new(id, ec.publicKey, ec.privateKey));
    const spk = IdentityKeyPair.generate();
    const spkSig = pre.sign(spk.publicKey.serialize());
    this.signed.set(id, SignedPreKeyRecord.new(id, Date.now(), spk.publicKey, spk.privateKey, spkSig));
    const kem = KEMKeyPair.generate();
    const kemSig = pre.sign(kem.getPublicKey().serialize());
    this.kyber.set(id, KyberPreKeyRecord.new(id, Date.now(), kem, kemSig));
    return PreKeyBundle.new(
      this.registrationId,
      1,
      id,
      ec.publicKey,
      id,
      spk.publicKey,
      spkSig,
      this.identity.publicKey,
      id,
      kem.getPublicKey(),
      kemSig,
    );
  }
}

/** Encrypt + decrypt pairs per second, one direction, 200-byte messages, raw libsignal in memory. */
export async function rawLibsignalPairsPerSecond(count: number): Promise<number> {
  const alice = new MemStores();
  const bob = new MemStores();
  const aAddr = ProtocolAddress.new('alice', 1);
  const bAddr = ProtocolAddress.new('bob', 1);
  await processPreKeyBundle(bob.bundle(1), bAddr, aAddr, alice.session, alice.identityStore);
  const payload = new Uint8Array(200).fill(7) as Uint8Array<ArrayBuffer>;
  const first = await signalEncrypt(payload, bAddr, aAddr, alice.session, alice.identityStore);
  await signalDecryptPreKey(
    PreKeySignalMessage.deserialize(first.serialize()),
    aAddr,
    bAddr,
    bob.session,
    bob.identityStore,
    bob.preKeyStore,
    bob.signedStore,
    bob.kyberStore,
  );
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const ct = await signalEncrypt(payload, bAddr, aAddr, alice.session, alice.identityStore);
    if (ct.type() === CiphertextMessageType.PreKey) {
      await signalDecryptPreKey(
        PreKeySignalMessage.deserialize(ct.serialize()),
        aAddr,
        bAddr,
        bob.session,
        bob.identityStore,
        bob.preKeyStore,
        bob.signedStore,
        bob.kyberStore,
      );
    } else {
      await signalDecrypt(SignalMessage.deserialize(ct.serialize()), aAddr, bAddr, bob.session, bob.identityStore);
    }
  }
  return count / ((performance.now() - start) / 1000);
}
