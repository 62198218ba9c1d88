import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { tempDir } from './support/helpers.js';
import { announceDevicesChanged, type RelayProcess, serveImpostorKeys, startRelay } from './support/relay-process.js';

// On Postgres (not the embedded default) so that the test can play the compromised relay.
let relay: RelayProcess;
const home = tempDir('sotto-cli-key-');
const env = { SOTTO_DB_PASSPHRASE: 'cli test passphrase' };
const [alice, bob, mallory] = ['alice', 'bob', 'mallory'].map((name) => join(home.path, name)) as [
  string,
  string,
  string,
];

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  await relay?.stop();
  home.remove();
});

const cli = (profile: string, ...args: string[]) => runCli(['--profile', profile, ...args], env);

async function register(profile: string, username: string): Promise<string> {
  const result = await cli(profile, 'register', '--relay', relay.url, '--username', username);
  expect(result.code).toBe(0);
  return /registered \S+ \(([0-9a-f-]{36})\)/.exec(result.stdout)?.[1] ?? '';
}

describe('sotto send to a verified person whose key changed', () => {
  it('does not send what was written for the verified key, says why, and sends once the user has seen it', {
    timeout: 120_000,
  }, async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const [, bobId, malloryId] = await Promise.all([
      register(alice, `alice_${suffix}`),
      register(bob, `bob_${suffix}`),
      register(mallory, `mallory_${suffix}`),
    ]);
    const bobName = `bob_${suffix}`;
    expect((await cli(alice, 'send', bobName, 'hello')).code).toBe(0);
    const number = (await cli(alice, 'safety-number', bobName)).stdout.split('\n')[0] ?? '';
    expect((await cli(alice, 'verify', bobName, '--safety-number', number)).code).toBe(0);

    // The relay starts serving mallory's keys for bob.
    serveImpostorKeys(relay.databaseUrl ?? '', bobId, malloryId);
    announceDevicesChanged(relay, bobId);

    const held = await cli(alice, 'send', bobName, 'still you?');
    expect(held.code).toBe(1);
    expect(held.stderr).toBe(
      `sotto: not sent: the safety number with ${bobName} changed since you verified it. ` +
        `Compare the new one (sotto safety-number ${bobName}), then send again\n`,
    );
    const history = (await cli(alice, 'history', bobName)).stdout.trim().split('\n');
    expect(history.slice(-2).map((line) => line.slice(25))).toEqual([
      `alice_${suffix}: still you? [not sent]`,
      `${bobName}: [safety number changed]`,
    ]);
    const now = await cli(alice, 'safety-number', bobName);
    expect(now.stdout.split('\n')[0]).not.toBe(number);
    expect(now.stdout).toContain('\nnot verified');

    // Seen and not verified any more: the next message goes to the key the relay serves now.
    expect((await cli(alice, 'send', bobName, 'hello again')).code).toBe(0);
  });
});
