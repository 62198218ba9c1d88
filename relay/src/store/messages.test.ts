import { describe, expect, it } from 'vitest';
import { getToken, registerDevice, SocketClient, sendTo, target } from '../../test/support/client.js';
import { useRelay } from '../../test/support/fixture.js';
import { ManualClock } from '../clock.js';
import { countEnvelopes, deleteExpiredEnvelopes } from './messages.js';

const clock = new ManualClock(Date.now());
const fx = useRelay({ clock });
const DAY = 24 * 3600 * 1000;

describe('envelope expiry', () => {
  it('never delivers an envelope older than 30 days, and the cleanup deletes it', async () => {
    const alice = await registerDevice(fx.relay.url);
    const bob = await registerDevice(fx.relay.url);
    await sendTo(alice, target(bob));
    clock.advance(29 * DAY);
    // Access tokens follow the same clock: log in again after the jump.
    const later = (await getToken(fx.relay.url, alice.accountId, 1, alice.deviceSecret)).accessToken;
    const fresh = (await sendTo({ ...alice, accessToken: later }, target(bob))).body.messages[0]?.guid;
    clock.advance(2 * DAY);

    const token = await getToken(fx.relay.url, bob.accountId, 1, bob.deviceSecret);
    const socket = await SocketClient.connect(fx.relay.wsUrl, token.accessToken);
    expect(socket.envelopes().map((e) => e.guid)).toEqual([fresh]);
    socket.close();

    const { sql } = fx.relay.relay.services;
    expect(await deleteExpiredEnvelopes(sql, clock.now())).toBe(1);
    expect(await countEnvelopes(sql)).toBe(1);
  });
});
