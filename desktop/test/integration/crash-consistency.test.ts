import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { PassphraseSecretStore } from '../../src/core/secrets/passphrase-secret-store.js';
import { spawnCli, waitCli } from './support/cli.js';
import { tempDir, until } from './support/helpers.js';
import { type RelayProcess, startRelay } from './support/relay-process.js';

// A receiving CLI process is SIGKILLed at random moments during a burst of 500 messages and
// restarted until drained: every message must be in its history exactly once, in order.
const COUNT = 500;
const MAX_KILLS = 12;
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

describe('crash consistency of the receive pipeline', () => {
  it('SIGKILL during a 500-message burst loses and duplicates nothing', { timeout: 180_000 }, async () => {
    const suffix = Math.random().toString(36).slice(2, 7);
    const bobDir = join(home.path, 'bob');
    const bobProfile = new Profile(bobDir, { secretStore: new PassphraseSecretStore(bobDir, PASSPHRASE) });
    const bob = await bobProfile.registerMessenger({ relayUrl: relay.url, username: `bob_${suffix}` });
    await bob.messenger.close();
    const aliceDir = join(home.path, 'alice');
    const alice = await new Profile(aliceDir, {
      secretStore: new PassphraseSecretStore(aliceDir, PASSPHRASE),
    }).registerMessenger({
      relayUrl: relay.url,
      username: `alice_${suffix}`,
    });
    const conv = await alice.messenger.startConversation(`bob_${suffix}`);
    const expected = Array.from({ length: COUNT }, (_, i) => `burst message ${String(i).padStart(3, '0')}`);

    // The burst goes out in the background while bob's receiver is repeatedly killed.
    const burst = (async () => {
      for (const text of expected) {
        await alice.messenger.sendText(conv.id, text);
      }
    })();

    const env = { SOTTO_DB_PASSPHRASE: PASSPHRASE };
    let kills = 0;
    for (let round = 0; round < MAX_KILLS; round++) {
      // Kill only once the receiver is demonstrably in the middle of the stream: after a random
      // number of messages were committed and printed.
      const child = spawnCli(['--profile', bobDir, 'receive', '--timeout', '30', '--json'], env);
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
    // Restart until a run drains the queue and exits cleanly.
    let clean = false;
    for (let i = 0; i < 5 && !clean; i++) {
      const result = await waitCli(spawnCli(['--profile', bobDir, 'receive', '--timeout', '2', '--json'], env), 90_000);
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
    await reopened.close();
    expect(errors).toEqual([]);
    expect(bodies.length).toBe(COUNT);
    expect(new Set(bodies).size).toBe(COUNT);
    expect(bodies).toEqual(expected);
  });
});
