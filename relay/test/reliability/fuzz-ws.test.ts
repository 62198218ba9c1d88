import { ClientFrameSchema, CloseCode, MAX_CLIENT_FRAME_BYTES, ServerFrameSchema } from '@sotto/shared-types';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, registerDevice, sendTo, type TestDevice, target } from '../support/client.js';
import { weirdValue } from './support/fuzz-inputs.js';
import { pool } from './support/fuzz-runner.js';
import { pick, recordFigures } from './support/profile.js';
import { useRelayProcess } from './support/relay-fixture.js';
import { changedTables, tableCounts } from './support/table-counts.js';

const FRAMES = pick(3000, 50_000);
const SEED = Number(process.env.SOTTO_FUZZ_SEED ?? Date.now() % 2 ** 31);
const WORKERS = 6;

const devices: TestDevice[] = [];

const fx = useRelayProcess({ frequentGc: true, env: { LOG_LEVEL: 'warn', WS_AUTH_TIMEOUT_MS: '3000' } });

beforeAll(async () => {
  const sender = await registerDevice(fx.relay.url);
  for (let i = 0; i < WORKERS; i++) {
    const d = await registerDevice(fx.relay.url);
    devices.push(d);
    // Something in each queue: the fuzzing must not ack it away.
    for (let k = 0; k < 3; k++) {
      expect((await sendTo(sender, target(d))).status).toBe(200);
    }
  }
}, 60_000);

type Frame = { kind: 'text'; data: string; pingId?: number | null } | { kind: 'binary'; data: Buffer };

const text = (v: unknown): Frame => ({ kind: 'text', data: JSON.stringify(v) ?? 'null' });

/** Frames the relay must accept and answer (pings) or, once authenticated, accept silently (acks of unknown GUIDs). */
const pingFrame: fc.Arbitrary<Frame> = fc.option(fc.integer({ min: 0, max: 2 ** 31 }), { nil: null }).map(
  (id): Frame => ({
    kind: 'text',
    data: JSON.stringify(id === null ? { type: 'ping' } : { type: 'ping', id }),
    pingId: id,
  }),
);
const validFrame = (authenticated: boolean): fc.Arbitrary<Frame> =>
  authenticated
    ? fc.oneof(
        pingFrame,
        fc
          .array(fc.uuid({ version: 4 }), { minLength: 1, maxLength: 256 })
          .map((guids) => text({ type: 'ack', guids })),
      )
    : pingFrame;

/** Frames that must close the socket: malformed, wrongly typed, oversized, at or past the boundaries. */
const invalidFrame = (authenticated: boolean): fc.Arbitrary<Frame> =>
  fc
    .oneof(
      fc.string({ maxLength: 100 }).map((s): Frame => ({ kind: 'text', data: s })),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b): Frame => ({ kind: 'binary', data: Buffer.from(b) })),
      weirdValue.map(text),
      fc.record({ type: fc.oneof(fc.string({ maxLength: 10 }), weirdValue) }, { requiredKeys: [] }).map(text),
      fc
        .constantFrom<unknown>(
          { type: 'ping', id: -1 },
          { type: 'ping', id: 2 ** 31 + 1 },
          { type: 'ping', id: 1.5 },
          { type: 'ping', id: '1' },
          { type: 'ping', extra: true },
          { type: 'ack', guids: [] },
          { type: 'ack', guids: ['not-a-uuid'] },
          { type: 'ack', guids: 'a' },
          { type: 'ack' },
          { type: 'auth', token: '' },
          { type: 'auth' },
          { type: 'AUTH', token: 'x' },
          { type: 'envelope', envelope: {} },
          [{ type: 'ping' }],
        )
        .map(text),
      fc.array(fc.uuid(), { minLength: 257, maxLength: 300 }).map((guids) => text({ type: 'ack', guids })),
      fc
        .integer({ min: MAX_CLIENT_FRAME_BYTES + 1, max: MAX_CLIENT_FRAME_BYTES * 4 })
        .map((n): Frame => ({ kind: 'text', data: `{"type":"ping","pad":"${'x'.repeat(n)}"}` })),
      // An auth frame: on an authenticated socket it is a protocol error; otherwise its token is garbage.
      fc.string({ minLength: 1, maxLength: authenticated ? 100 : 4096 }).map((token) => text({ type: 'auth', token })),
    )
    .filter((f) => f.kind === 'binary' || !isValidFrame(f.data) || authenticated);

function isValidFrame(data: string): boolean {
  try {
    const parsed = ClientFrameSchema.safeParse(JSON.parse(data));
    return parsed.success && parsed.data.type !== 'auth';
  } catch {
    return false;
  }
}

interface Session {
  authenticated: boolean;
  frames: Frame[];
  terminal: Frame | null;
}

const sessionArb: fc.Arbitrary<Session> = fc.boolean().chain((authenticated) =>
  fc.record({
    authenticated: fc.constant(authenticated),
    frames: fc.array(validFrame(authenticated), { minLength: 0, maxLength: 30 }),
    terminal: fc.option(invalidFrame(authenticated), { freq: 3, nil: null }),
  }),
);

/** Codes the relay may close a fuzzed socket with. */
const EXPECTED_CLOSE = new Set<number>([CloseCode.badFrame, CloseCode.unauthorized, CloseCode.tooBig]);

interface Tally {
  sessions: number;
  frames: number;
  missingPongs: number;
  unexpectedClose: Record<string, number>;
  notClosed: number;
  refusedUpgrades: number;
  examples: string[];
}

async function runSession(session: Session, device: TestDevice, tally: Tally): Promise<void> {
  const headers: Record<string, string> = session.authenticated
    ? { authorization: `Bearer ${device.accessToken}` }
    : {};
  const ws = new WebSocket(fx.relay.wsUrl, { headers });
  const pongs: (number | undefined)[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data) => {
    const frame = ServerFrameSchema.safeParse(JSON.parse(data.toString()));
    if (frame.success && frame.data.type === 'pong') {
      pongs.push(frame.data.id);
    }
  });
  ws.on('error', () => undefined);
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', () => resolve(false));
    ws.once('error', () => resolve(false));
  });
  tally.sessions += 1;
  if (!opened) {
    tally.refusedUpgrades += 1;
    return;
  }
  const all = session.terminal ? [...session.frames, session.terminal] : session.frames;
  for (const f of all) {
    if (ws.readyState !== WebSocket.OPEN) {
      break;
    }
    ws.send(f.data, { binary: f.kind === 'binary' });
    tally.frames += 1;
  }
  const wantedPongs = session.frames.filter((f) => f.kind === 'text' && f.pingId !== undefined).length;
  if (session.terminal) {
    const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8000))]);
    if (code === -1) {
      tally.notClosed += 1;
      ws.terminate();
    } else if (!EXPECTED_CLOSE.has(code)) {
      tally.unexpectedClose[code] = (tally.unexpectedClose[code] ?? 0) + 1;
      if (tally.examples.length < 10) {
        tally.examples.push(`close ${code} after ${session.terminal.data.slice(0, 120)}`);
      }
    }
  } else {
    const deadline = Date.now() + 8000;
    while (pongs.length < wantedPongs && Date.now() < deadline && ws.readyState === WebSocket.OPEN) {
      await new Promise((r) => setTimeout(r, 5));
    }
    ws.close();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
  }
  // After a bad frame the relay may drop what was still queued (an oversized frame kills the socket at once).
  if (!session.terminal && pongs.length < wantedPongs) {
    tally.missingPongs += wantedPongs - pongs.length;
    if (tally.examples.length < 10) {
      tally.examples.push(`got ${pongs.length}/${wantedPongs} pongs`);
    }
  }
}

describe('WebSocket frame fuzzing against a real relay', () => {
  it(
    'closes on every bad frame with a protocol code, answers every good one, changes nothing, stays up',
    async () => {
      const before = await tableCounts(fx.db.url);
      const rssBefore = fx.relay.rss();
      const tally: Tally = {
        sessions: 0,
        frames: 0,
        missingPongs: 0,
        unexpectedClose: {},
        notClosed: 0,
        refusedUpgrades: 0,
        examples: [],
      };
      let seed = SEED;
      while (tally.frames < FRAMES) {
        const sessions = fc.sample(sessionArb, { numRuns: 60, seed: seed++ });
        // One worker per device: a device has one live socket at a time.
        const byWorker = devices.map((_, w) => sessions.filter((_, i) => i % WORKERS === w));
        await pool(byWorker, WORKERS, async (list, w) => {
          for (const s of list) {
            await runSession(s, devices[w] as TestDevice, tally);
          }
        });
      }
      const after = await tableCounts(fx.db.url);
      const rssAfter = fx.relay.rss();
      // Queues are intact: each device still gets its three envelopes.
      const ws = new WebSocket(fx.relay.wsUrl, { headers: { authorization: `Bearer ${devices[0]?.accessToken}` } });
      const queued = await new Promise<number>((resolve) => {
        let n = 0;
        ws.on('message', (d) => {
          const f = JSON.parse(d.toString()) as { type: string };
          n += f.type === 'envelope' ? 1 : 0;
          if (f.type === 'queue_empty') {
            resolve(n);
            ws.close();
          }
        });
      });
      const unexpectedCloses = Object.values(tally.unexpectedClose).reduce((a, b) => a + b, 0);
      recordFigures('fuzz-ws', {
        seed: SEED,
        ws_frames: tally.frames,
        ws_sessions: tally.sessions,
        unexpected_close_codes: unexpectedCloses,
        not_closed_after_bad_frame: tally.notClosed,
        missing_pongs: tally.missingPongs,
        refused_upgrades: tally.refusedUpgrades,
        state_changes: changedTables(before, after).length,
        relay_crashes: fx.relay.alive ? 0 : 1,
        relay_error_log_lines: fx.relay.errorLines,
        rss_growth_mib: Math.round(((rssAfter - rssBefore) / 2 ** 20) * 10) / 10,
      });
      expect(tally.examples).toEqual([]);
      expect(tally.frames).toBeGreaterThanOrEqual(FRAMES);
      expect(tally.notClosed).toBe(0);
      expect(tally.refusedUpgrades).toBe(0);
      expect(changedTables(before, after)).toEqual([]);
      expect(queued).toBe(3);
      expect(fx.relay.alive).toBe(true);
      expect((await api(fx.relay.url, 'GET', '/healthz')).status).toBe(200);
      expect(fx.relay.errorLines).toBe(0);
      expect(rssAfter - rssBefore).toBeLessThan(50 * 2 ** 20);
    },
    pick(120_000, 900_000),
  );
});
