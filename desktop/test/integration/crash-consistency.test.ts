import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { PassphraseSecretStore } from '../../src/core/secrets/passphrase-secret-store.js';
import { FAULT_POINTS } from '../../src/core/sync/fault-injection.js';
import { type CliResult, spawnCli, waitCli } from './support/cli.js';
import { tempDir, until } from './support/helpers.js';
import { type RelayProcess, startRelay } from './support/relay-process.js';

// A receiving CLI process dies during a burst of 500 messages and is restarted until drained: every
// message must be in its history exactly once, in order. First it kills itself at each deterministic
// crash point of the receive pipeline (SOTTO_FAULT, see src/core/sync/fault-injection.ts), then it is
// SIGKILLed from outside at random moments.
const COUNT = 500;
const ROUNDS_PER_POINT = 2;
const MAX_RANDOM_KILLS = 5;
const PASSPHRASE = 'crash test passphrase';

let relay: RelayProcess;
const home = tempDir('sotto-crash-');

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  await relay?.stop();
  home.remove();
});

function printedTexts(result: CliResult): string[] {
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { text: string }).text);
}

describe('crash consistency of the receive pipeline', () => {
  it('crashes at every point of the pipeline and at random moments: nothing lost or duplicated', {
    timeout: 240_000,
  }, async () => {
    const suffix = Math.random().toString(36).slice(2, 7);
    const bobDir = join(home.path, 'bob');
    const bobProfile = new Profile(bobDir, { secretStore: new PassphraseSecretStore(bobDir, PASSPHRASE) });
    const bob = await bobProfile.registerMessenger({ relayUrl: relay.url, username: `bob_${suffix}` });
    const aliceDir = join(home.path, 'alice');
    const alice = await new Profile(aliceDir, {
      secretStore: new PassphraseSecretStore(aliceDir, PASSPHRASE),
    }).registerMessenger({
      relayUrl: relay.url,
      username: `alice_${suffix}`,
    });
    // Bob knows alice already: his receiver prints each line at once (a stranger's first lines wait for
    // the relay to confirm the name they claim, and these runs are killed within milliseconds).
    await bob.messenger.startConversation(`alice_${suffix}`);
    await bob.messenger.close();
    const conv = await alice.messenger.startConversation(`bob_${suffix}`);
    const expected = Array.from({ length: COUNT }, (_, i) => `burst message ${String(i).padStart(3, '0')}`);

    // The burst goes out in the background while bob's receiver keeps dying.
    const burst = (async () => {
      for (const text of expected) {
        await alice.messenger.sendText(conv.id, text);
      }
    })();
    const env = { SOTTO_DB_PASSPHRASE: PASSPHRASE };
    const receive = (timeout: number, extra: Record<string, string> = {}) =>
      spawnCli(['--profile', bobDir, 'receive', '--timeout', String(timeout), '--json'], { ...env, ...extra });

    // 1. Deterministic crash points, each several times, at a random envelope of the stream.
    const shown: string[] = [];
    for (let round = 0; round < ROUNDS_PER_POINT * FAULT_POINTS.length; round++) {
      const point = FAULT_POINTS[round % FAULT_POINTS.length] as (typeof FAULT_POINTS)[number];
      const at = 5 + Math.floor(Math.random() * 30);
      const result = await waitCli(receive(20, { SOTTO_FAULT: `${point}:${at}` }), 60_000);
      expect(result.signal, `${point}:${at} fired (stderr: ${result.stderr})`).toBe('SIGKILL');
      const printed = printedTexts(result);
      if (point === 'crash-after-decrypt') {
        // The batch holding the Nth envelope never committed, so it was never shown.
        expect(printed.length).toBeLessThan(at);
      }
      shown.push(...printed);
    }
    // What the receiver showed across the crashes: each message at most once (a redelivered envelope
    // whose transaction had committed is recognised, not shown again).
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown.every((text) => expected.includes(text))).toBe(true);
    expect(shown.length).toBeGreaterThan(0);

    // 2. SIGKILL from outside at random moments, once the receiver is demonstrably mid-stream.
    let kills = 0;
    for (let round = 0; round < MAX_RANDOM_KILLS; round++) {
      const child = receive(30);
      const done = waitCli(child, 60_000);
      const target = 1 + Math.floor(Math.random() * 60);
      let lines = 0;
      child.stdout?.on('data', (chunk: Buffer) => {
        lines += chunk.toString().split('\n').length - 1;
      });
      const started = Date.now();
      while (lines < target && child.exitCode === null && Date.now() - started < 8000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const idle = lines === 0;
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills += 1;
      }
      await done;
      if (idle && round > 0) {
        break; // nothing left in flight to interrupt
      }
    }
    await burst;
    await until(() => alice.messenger.pendingOutgoing() === 0, 60_000, 'alice sent everything');
    // 3. Restart until a run drains the queue and exits cleanly.
    let clean = false;
    for (let i = 0; i < 5 && !clean; i++) {
      const result = await waitCli(receive(2), 90_000);
      clean = result.code === 0;
    }
    expect(clean).toBe(true);
    expect(kills).toBeGreaterThan(0);
    await alice.messenger.close();

    const reopened = await bobProfile.openMessenger();
    const aliceId = reopened.listConversations()[0]?.id ?? '';
    const bodies: string[] = [];
    let before: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = reopened.history(aliceId, { limit: 200, ...(before ? { before } : {}) });
      bodies.unshift(...page.messages.filter((m) => m.kind === 'text').map((m) => m.body));
      if (!page.nextCursor) {
        break;
      }
      before = page.nextCursor;
    }
    const errors = reopened.history(aliceId, { limit: 500 }).messages.filter((m) => m.kind === 'decryption_error');
    // The full-text index survived the kills too: every message is found once.
    const found = reopened.search('burst message', { limit: 500 }).map((hit) => hit.message.body);
    await reopened.close();
    expect(found.sort()).toEqual(expected);
    expect(errors).toEqual([]);
    expect(bodies.length).toBe(COUNT);
    expect(new Set(bodies).size).toBe(COUNT);
    expect(bodies).toEqual(expected);
  });
});
