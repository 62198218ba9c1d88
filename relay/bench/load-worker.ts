import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { ServerFrame } from '@sotto/shared-types';
import WebSocket from 'ws';
import { emit, stdinCommands } from './bench-support.js';

/**
 * A load-generator process: its devices come in pairs (each sends to its partner, both here, so the
 * send-to-delivery latency is measured on one clock). Every device holds a WebSocket to its relay
 * instance, acks what it receives, and sends 1:1 envelopes as `send` frames on that socket (what the
 * desktop core does while connected) or with PUT /v1/messages. Closed loop (`inflight` sends outstanding
 * per device) for peak load, or open loop (`ratePerDevice`) for a fixed load.
 */

export interface LoadDevice {
  accountId: string;
  registrationId: number;
  token: string;
  baseUrl: string;
  wsUrl: string;
  partner: number;
}

export interface LoadConfig {
  devices: LoadDevice[];
  contentBytes: number;
}

export type Transport = 'ws' | 'http';

export interface RunCommand {
  type: 'run';
  transport: Transport;
  mode: 'closed' | 'open';
  inflight: number;
  ratePerDevice: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
}

export interface LoadResult {
  type: 'result';
  sent: number;
  sendErrors: Record<string, number>;
  deliveredTotal: number;
  deliveredInWindow: number;
  windowMs: number;
  latenciesMs: number[];
  /**
   * Of the latencies, summed over the window's envelopes (ms): from the send to the relay accepting it (the
   * envelope's server timestamp, taken just before its INSERT), and from there to its delivery. Wall clocks
   * of one machine; the server timestamp has whole milliseconds.
   */
  toAcceptMsSum: number;
  acceptToDeliveryMsSum: number;
  undelivered: number;
  /**
   * Sends still without an answer when the drain ended (the relay must answer every send frame), with the
   * first few of them described for diagnosis.
   */
  unanswered: number;
  unansweredSamples: string[];
  /** Envelopes that arrived again on the same socket (the relay must never do that without a reconnect). */
  duplicates: number;
}

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadConfig;
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
const filler = randomBytes(Math.max(20, config.contentBytes));

interface DeviceState {
  d: LoadDevice;
  ws: WebSocket;
  pendingAcks: string[];
  ackScheduled: boolean;
  /** Unanswered `send` frames: id → settle. */
  sends: Map<number, (ok: boolean, status: string) => void>;
  /** Set while the socket is corked until the end of this tick. */
  corked: boolean;
}

/**
 * Writes a frame; the frames one device writes in a tick (its next sends after a read of results, its acks)
 * leave in one system call, as the desktop client's socket does. Uncorked at the end of the tick, not of the
 * loop pass: a send must not wait for the rest of the pass, since its send time is already stamped.
 */
function write(state: DeviceState, frame: string): void {
  const tcp = (state.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  if (!state.corked && tcp) {
    state.corked = true;
    tcp.cork();
    process.nextTick(() => {
      state.corked = false;
      tcp.uncork();
    });
  }
  state.ws.send(frame);
}

const states: DeviceState[] = [];
let seq = 0;
let sent = 0;
let deliveredTotal = 0;
const sendErrors: Record<string, number> = {};
/** Set while a run is going: receive times in [windowStart, windowEnd) count. */
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
let deliveredInWindow = 0;
const latencies: number[] = [];
let toAcceptMsSum = 0;
let acceptToDeliveryMsSum = 0;

/**
 * 300 bytes of "ciphertext" holding, for the receiver, the send time: at 0 by this process's clock
 * (performance.now()), at 12 by the wall clock the relay's server timestamp uses (in fractions of a ms).
 */
function content(): string {
  const buf = Buffer.from(filler);
  const now = performance.now();
  buf.writeDoubleLE(now, 0);
  buf.writeUInt32LE(seq++ >>> 0, 8);
  buf.writeDoubleLE(performance.timeOrigin + now, 12);
  return buf.toString('base64');
}

function settle(ok: boolean, status: string): void {
  if (ok) {
    sent += 1;
  } else {
    sendErrors[status] = (sendErrors[status] ?? 0) + 1;
  }
}

function sendRequest(to: LoadDevice) {
  return {
    timestamp: Date.now(),
    messages: [
      { destinationDeviceId: 1, destinationRegistrationId: to.registrationId, type: 'whisper', content: content() },
    ],
  };
}

let sendIds = 0;

function sendOverSocket(from: DeviceState): Promise<void> {
  const to = config.devices[from.d.partner] as LoadDevice;
  const id = sendIds++ % 2 ** 31;
  return new Promise<void>((resolve) => {
    from.sends.set(id, (ok, status) => {
      settle(ok, status);
      resolve();
    });
    write(from, JSON.stringify({ type: 'send', id, destination: to.accountId, request: sendRequest(to) }));
  });
}

function send(from: DeviceState, transport: Transport): Promise<void> {
  return transport === 'ws' ? sendOverSocket(from) : sendOverHttp(from);
}

function sendOverHttp(from: DeviceState): Promise<void> {
  const to = config.devices[from.d.partner] as LoadDevice;
  const body = JSON.stringify(sendRequest(to));
  return new Promise<void>((resolve) => {
    const url = new URL(`${from.d.baseUrl}/v1/messages/${to.accountId}`);
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'PUT',
        headers: {
          authorization: `Bearer ${from.d.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          settle(res.statusCode === 200, String(res.statusCode));
          resolve();
        });
      },
    );
    req.on('error', (err) => {
      settle(false, err.message);
      resolve();
    });
    req.end(body);
  });
}

/** GUIDs delivered in the current phase (to count duplicates). */
const seen = new Set<string>();
let duplicates = 0;

function onEnvelope(state: DeviceState, guid: string, contentB64: string, serverTimestamp: number): void {
  const now = performance.now();
  if (seen.has(guid)) {
    duplicates += 1;
  }
  seen.add(guid);
  const stamps = Buffer.from(contentB64.slice(0, 28), 'base64');
  const sentAt = stamps.readDoubleLE(0);
  deliveredTotal += 1;
  if (now >= windowStart && now < windowEnd) {
    deliveredInWindow += 1;
    latencies.push(now - sentAt);
    toAcceptMsSum += serverTimestamp - stamps.readDoubleLE(12);
    acceptToDeliveryMsSum += performance.timeOrigin + now - serverTimestamp;
  }
  state.pendingAcks.push(guid);
  if (!state.ackScheduled) {
    state.ackScheduled = true;
    setImmediate(() => {
      state.ackScheduled = false;
      while (state.pendingAcks.length > 0) {
        const guids = state.pendingAcks.splice(0, 256);
        write(state, JSON.stringify({ type: 'ack', guids }));
      }
    });
  }
}

function connect(d: LoadDevice): Promise<DeviceState> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(d.wsUrl, { headers: { authorization: `Bearer ${d.token}` } });
    const state: DeviceState = { d, ws, pendingAcks: [], ackScheduled: false, sends: new Map(), corked: false };
    let ready = false;
    ws.on('message', (data) => {
      // Trusted peer in a bench: no schema check, to keep the generator's CPU for the relay.
      const frame = JSON.parse(data.toString()) as ServerFrame;
      if (frame.type === 'envelope') {
        onEnvelope(state, frame.envelope.guid, frame.envelope.content, frame.envelope.serverTimestamp);
      } else if (frame.type === 'send_result' || frame.type === 'send_error') {
        const done = state.sends.get(frame.id);
        state.sends.delete(frame.id);
        done?.(frame.type === 'send_result', frame.type === 'send_error' ? String(frame.status) : '200');
      } else if (frame.type === 'queue_empty' && !ready) {
        ready = true;
        resolve(state);
      }
    });
    ws.on('error', (err) => {
      if (!ready) {
        reject(err);
      }
    });
    ws.on('close', (code) => {
      for (const done of state.sends.values()) {
        done(false, `socket closed ${code}`);
      }
      state.sends.clear();
      if (!ready) {
        reject(new Error(`socket closed ${code}`));
      }
    });
  });
}

/** Sends without an answer, each described with its socket's state. */
function unansweredSends(): string[] {
  const found: string[] = [];
  states.forEach((s, i) => {
    for (const id of s.sends.keys()) {
      const ws = s.ws as WebSocket & { isPaused: boolean };
      found.push(
        `device ${i} send ${id}: socket state ${ws.readyState}, ${s.sends.size} unanswered on it, ` +
          `${ws.bufferedAmount} bytes not yet written, paused ${ws.isPaused}`,
      );
    }
  });
  return found;
}

async function run(cmd: RunCommand): Promise<void> {
  const start = performance.now();
  windowStart = start + cmd.warmupMs;
  windowEnd = windowStart + cmd.durationMs;
  const stopAt = windowEnd;
  const loops: Promise<void>[] = [];
  if (cmd.mode === 'closed') {
    for (const s of states) {
      for (let k = 0; k < cmd.inflight; k++) {
        loops.push(
          (async () => {
            while (performance.now() < stopAt) {
              await send(s, cmd.transport);
            }
          })(),
        );
      }
    }
  } else {
    // One ticker for all devices (a timer per send would cost the generator more than the relay's work).
    const interval = 1000 / cmd.ratePerDevice;
    const next = states.map(() => start + Math.random() * interval);
    const outstanding: Promise<void>[] = [];
    loops.push(
      new Promise<void>((resolve) => {
        const ticker = setInterval(() => {
          const now = performance.now();
          if (now >= stopAt) {
            clearInterval(ticker);
            resolve(Promise.all(outstanding).then(() => undefined));
            return;
          }
          states.forEach((s, i) => {
            while ((next[i] as number) <= now) {
              outstanding.push(send(s, cmd.transport));
              next[i] = (next[i] as number) + interval;
            }
          });
        }, 2);
      }),
    );
  }
  // Every send must be answered; one that is not, by the end of the drain, is counted, not waited for.
  const drainUntil = stopAt + cmd.drainMs;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, drainUntil - performance.now()))]);
  const unanswered = unansweredSends();
  // Drain: every accepted envelope must arrive.
  while (deliveredTotal < sent && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
  const result: LoadResult = {
    type: 'result',
    sent,
    sendErrors: { ...sendErrors },
    deliveredTotal,
    deliveredInWindow,
    windowMs: cmd.durationMs,
    latenciesMs: latencies.splice(0),
    toAcceptMsSum,
    acceptToDeliveryMsSum,
    undelivered: sent - deliveredTotal,
    unanswered: unanswered.length,
    unansweredSamples: unanswered.slice(0, 5),
    duplicates,
  };
  seen.clear();
  duplicates = 0;
  toAcceptMsSum = 0;
  acceptToDeliveryMsSum = 0;
  sent = 0;
  deliveredTotal = 0;
  deliveredInWindow = 0;
  for (const k of Object.keys(sendErrors)) {
    delete sendErrors[k];
  }
  windowStart = Number.POSITIVE_INFINITY;
  emit(result as unknown as Record<string, unknown>);
}

async function main(): Promise<void> {
  const connected = await Promise.all(config.devices.map((d) => connect(d)));
  states.push(...connected);
  emit({ type: 'ready', devices: states.length });
  let queue = Promise.resolve();
  stdinCommands((cmd) => {
    if (cmd.type === 'run') {
      queue = queue.then(() => run(cmd as unknown as RunCommand));
    } else if (cmd.type === 'exit') {
      void queue.then(() => {
        for (const s of states) {
          s.ws.close();
        }
        agent.destroy();
        setTimeout(() => process.exit(0), 200);
      });
    }
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${String(err)}\n`);
  process.exit(1);
});
