import {
  type Direction,
  KeyHelper,
  type KeyPairType,
  SessionBuilder,
  SessionCipher,
  SignalProtocolAddress,
  type StorageType,
} from '@privacyresearch/libsignal-protocol-typescript';

class Store implements StorageType {
  readonly data = new Map<string, unknown>();
  constructor(
    private readonly identity: KeyPairType,
    private readonly registrationId: number,
  ) {}
  async getIdentityKeyPair() {
    return this.identity;
  }
  async getLocalRegistrationId() {
    return this.registrationId;
  }
  async isTrustedIdentity(_id: string, _key: ArrayBuffer, _direction: Direction) {
    return true;
  }
  async saveIdentity(address: string, key: ArrayBuffer) {
    this.data.set(`identity:${address}`, key);
    return false;
  }
  async loadPreKey(id: string | number) {
    return this.data.get(`pre:${id}`) as KeyPairType | undefined;
  }
  async storePreKey(id: string | number, keyPair: KeyPairType) {
    this.data.set(`pre:${id}`, keyPair);
  }
  async removePreKey(id: string | number) {
    this.data.delete(`pre:${id}`);
  }
  async storeSession(address: string, record: string) {
    this.data.set(`session:${address}`, record);
  }
  async loadSession(address: string) {
    return this.data.get(`session:${address}`) as string | undefined;
  }
  async loadSignedPreKey(id: string | number) {
    return this.data.get(`signed:${id}`) as KeyPairType | undefined;
  }
  async storeSignedPreKey(id: string | number, keyPair: KeyPairType) {
    this.data.set(`signed:${id}`, keyPair);
  }
  async removeSignedPreKey(id: string | number) {
    this.data.delete(`signed:${id}`);
  }
}

/** The same one-direction encrypt + decrypt workload with the pure-TypeScript Signal implementation. */
export async function pureTsPairsPerSecond(count: number): Promise<{ pairsPerSecond: number; sessionMs: number }> {
  const aliceStore = new Store(await KeyHelper.generateIdentityKeyPair(), KeyHelper.generateRegistrationId());
  const bobIdentity = await KeyHelper.generateIdentityKeyPair();
  const bobStore = new Store(bobIdentity, KeyHelper.generateRegistrationId());
  const pre = await KeyHelper.generatePreKey(1);
  const signed = await KeyHelper.generateSignedPreKey(bobIdentity, 1);
  await bobStore.storePreKey(1, pre.keyPair);
  await bobStore.storeSignedPreKey(1, signed.keyPair);
  const bobAddress = new SignalProtocolAddress('bob', 1);
  const aliceAddress = new SignalProtocolAddress('alice', 1);
  const sessionStart = performance.now();
  await new SessionBuilder(aliceStore, bobAddress).processPreKey({
    identityKey: bobIdentity.pubKey,
    registrationId: await bobStore.getLocalRegistrationId(),
    preKey: { keyId: 1, publicKey: pre.keyPair.pubKey },
    signedPreKey: { keyId: 1, publicKey: signed.keyPair.pubKey, signature: signed.signature },
  });
  const aliceCipher = new SessionCipher(aliceStore, bobAddress);
  const bobCipher = new SessionCipher(bobStore, aliceAddress);
  const payload = new Uint8Array(200).fill(7).buffer;
  const first = await aliceCipher.encrypt(payload);
  await bobCipher.decryptPreKeyWhisperMessage(first.body ?? '', 'binary');
  const sessionMs = performance.now() - sessionStart;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const message = await aliceCipher.encrypt(payload);
    // Until the recipient answers, the sender keeps sending PreKeyWhisperMessages (type 3).
    if (message.type === 3) {
      await bobCipher.decryptPreKeyWhisperMessage(message.body ?? '', 'binary');
    } else {
      await bobCipher.decryptWhisperMessage(message.body ?? '', 'binary');
    }
  }
  return { pairsPerSecond: count / ((performance.now() - start) / 1000), sessionMs };
}
