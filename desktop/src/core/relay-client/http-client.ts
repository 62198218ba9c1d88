import {
  type AccountLookupResponse,
  AccountLookupResponseSchema,
  type DeviceListResponse,
  DeviceListResponseSchema,
  type KeyCountResponse,
  KeyCountResponseSchema,
  type PreKeyBundleResponse,
  PreKeyBundleResponseSchema,
  type RegisterRequest,
  type RegisterResponse,
  RegisterResponseSchema,
  Routes,
  type SendMessagesRequest,
  type SendMessagesResponse,
  SendMessagesResponseSchema,
  type TokenRequest,
  type TokenResponse,
  TokenResponseSchema,
  type UploadKeysRequest,
} from '@sotto/shared-types';
import type { z } from 'zod';
import { SottoError, unregisteredError } from '../errors.js';
import type { DeviceCredentials, RelayApi, RelaySocket, SocketHandlers } from './relay-api.js';
import { relayErrorFromText } from './relay-error.js';
import { ReconnectingSocket, type ReconnectingSocketOptions } from './relay-socket.js';

const REQUEST_TIMEOUT_MS = 15_000;
/** Refresh the access token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

export interface RelayClientOptions {
  baseUrl: string;
  now?: () => number;
  /** The socket's ping interval and liveness timeout (tests shorten them; defaults in relay-socket.ts). */
  socket?: Pick<ReconnectingSocketOptions, 'pingIntervalMs' | 'livenessTimeoutMs'>;
}

/**
 * The relay's base URL as stored in a profile: http(s), with ws(s) taken as the same server over http(s), no
 * trailing slash. Anything else is refused with what a URL should look like ("127.0.0.1:8787" would otherwise
 * only fail later as "cannot reach the relay"), and so is plain http to another machine.
 */
export function relayBaseUrl(input: string): string {
  let url: URL | undefined;
  try {
    url = new URL(input.trim());
  } catch {
    url = undefined;
  }
  const protocol = url && { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[url.protocol];
  if (!url || !protocol || url.search || url.hash) {
    throw new SottoError(
      'invalid_argument',
      `relay URL: give the whole address, like https://relay.example.org or http://127.0.0.1:8787 (got "${input}")`,
    );
  }
  url.protocol = protocol;
  if (protocol === 'http:' && !isLoopback(url.hostname) && process.env.SOTTO_ALLOW_PLAIN_HTTP !== '1') {
    throw new SottoError(
      'invalid_argument',
      `relay URL: ${url.host} would be reached without encryption (http://), so this device's secret and tokens ` +
        'would cross the network readable by anyone on the way: use https:// (the relay behind a TLS reverse ' +
        'proxy, see the README). Only for a test relay on your own network, set SOTTO_ALLOW_PLAIN_HTTP=1',
    );
  }
  return url.toString().replace(/\/+$/, '');
}

/** This machine: plain http never leaves it. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

function path(template: string, params: Record<string, string | number>): string {
  return template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(String(params[name])));
}

/** HTTP + WebSocket client for the relay. Every response body is validated with the shared schemas. */
export class RelayClient implements RelayApi {
  readonly baseUrl: string;
  #credentials: DeviceCredentials | undefined;
  #token: { access: string; expiresAt: number; refresh: string } | undefined;
  #tokenPending: Promise<string> | undefined;
  /** The socket from `openSocket`: sends travel on it while it is authenticated and open. */
  #socket: ReconnectingSocket | undefined;
  readonly #now: () => number;
  readonly #socketOptions: RelayClientOptions['socket'];

  constructor(options: RelayClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#now = options.now ?? Date.now;
    this.#socketOptions = options.socket;
  }

  setCredentials(credentials: DeviceCredentials): void {
    this.#credentials = credentials;
    this.#token = undefined;
  }

  register(request: RegisterRequest): Promise<RegisterResponse> {
    return this.#request('POST', Routes.accounts, { body: request, schema: RegisterResponseSchema, auth: false });
  }

  async uploadKeys(request: UploadKeysRequest): Promise<void> {
    await this.#request('PUT', Routes.keys, { body: request, schema: null });
  }

  deleteAccount(): Promise<void> {
    return this.#request('DELETE', Routes.me, { schema: null });
  }

  listDevices(): Promise<DeviceListResponse> {
    return this.#request('GET', Routes.devices, { schema: DeviceListResponseSchema });
  }

  removeDevice(deviceId: number): Promise<void> {
    return this.#request('DELETE', path(Routes.device, { deviceId }), { schema: null });
  }

  keyCount(): Promise<KeyCountResponse> {
    return this.#request('GET', Routes.keyCount, { schema: KeyCountResponseSchema });
  }

  lookupUsername(username: string): Promise<AccountLookupResponse> {
    return this.#request('GET', path(Routes.accountByUsername, { username }), { schema: AccountLookupResponseSchema });
  }

  bundle(accountId: string, deviceId: number | '*'): Promise<PreKeyBundleResponse> {
    return this.#request('GET', path(Routes.bundle, { accountId, deviceId }), { schema: PreKeyBundleResponseSchema });
  }

  /** Over the open socket when it can take the send (no HTTP request per message), else `PUT /v1/messages`. */
  sendMessages(accountId: string, request: SendMessagesRequest): Promise<SendMessagesResponse> {
    return this.#socket?.send(accountId, request) ?? this.#sendOverHttp(accountId, request);
  }

  #sendOverHttp(accountId: string, request: SendMessagesRequest): Promise<SendMessagesResponse> {
    return this.#request('PUT', path(Routes.messages, { accountId }), {
      body: request,
      schema: SendMessagesResponseSchema,
    });
  }

  openSocket(handlers: SocketHandlers): RelaySocket {
    // Under the base URL's path, as every HTTP route is (a relay behind a proxy at https://host/sotto).
    const url = new URL(`${this.baseUrl}${Routes.socket}`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#socket = new ReconnectingSocket({
      url: url.toString(),
      token: () => this.accessToken(),
      invalidateToken: () => {
        this.#token = undefined;
      },
      handlers,
      ...this.#socketOptions,
    });
    return this.#socket;
  }

  /** A valid access token: cached, refreshed shortly before expiry, re-issued from the device secret if refresh fails. */
  async accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt - REFRESH_MARGIN_MS > this.#now()) {
      return this.#token.access;
    }
    this.#tokenPending ??= this.#fetchToken().finally(() => {
      this.#tokenPending = undefined;
    });
    return this.#tokenPending;
  }

  async #fetchToken(): Promise<string> {
    const credentials = this.#credentials;
    if (!credentials) {
      throw new SottoError('internal', 'relay credentials are not set');
    }
    let response: TokenResponse | undefined;
    if (this.#token) {
      const refresh: TokenRequest = { grant: 'refresh_token', refreshToken: this.#token.refresh };
      response = await this.#request('POST', Routes.token, {
        body: refresh,
        schema: TokenResponseSchema,
        auth: false,
      }).catch(() => undefined);
    }
    if (!response) {
      const grant: TokenRequest = { grant: 'device_secret', ...credentials };
      response = await this.#request('POST', Routes.token, {
        body: grant,
        schema: TokenResponseSchema,
        auth: false,
      }).catch((error: unknown) => {
        if (error instanceof SottoError && error.status === 401) {
          throw unregisteredError(error);
        }
        throw error;
      });
    }
    this.#token = {
      access: response.accessToken,
      expiresAt: this.#now() + response.expiresIn * 1000,
      refresh: response.refreshToken,
    };
    return response.accessToken;
  }

  async #request<T>(
    method: string,
    route: string,
    options: { body?: unknown; schema: z.ZodType<T> | null; auth?: boolean; retried?: boolean },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    if (options.auth !== false) {
      headers.authorization = `Bearer ${await this.accessToken()}`;
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${route}`, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new SottoError('relay_unreachable', `cannot reach the relay at ${this.baseUrl}`, { cause });
    }
    if (response.status === 401 && options.auth !== false && !options.retried) {
      await response.body?.cancel();
      this.#token = undefined;
      return this.#request(method, route, { ...options, retried: true });
    }
    const text = await response.text();
    if (!response.ok) {
      throw relayErrorFromText(response.status, text);
    }
    if (options.schema === null) {
      return undefined as T;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new SottoError('invalid_response', `relay sent invalid JSON for ${method} ${route}`, { cause });
    }
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) {
      throw new SottoError('invalid_response', `relay response for ${method} ${route} does not match the contract`, {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
}
