import { CloseCode } from '@sotto/shared-types';
import { afterAll, describe, expect, it } from 'vitest';
import { registerDevice, SocketClient, sendTo, target } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestRelay } from '../support/relay.js';

let db: TestDatabase | undefined;
afterAll(async () => {
  await db?.drop();
});

describe('graceful shutdown', () => {
  it('closes sockets with going-away, stops accepting, and keeps queued envelopes for the next instance', async () => {
    db = await createTestDatabase();
    const first = await startTestRelay({ databaseUrl: db.url });
    const alice = await registerDevice(first.url);
    const bob = await registerDevice(first.url);
    const socket = await SocketClient.connect(first.wsUrl, bob.accessToken);
    await first.close();
    expect(await socket.waitClosed()).toBe(CloseCode.goingAway);
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();

    const second = await startTestRelay({ databaseUrl: db.url });
    const sent = await sendTo({ ...alice, baseUrl: second.url }, target(bob));
    expect(sent.status).toBe(200);
    const back = await SocketClient.connect(second.wsUrl, bob.accessToken);
    expect(back.envelopes().map((e) => e.guid)).toEqual([sent.body.messages[0]?.guid]);
    back.close();
    await second.close();
  });
});
