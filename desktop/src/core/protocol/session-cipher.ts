import {
  CiphertextMessageType,
  DecryptionErrorMessage,
  KEMPublicKey,
  PlaintextContent,
  PreKeyBundle,
  PreKeySignalMessage,
  ProtocolAddress,
  PublicKey,
  processPreKeyBundle,
  SignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import type { DeviceBundle, EnvelopeType, OutgoingMessage, PreKeyBundleResponse } from '@sotto/shared-types';
import { fromLibSignal, SottoError } from '../errors.js';
import type { ProtocolStores } from './protocol-stores.js';

/** Decoded base64, not copied again: a Buffer's memory is always an ArrayBuffer, and libsignal copies what it reads. */
const bytes = (b64: string) => Buffer.from(b64, 'base64') as Uint8Array as Uint8Array<ArrayBuffer>;
const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64');

const addresses = new Map<string, ProtocolAddress>();

/**
 * One ProtocolAddress per device, made once: it is immutable, and making one (a native object and its
 * finalizer) per store call was a measurable part of each decrypt. Bounded: a long-lived process meets few.
 */
function protocolAddress(accountId: string, deviceId: number): ProtocolAddress {
  const key = `${deviceId}:${accountId}`;
  let address = addresses.get(key);
  if (!address) {
    if (addresses.size >= 1000) {
      addresses.clear();
    }
    address = ProtocolAddress.new(accountId, deviceId);
    addresses.set(key, address);
  }
  return address;
}

export interface LocalAddress {
  accountId: string;
  deviceId: number;
}

/** Sets up a session with one device from a relay bundle (PQXDH; the one-time EC prekey is optional). */
export async function startSession(
  stores: ProtocolStores,
  local: LocalAddress,
  bundle: PreKeyBundleResponse,
  device: DeviceBundle,
): Promise<void> {
  try {
    const libBundle = PreKeyBundle.new(
      device.registrationId,
      device.deviceId,
      device.preKey?.keyId ?? null,
      device.preKey ? PublicKey.deserialize(bytes(device.preKey.publicKey)) : null,
      device.signedPreKey.keyId,
      PublicKey.deserialize(bytes(device.signedPreKey.publicKey)),
      bytes(device.signedPreKey.signature),
      PublicKey.deserialize(bytes(bundle.identityKey)),
      device.kyberPreKey.keyId,
      KEMPublicKey.deserialize(bytes(device.kyberPreKey.publicKey)),
      bytes(device.kyberPreKey.signature),
    );
    await processPreKeyBundle(
      libBundle,
      protocolAddress(bundle.accountId, device.deviceId),
      protocolAddress(local.accountId, local.deviceId),
      stores.session,
      stores.identity,
    );
  } catch (error) {
    throw fromLibSignal(error, 'start session');
  }
}

export async function encryptForDevice(
  stores: ProtocolStores,
  local: LocalAddress,
  accountId: string,
  deviceId: number,
  padded: Uint8Array<ArrayBuffer>,
): Promise<OutgoingMessage> {
  try {
    const address = protocolAddress(accountId, deviceId);
    const message = await signalEncrypt(
      padded,
      address,
      protocolAddress(local.accountId, local.deviceId),
      stores.session,
      stores.identity,
    );
    const record = await stores.session.getSession(address);
    const type: EnvelopeType = message.type() === CiphertextMessageType.PreKey ? 'prekey' : 'whisper';
    return {
      destinationDeviceId: deviceId,
      destinationRegistrationId: record?.remoteRegistrationId() ?? 1,
      type,
      content: b64(message.serialize()),
    };
  } catch (error) {
    throw fromLibSignal(error, 'encrypt');
  }
}

export interface DecryptInput {
  type: EnvelopeType;
  sourceAccountId: string;
  sourceDeviceId: number;
  content: string;
}

/** Decrypts a 1:1 envelope. Stores are written through the caller's open transaction. */
export async function decryptEnvelope(
  stores: ProtocolStores,
  local: LocalAddress,
  input: DecryptInput,
): Promise<Uint8Array<ArrayBuffer>> {
  const address = protocolAddress(input.sourceAccountId, input.sourceDeviceId);
  const localAddress = protocolAddress(local.accountId, local.deviceId);
  try {
    switch (input.type) {
      case 'prekey':
        return await signalDecryptPreKey(
          PreKeySignalMessage.deserialize(bytes(input.content)),
          address,
          localAddress,
          stores.session,
          stores.identity,
          stores.preKey,
          stores.signedPreKey,
          stores.kyberPreKey,
        );
      case 'whisper':
        return await signalDecrypt(
          SignalMessage.deserialize(bytes(input.content)),
          address,
          localAddress,
          stores.session,
          stores.identity,
        );
      default:
        throw new SottoError('invalid_message', `cannot decrypt a ${input.type} envelope here`);
    }
  } catch (error) {
    throw fromLibSignal(error, 'decrypt');
  }
}

/** The sender's registration id as far as we can tell without the relay (for a resend request). */
export function senderRegistrationId(stores: ProtocolStores, input: DecryptInput): number | null {
  if (input.type === 'prekey') {
    try {
      return PreKeySignalMessage.deserialize(bytes(input.content)).registrationId();
    } catch {
      return null;
    }
  }
  return stores.session.load(input.sourceAccountId, input.sourceDeviceId)?.remoteRegistrationId() ?? null;
}

/** libsignal DecryptionErrorMessage wrapped in PlaintextContent: "please resend what you sent at `timestamp`". */
export function buildDecryptionError(input: DecryptInput, timestamp: number): string {
  const type = input.type === 'prekey' ? CiphertextMessageType.PreKey : CiphertextMessageType.Whisper;
  const dem = DecryptionErrorMessage.forOriginal(bytes(input.content), type, timestamp, input.sourceDeviceId);
  return b64(PlaintextContent.from(dem).serialize());
}

export function readDecryptionError(content: string): { timestamp: number; deviceId: number } {
  try {
    const plaintext = PlaintextContent.deserialize(bytes(content));
    const dem = DecryptionErrorMessage.extractFromSerializedBody(plaintext.body());
    return { timestamp: dem.timestamp(), deviceId: dem.deviceId() };
  } catch (error) {
    throw fromLibSignal(error, 'read decryption error');
  }
}
