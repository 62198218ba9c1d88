import { randomUUID } from 'node:crypto';
import type {
  AccountLookupResponse,
  DeviceBundle,
  DeviceListResponse,
  Envelope,
  KeyCountResponse,
  KyberPreKey,
  PreKey,
  PreKeyBundleResponse,
  RegisterRequest,
  RegisterResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  SignedPreKey,
  UploadKeysRequest,
} from '@sotto/shared-types';
import { SottoError } from '../../../src/core/errors.js';
import type {
  DeviceCredentials,
  RelayApi,
  RelaySocket,
  SocketHandlers,
} from '../../../src/core/relay-client/relay-api.js';

interface Device {
  accountId: string;
  deviceId: number;
  registrationId: number;
  secret: string;
  signedPreKey?: SignedPreKey;
  lastResort?: KyberPreKey;
  preKeys: PreKey[];
  kyberPreKeys: KyberPreKey[];
  queue: Envelope[];
  socket?: { handlers: SocketHandlers; inFlight: Set<string> };
}

interface Account {
  id: string;
  username: string;
  identityKey?: string;
  devices: Map<number, Device>;
}

/**
 * An in-process stand-in for the relay with the same contract (409/410, consumed prekeys,
 * durable per-device queues, ack-based deletion). For unit tests of two cores without a network.
 */
export class MemoryRelay {
  readonly accounts = new Map<string, Account>();
  /** Every envelope content ever queued (to check what the relay could see). */
  readonly seen: string[] = [];

  /** When true, registering an existing username re-registers that account (a reinstall: new keys, same id). */
  constructor(private readonly options: { reRegistration?: boolean } = {}) {}

  client(): RelayApi {
    return new MemoryRelayClient(this);
  }

  register(request: RegisterRequest): RegisterResponse {
    const existing = [...this.accounts.values()].find((a) => a.username === request.username);
    if (existing && this.options.reRegistration) {
      const device: Device = {
        accountId: existing.id,
        deviceId: 1,
        registrationId: request.registrationId,
        secret: request.deviceSecret,
        preKeys: [],
        kyberPreKeys: [],
        queue: [],
      };
      existing.devices.set(1, device);
      existing.identityKey = undefined;
      return { accountId: existing.id, deviceId: 1, username: existing.username };
    }
    if (existing) {
      throw new SottoError('relay_error', 'username taken', { status: 409, relayCode: 'username_taken' });
    }
    const id = randomUUID();
    const device: Device = {
      accountId: id,
      deviceId: 1,
      registrationId: request.registrationId,
      secret: request.deviceSecret,
      preKeys: [],
      kyberPreKeys: [],
      queue: [],
    };
    this.accounts.set(id, { id, username: request.username, devices: new Map([[1, device]]) });
    return { accountId: id, deviceId: 1, username: request.username };
  }

  device(credentials: DeviceCredentials | undefined): Device {
    const device = credentials && this.accounts.get(credentials.accountId)?.devices.get(credentials.deviceId);
    if (!device || device.secret !== credentials?.deviceSecret) {
      throw new SottoError('relay_error', 'unauthorized', { status: 401, relayCode: 'unauthorized' });
    }
    return device;
  }

  deliver(device: Device): void {
    const socket = device.socket;
    if (!socket) {
      return;
    }
    for (const envelope of device.queue) {
      if (!socket.inFlight.has(envelope.guid)) {
        socket.inFlight.add(envelope.guid);
        const copy = { ...envelope };
        queueMicrotask(() => socket.handlers.onEnvelope(copy));
      }
    }
  }
}

class MemoryRelayClient implements RelayApi {
  #credentials: DeviceCredentials | undefined;

  constructor(private readonly relay: MemoryRelay) {}

  setCredentials(credentials: DeviceCredentials): void {
    this.#credentials = credentials;
  }

  async register(request: RegisterRequest): Promise<RegisterResponse> {
    return this.relay.register(request);
  }

  async deleteAccount(): Promise<void> {
    this.relay.accounts.delete(this.relay.device(this.#credentials).accountId);
  }

  async listDevices(): Promise<DeviceListResponse> {
    const account = this.relay.accounts.get(this.relay.device(this.#credentials).accountId) as Account;
    return {
      devices: [...account.devices].map(([deviceId, d]) => ({
        deviceId,
        name: null,
        registrationId: d.registrationId,
        createdAt: 0,
        lastSeenAt: null,
      })),
    };
  }

  async removeDevice(deviceId: number): Promise<void> {
    this.relay.accounts.get(this.relay.device(this.#credentials).accountId)?.devices.delete(deviceId);
  }

  async uploadKeys(request: UploadKeysRequest): Promise<void> {
    const device = this.relay.device(this.#credentials);
    const account = this.relay.accounts.get(device.accountId) as Account;
    if (request.identityKey) {
      account.identityKey = request.identityKey;
    }
    device.signedPreKey = request.signedPreKey ?? device.signedPreKey;
    device.lastResort = request.lastResortKyberPreKey ?? device.lastResort;
    device.preKeys.push(...(request.preKeys ?? []));
    device.kyberPreKeys.push(...(request.kyberPreKeys ?? []));
  }

  async keyCount(): Promise<KeyCountResponse> {
    const device = this.relay.device(this.#credentials);
    return {
      preKeys: device.preKeys.length,
      kyberPreKeys: device.kyberPreKeys.length,
      preKeyIds: device.preKeys.map((k) => k.keyId),
      kyberPreKeyIds: device.kyberPreKeys.map((k) => k.keyId),
    };
  }

  async lookupUsername(username: string): Promise<AccountLookupResponse> {
    const account = [...this.relay.accounts.values()].find((a) => a.username === username);
    if (!account) {
      throw new SottoError('relay_error', 'not found', { status: 404, relayCode: 'not_found' });
    }
    return { accountId: account.id, username: account.username };
  }

  async bundle(accountId: string, deviceId: number | '*'): Promise<PreKeyBundleResponse> {
    this.relay.device(this.#credentials);
    const account = this.relay.accounts.get(accountId);
    if (!account?.identityKey) {
      throw new SottoError('relay_error', 'not found', { status: 404, relayCode: 'not_found' });
    }
    const devices = [...account.devices.values()].filter((d) => deviceId === '*' || d.deviceId === deviceId);
    return {
      accountId,
      username: account.username,
      identityKey: account.identityKey,
      devices: devices.map((d): DeviceBundle => {
        const kyber = d.kyberPreKeys.shift();
        const preKey = d.preKeys.shift();
        return {
          deviceId: d.deviceId,
          registrationId: d.registrationId,
          signedPreKey: d.signedPreKey as SignedPreKey,
          kyberPreKey: kyber ?? (d.lastResort as KyberPreKey),
          kyberPreKeyIsLastResort: !kyber,
          ...(preKey ? { preKey } : {}),
        };
      }),
    };
  }

  async sendMessages(accountId: string, request: SendMessagesRequest): Promise<SendMessagesResponse> {
    const sender = this.relay.device(this.#credentials);
    const account = this.relay.accounts.get(accountId);
    if (!account) {
      throw new SottoError('relay_error', 'not found', { status: 404, relayCode: 'not_found' });
    }
    const wanted = [...account.devices.keys()];
    const given = request.messages.map((m) => m.destinationDeviceId);
    const missing = wanted.filter((d) => !given.includes(d));
    const extra = given.filter((d) => !wanted.includes(d));
    if (request.messages[0]?.type !== 'plaintext' && (missing.length > 0 || extra.length > 0)) {
      throw new SottoError('relay_error', 'stale devices', {
        status: 409,
        relayCode: 'stale_devices',
        details: { missingDevices: missing, extraDevices: extra, staleDevices: [] },
      });
    }
    const stale = request.messages.filter(
      (m) =>
        m.type !== 'plaintext' &&
        account.devices.get(m.destinationDeviceId)?.registrationId !== m.destinationRegistrationId,
    );
    if (stale.length > 0) {
      throw new SottoError('relay_error', 'stale registration', {
        status: 410,
        relayCode: 'stale_registration',
        details: { missingDevices: [], extraDevices: [], staleDevices: stale.map((m) => m.destinationDeviceId) },
      });
    }
    const now = Date.now();
    const out: SendMessagesResponse['messages'] = [];
    for (const message of request.messages) {
      const device = account.devices.get(message.destinationDeviceId) as Device;
      const envelope: Envelope = {
        guid: randomUUID(),
        type: message.type,
        sourceAccountId: sender.accountId,
        sourceDeviceId: sender.deviceId,
        destinationDeviceId: device.deviceId,
        clientTimestamp: request.timestamp,
        serverTimestamp: now,
        content: message.content,
      };
      this.relay.seen.push(message.content);
      if (!request.online) {
        device.queue.push(envelope);
      } else if (device.socket) {
        queueMicrotask(() => device.socket?.handlers.onEnvelope(envelope));
      }
      out.push({ destinationDeviceId: device.deviceId, guid: envelope.guid, serverTimestamp: now });
      this.relay.deliver(device);
    }
    return { messages: out };
  }

  openSocket(handlers: SocketHandlers): RelaySocket {
    const device = this.relay.device(this.#credentials);
    device.socket = { handlers, inFlight: new Set() };
    queueMicrotask(() => {
      handlers.onState('online');
      this.relay.deliver(device);
      queueMicrotask(() => handlers.onQueueEmpty());
    });
    return {
      ack: (guids) => {
        device.queue = device.queue.filter((e) => !guids.includes(e.guid));
      },
      close: async () => {
        device.socket = undefined;
        handlers.onState('offline');
      },
    };
  }
}

/**
 * Breaks the MAC of the message `device` has waiting from the send at `sentAt` (a plain message: the MAC is
 * its last bytes), so it cannot be decrypted. Throws when no such message waits.
 */
export function breakWaitingMessage(device: { queue: Envelope[] } | undefined, sentAt: number | undefined): void {
  const waiting = device?.queue.find((e) => e.clientTimestamp === sentAt);
  if (waiting?.type !== 'whisper') {
    throw new Error('no plain message from that send is waiting at the relay');
  }
  const bytes = Buffer.from(waiting.content, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  waiting.content = bytes.toString('base64');
}
