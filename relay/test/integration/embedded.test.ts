import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDevice, SocketClient, sendTo, target } from '../support/client.js';
import { startTestRelay, type TestRelay } from '../support/relay.js';

let relay: TestRelay;
beforeAll(async () => {
  // No DATABASE_URL and no REDIS_URL: PGlite through pglite-socket, in-process fan-out.
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay?.close();
});

describe('embedded mode (PGlite + in-process fan-out)', () => {
  it('runs embedded and delivers queued, live, acked and redelivered envelopes', async () => {
    expect(relay.relay.embedded).toBe(true);
    const alice = await registerDevice(relay.url);
    const bob = await registerDevice(relay.url);
    const queued = (await sendTo(alice, target(bob))).body.messages[0]?.guid as string;

    const socket = await SocketClient.connect(relay.wsUrl, bob.accessToken);
    expect(socket.envelopes().map((e) => e.guid)).toEqual([queued]);
    const live = await sendTo(alice, target(bob));
    await socket.waitForEnvelopes(2);
    const liveGuid = live.body.messages[0]?.guid as string;
    expect(socket.envelopes()[1]?.guid).toBe(liveGuid);
    socket.ack([queued]);
    await socket.sync();
    socket.close();
    await socket.closed;

    const again = await SocketClient.connect(relay.wsUrl, bob.accessToken);
    expect(again.envelopes().map((e) => e.guid)).toEqual([liveGuid]);
    // The takeover register (read at heartbeats while the fan-out is down) is written on PGlite too.
    const { sql } = relay.relay.services;
    let register: { live_connection: string | null; live_since: string | null } | undefined;
    for (let i = 0; i < 50 && !register?.live_since; i++) {
      [register] = await sql<{ live_connection: string | null; live_since: string | null }[]>`
        SELECT live_connection, live_since FROM devices WHERE account_id = ${bob.accountId} AND device_id = 1`;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(register?.live_connection).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(register?.live_since)).toBeGreaterThan(0);
    again.close();
  });
});
