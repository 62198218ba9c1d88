import type {
  AccountLookupResponse,
  DeviceListResponse,
  Envelope,
  KeyCountResponse,
  PreKeyBundleResponse,
  RegisterRequest,
  RegisterResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  UploadKeysRequest,
} from '@sotto/shared-types';
import type { ConnectionState } from '../messenger-types.js';

export interface DeviceCredentials {
  accountId: string;
  deviceId: number;
  deviceSecret: string;
}

export interface SocketHandlers {
  onEnvelope(envelope: Envelope): void;
  onQueueEmpty(): void;
  onState(state: ConnectionState): void;
}

export interface RelaySocket {
  /** Sends ack frames; `onWritten` runs once they were handed to the network (not: processed by the relay). */
  ack(guids: string[], onWritten?: () => void): void;
  close(): Promise<void>;
}

/**
 * What the core needs from a relay. `RelayClient` implements it over HTTP + WebSocket; tests
 * may pass an in-process implementation.
 */
export interface RelayApi {
  register(request: RegisterRequest): Promise<RegisterResponse>;
  uploadKeys(request: UploadKeysRequest): Promise<void>;
  /** Deletes the account of these credentials on the relay: every device, queue, key and blob. */
  deleteAccount(): Promise<void>;
  /** The account's devices. */
  listDevices(): Promise<DeviceListResponse>;
  /** Removes one of the account's devices (its queue goes with it; its sockets close). */
  removeDevice(deviceId: number): Promise<void>;
  keyCount(): Promise<KeyCountResponse>;
  lookupUsername(username: string): Promise<AccountLookupResponse>;
  bundle(accountId: string, deviceId: number | '*'): Promise<PreKeyBundleResponse>;
  sendMessages(accountId: string, request: SendMessagesRequest): Promise<SendMessagesResponse>;
  openSocket(handlers: SocketHandlers): RelaySocket;
  /** Supplies credentials after registration (or when opening an existing profile). */
  setCredentials(credentials: DeviceCredentials): void;
}
