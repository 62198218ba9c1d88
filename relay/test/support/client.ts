import { randomBytes } from 'node:crypto';
import {
  type Envelope,
  type ErrorBody,
  type RegisterResponse,
  type ServerFrame,
  ServerFrameSchema,
  type TokenResponse,
} from '@sotto/shared-types';
import WebSocket from 'ws';

let counter = 0;
/** A unique lowercase username for this run. */
export const uniqueUsername = (prefix = 'u') =>
  `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 32);
export const newDeviceSecret = () => randomBytes(32).toString('base64url');

export interface ApiResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON over fetch; returns status and parsed body (or undefined for empty bodies). */
export async function api<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) {
    headers.authorization = `Bearer ${options.token}`;
  }
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export const errorCode = (r: ApiResult) => (r.body as ErrorBody | undefined)?.error?.code;

export interface TestDevice {
  baseUrl: string;
  accountId: string;
  deviceId: number;
  username: string;
  deviceSecret: string;
  registrationId: number;
  accessToken: string;
  refreshToken: string;
}

export async function getToken(
  baseUrl: string,
  accountId: string,
  deviceId: number,
  deviceSecret: string,
): Promise<TokenResponse> {
  const r = await api<TokenResponse>(baseUrl, 'POST', '/v1/auth/token', {
    body: { grant: 'device_secret', accountId, deviceId, deviceSecret },
  });
  if (r.status !== 200) {
    throw new Error(`token failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

/** Registers a new account (device 1) and logs it in. */
export async function registerDevice(
  baseUrl: string,
  options: { username?: string; inviteCode?: string; registrationId?: number } = {},
): Promise<TestDevice> {
  const username = options.username ?? uniqueUsername();
  const deviceSecret = newDeviceSecret();
  const registrationId = options.registrationId ?? 1 + Math.floor(Math.random() * 16000);
  const r = await api<RegisterResponse>(baseUrl, 'POST', '/v1/accounts', {
    body: { username, deviceSecret, registrationId, ...(options.inviteCode ? { inviteCode: options.inviteCode } : {}) },
  });
  if (r.status !== 200) {
    throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const token = await getToken(baseUrl, r.body.accountId, 1, deviceSecret);
  return {
    baseUrl,
    accountId: r.body.accountId,
    deviceId: 1,
    username,
    deviceSecret,
    registrationId,
    accessToken: token.accessToken,
    refreshToken: token.refreshToken,
  };
}

/** Adds another device to `owner`'s account and logs it in. */
export async function addDevice(owner: TestDevice, registrationId = 4242): Promise<TestDevice> {
  const deviceSecret = newDeviceSecret();
  const r = await api<{ accountId: string; deviceId: number }>(owner.baseUrl, 'POST', '/v1/devices', {
    token: owner.accessToken,
    body: { deviceSecret, registrationId },
  });
  if (r.status !== 200) {
    throw new Error(`add device failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const token = await getToken(owner.baseUrl, owner.accountId, r.body.deviceId, deviceSecret);
  return {
    ...owner,
    deviceId: r.body.deviceId,
    deviceSecret,
    registrationId,
    accessToken: token.accessToken,
    refreshToken: token.refreshToken,
  };
}

/** Sends one envelope to every listed device of `to` (default: device 1 only). */
export async function sendTo(
  from: TestDevice,
  to: { accountId: string; devices: { deviceId: number; registrationId: number }[] },
  content = randomBytes(24).toString('base64'),
  extra: { online?: boolean; type?: 'prekey' | 'whisper' | 'sealed' | 'plaintext' } = {},
) {
  return api<{ messages: { destinationDeviceId: number; guid: string; serverTimestamp: number }[] }>(
    from.baseUrl,
    'PUT',
    `/v1/messages/${to.accountId}`,
    {
      token: from.accessToken,
      body: {
        timestamp: Date.now(),
        ...(extra.online ? { online: true } : {}),
        messages: to.devices.map((d) => ({
          destinationDeviceId: d.deviceId,
          destinationRegistrationId: d.registrationId,
          type: extra.type ?? 'whisper',
          content,
        })),
      },
    },
  );
}

export const target = (d: TestDevice) => ({
  accountId: d.accountId,
  devices: [{ deviceId: d.deviceId, registrationId: d.registrationId }],
});

/** A WebSocket test client that records frames and the close code. */
export class SocketClient {
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        this.notify();
        resolve(code);
      });
    });
    ws.on('message', (data) => {
      this.frames.push(ServerFrameSchema.parse(JSON.parse(data.toString())));
      this.notify();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket; with `token` it authenticates with the upgrade header, `authFrame` sends an auth frame instead. */
  static async open(
    wsUrl: string,
    options: { token?: string; authFrame?: string; headers?: Record<string, string> } = {},
  ): Promise<SocketClient> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) {
      headers.authorization = `Bearer ${options.token}`;
    }
    const ws = new WebSocket(wsUrl, { headers });
    const client = new SocketClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    if (options.authFrame) {
      client.sendFrame({ type: 'auth', token: options.authFrame });
    }
    return client;
  }

  /** Opens and waits for `ready` and `queue_empty` (the initial queue is in `frames`). */
  static async connect(wsUrl: string, token: string): Promise<SocketClient> {
    const client = await SocketClient.open(wsUrl, { token });
    await client.waitFor((f) => f.some((x) => x.type === 'queue_empty'));
    return client;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w();
    }
  }

  sendFrame(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  ack(guids: string[]): void {
    this.sendFrame({ type: 'ack', guids });
  }

  private pingIds = 1000;

  /** Pings and waits for that pong: the relay handles a socket's frames in order, so every earlier one (an ack: committed) is done. */
  async sync(): Promise<void> {
    const id = this.pingIds++;
    this.sendFrame({ type: 'ping', id });
    await this.waitFor((frames) => frames.some((f) => f.type === 'pong' && f.id === id));
  }

  private sendIds = 0;

  /** A `send` frame to every listed device of `to` (like sendTo); resolves with its send_result or send_error. */
  async send(
    to: { accountId: string; devices: { deviceId: number; registrationId: number }[] },
    content = randomBytes(24).toString('base64'),
  ): Promise<Extract<ServerFrame, { type: 'send_result' | 'send_error' }>> {
    const id = this.sendIds++;
    this.sendFrame({
      type: 'send',
      id,
      destination: to.accountId,
      request: {
        timestamp: Date.now(),
        messages: to.devices.map((d) => ({
          destinationDeviceId: d.deviceId,
          destinationRegistrationId: d.registrationId,
          type: 'whisper',
          content,
        })),
      },
    });
    const isResult = (f: ServerFrame) => (f.type === 'send_result' || f.type === 'send_error') && f.id === id;
    await this.waitFor((frames) => frames.some(isResult));
    return this.frames.find(isResult) as Extract<ServerFrame, { type: 'send_result' | 'send_error' }>;
  }

  envelopes(): Envelope[] {
    return this.frames.flatMap((f) => (f.type === 'envelope' ? [f.envelope] : []));
  }

  /** Resolves when `predicate(frames)` holds; rejects after `timeoutMs`. */
  async waitFor(predicate: (frames: ServerFrame[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      }
      if (this.closeCode !== undefined) {
        throw new Error(`socket closed with ${this.closeCode}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until at least `n` envelopes arrived. */
  waitForEnvelopes(n: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.envelopes().length >= n, timeoutMs);
  }

  async waitClosed(timeoutMs = 5000): Promise<number> {
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('socket not closed')), timeoutMs)),
    ]);
  }

  close(): void {
    this.ws.close();
  }
}
