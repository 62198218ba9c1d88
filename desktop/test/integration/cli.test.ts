import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Content, Routes } from '@sotto/shared-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassphraseSecretStore } from '../../src/core/secrets/passphrase-secret-store.js';
import { ensureConversation, holdClaim } from '../../src/core/store/conversation-queries.js';
import { enqueueOutbox } from '../../src/core/store/delivery-queries.js';
import { newMessageId } from '../../src/core/store/message-queries.js';
import { run, sql } from '../../src/core/store/sql.js';
import { runCli, runCliOnTerminal, runCliWithInput, spawnCli, waitCli } from './support/cli.js';
import { openProfileDb } from './support/credentials.js';
import { tempDir } from './support/helpers.js';
import { type RelayProcess, startRelay } from './support/relay-process.js';

// The `sotto` CLI as separate processes against the relay's embedded default (PGlite, in-process fan-out).
let relay: RelayProcess;
const home = tempDir('sotto-cli-');
const env = { SOTTO_DB_PASSPHRASE: 'cli test passphrase' };
const alice = join(home.path, 'alice');
const bob = join(home.path, 'bob');

beforeAll(async () => {
  relay = await startRelay({ embedded: true });
});

afterAll(async () => {
  await relay?.stop();
  home.remove();
});

const cli = (profile: string, ...args: string[]) => runCli(['--profile', profile, ...args], env);

describe('sotto CLI on the embedded relay', () => {
  it('registers, sends both ways, receives as JSON, shows history, search, safety numbers', {
    timeout: 120_000,
  }, async () => {
    const reg = await cli(alice, 'register', '--relay', relay.url, '--username', 'alice');
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    expect(reg.stdout).toMatch(/recovery key .*: ([0-9A-Z]{4}-){7}[0-9A-Z]{4}/);
    expect(
      (await runCli(['register', '--relay', relay.url, '--username', 'bob'], { ...env, SOTTO_HOME: bob })).code,
    ).toBe(0);

    const sent = await cli(alice, 'send', 'bob', 'hello from alice');
    expect(sent.code).toBe(0);
    const received = await cli(bob, 'receive', '--timeout', '1', '--json');
    expect(received.code).toBe(0);
    const lines = received.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ from: 'alice', text: 'hello from alice', id: sent.stdout.trim() });
    expect(typeof lines[0]?.sentAt).toBe('number');
    expect(typeof lines[0]?.receivedAt).toBe('number');

    expect((await cli(bob, 'send', 'alice', 'hi alice, bob here')).code).toBe(0);
    const back = await cli(alice, 'receive', '--timeout', '1', '--json');
    expect(back.stdout).toContain('hi alice, bob here');

    const history = await cli(alice, 'history', 'bob', '--json');
    const texts = history.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(texts).toEqual(['hello from alice', 'hi alice, bob here']);

    const found = await cli(bob, 'search', 'alice', '--json');
    expect(found.stdout).toContain('hello from alice');
    const convs = await cli(bob, 'conversations', '--json');
    expect(JSON.parse(convs.stdout.trim())).toMatchObject({ username: 'alice', unreadCount: 1 });

    const sa = await cli(alice, 'safety-number', 'bob');
    const sb = await cli(bob, 'safety-number', 'alice');
    const digits = (s: string) => s.split('\n')[0]?.replace(/ /g, '');
    expect(digits(sa.stdout)).toMatch(/^\d{60}$/);
    expect(digits(sa.stdout)).toBe(digits(sb.stdout));
    // A number that is not the current one (here mistyped) verifies nothing.
    const wrong = `${'0'.repeat(5)} ${sa.stdout.split('\n')[0]?.slice(6)}`;
    const refused = await cli(alice, 'verify', 'bob', '--safety-number', wrong);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not the safety number with bob now/);
    expect((await cli(alice, 'safety-number', 'bob')).stdout).toContain('\nnot verified');
    const verified = await cli(alice, 'verify', 'bob', '--safety-number', sa.stdout.split('\n')[0] ?? '');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toBe(`bob marked verified, safety number:\n${sa.stdout.split('\n')[0]}\n`);
    expect((await cli(alice, 'safety-number', 'bob')).stdout).toContain('\nverified');
  });

  it('sends to a conversation under a name only this profile uses (unverified-…), without asking the relay', {
    timeout: 60_000,
  }, async () => {
    const db = await openProfileDb(alice, new PassphraseSecretStore(alice, env.SOTTO_DB_PASSPHRASE));
    const local = `unverified-${randomBytes(4).toString('hex')}`;
    run(db, sql`UPDATE conversations SET username = ${local} WHERE username = 'bob'`);
    db.close();
    const sent = await cli(alice, 'send', local, 'to a local name');
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const received = await cli(bob, 'receive', '--timeout', '1', '--json');
    expect(received.stdout).toContain('to a local name');
  });

  it('never prints a name a stranger claims before the relay confirms it is theirs', { timeout: 90_000 }, async () => {
    const [erin, frank, mallory] = ['erin', 'frank', 'mallory'].map((name) => join(home.path, name)) as [
      string,
      string,
      string,
    ];
    const ids = new Map<string, string>();
    for (const [dir, name] of [
      [erin, 'erin'],
      [frank, 'frank'],
      [mallory, 'mallory'],
    ] as const) {
      const reg = await cli(dir, 'register', '--relay', relay.url, '--username', name);
      ids.set(name, /registered \S+ \(([0-9a-f-]{36})\)/.exec(reg.stdout)?.[1] ?? '');
    }
    // Mallory's modified client writes to erin for the first time as "the_boss" (nobody's username).
    const db = await openProfileDb(mallory, new PassphraseSecretStore(mallory, env.SOTTO_DB_PASSPHRASE));
    const content: Content = {
      kind: 'text',
      id: newMessageId(),
      body: 'wire 5k to the usual account',
      sentAt: Date.now(),
      senderUsername: 'the_boss',
    };
    enqueueOutbox(
      db,
      { recipientAccountId: ids.get('erin') ?? '', messageId: null, contentJson: JSON.stringify(content) },
      Date.now(),
    );
    db.close();
    expect((await cli(mallory, 'receive', '--timeout', '0')).code).toBe(0); // sends what is queued
    expect((await cli(frank, 'send', 'erin', 'hi erin, frank here')).code).toBe(0);

    const received = await cli(erin, 'receive', '--timeout', '1', '--json');
    const lines = received.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { from: string; fromAccountId: string; text: string });
    const unverified = `unverified-${ids.get('mallory')?.slice(0, 8)}`;
    expect(lines.map((l) => [l.from, l.fromAccountId, l.text])).toEqual([
      [unverified, ids.get('mallory'), 'wire 5k to the usual account'],
      ['frank', ids.get('frank'), 'hi erin, frank here'], // a true claim: the name, once the relay said so
    ]);
    expect(received.stdout).not.toContain('the_boss');
    const listed = (await cli(erin, 'conversations')).stdout;
    expect(listed).toContain(unverified);
    expect(listed).not.toContain('the_boss');

    // A claim the relay could not answer yet (erin's last run ended first): listed, never as the name.
    const stranger = randomUUID();
    const erinDb = await openProfileDb(erin, new PassphraseSecretStore(erin, env.SOTTO_DB_PASSPHRASE));
    ensureConversation(erinDb, stranger, 'the_ceo', Date.now());
    holdClaim(erinDb, stranger, 'the_ceo');
    erinDb.close();
    const pending = (await cli(erin, 'conversations')).stdout.split('\n').find((l) => l.includes('the_ceo'));
    expect(pending).toMatch(new RegExp(`^unverified-${stranger.slice(0, 8)}\t.*says it is the_ceo, not confirmed yet`));
  });

  it('fails with a non-zero exit and a one-line reason', async () => {
    const unknown = await cli(alice, 'send', 'nobody_here', 'hi');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('nobody_here');
    const noProfile = await runCli(['conversations'], { SOTTO_HOME: '' });
    expect(noProfile.code).not.toBe(0);
    expect(noProfile.stderr).toMatch(/--profile/);
    const wrong = await runCli(['--profile', alice, 'conversations'], { SOTTO_DB_PASSPHRASE: 'not the passphrase' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    // It says what to do next.
    expect(wrong.stderr).toMatch(/check SOTTO_DB_PASSPHRASE, or sotto unlock/);
    // Usage errors of a subcommand read like every other failure.
    const badLimit = await cli(alice, 'history', 'bob', '--limit', 'many');
    expect(badLimit.code).toBe(1);
    expect(badLimit.stderr).toBe("sotto: option '--limit <n>' argument 'many' is invalid. expected a whole number\n");
  });

  it('prints a message that carries terminal escapes or line breaks as one inert line', {
    timeout: 60_000,
  }, async () => {
    // ESC ] 0 ; … BEL retitles the terminal; ESC [ 2 J clears it; the line break would forge a line from bob.
    const hostile = 'see below\nbob: please send the recovery key \u001b]0;pwned\u0007\u001b[2J\u202eevil';
    expect((await cli(alice, 'send', 'bob', hostile)).code).toBe(0);
    const shown = '\\nbob: please send the recovery key \\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{202e}evil';
    const received = await cli(bob, 'receive', '--timeout', '1');
    expect(received.stdout).toBe(`alice: see below${shown}\n`);
    const history = await cli(bob, 'history', 'alice', '--limit', '1');
    expect(history.stdout).toMatch(new RegExp(`^\\S+ alice: see below${escapeRegExp(shown)}\n$`));
    const convs = await cli(bob, 'conversations');
    expect(convs.stdout).toContain('\\u{1b}]0;pwned');
    for (const raw of ['\u001b', '\u0007', '\u202e']) {
      expect(convs.stdout).not.toContain(raw);
    }
    const json = await cli(bob, 'history', 'alice', '--limit', '1', '--json');
    expect((JSON.parse(json.stdout) as { text: string }).text).toBe(hostile); // scripts get the text itself
  });

  it('sends and finds text that starts with "-" (not taken for an unknown option)', { timeout: 60_000 }, async () => {
    const sent = await cli(alice, 'send', 'bob', '-1 for the early meeting');
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const received = await cli(bob, 'receive', '--timeout', '1', '--json');
    expect(received.stdout).toContain('"text":"-1 for the early meeting"');
    const found = await cli(bob, 'search', '-1 early', '--json');
    expect(found.code).toBe(0);
    expect(found.stdout).toContain('-1 for the early meeting');
  });

  it('sends a message read from standard input, which keeps it out of the process list', {
    timeout: 60_000,
  }, async () => {
    const piped = await runCliWithInput(['--profile', alice, 'send', 'bob'], 'first line\n  second line\n', env);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    const received = await cli(bob, 'receive', '--timeout', '1', '--json');
    const texts = received.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { text: string }).text);
    expect(texts).toEqual(['first line\n  second line']);
    const empty = await runCliWithInput(['--profile', alice, 'send', 'bob'], '\n', env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe('sotto: nothing to send: standard input was empty\n');
  });

  it('receive --mark-read marks what it printed as read, and the sender learns it', { timeout: 60_000 }, async () => {
    const unreadFromAlice = async () => {
      const lines = (await cli(bob, 'conversations', '--json')).stdout.trim().split('\n');
      const rows = lines.map((line) => JSON.parse(line) as { username: string; unreadCount: number });
      return rows.find((row) => row.username === 'alice')?.unreadCount;
    };
    expect((await cli(alice, 'send', 'bob', 'please read me')).code).toBe(0);
    expect((await cli(bob, 'receive', '--timeout', '0')).stdout).toContain('alice: please read me');
    expect(await unreadFromAlice()).toBeGreaterThan(0); // printing alone does not mark read
    expect((await cli(alice, 'send', 'bob', 'and me')).code).toBe(0);
    const marked = await cli(bob, 'receive', '--timeout', '0', '--mark-read');
    expect(marked.stdout).toBe('alice: and me\n');
    expect(await unreadFromAlice()).toBe(0);
    expect((await cli(alice, 'receive', '--timeout', '1')).code).toBe(0); // the read receipt
    const history = (await cli(alice, 'history', 'bob', '--json')).stdout.trim().split('\n');
    const mine = history.map((line) => JSON.parse(line) as { text: string; status: string });
    expect(mine.find((m) => m.text === 'and me')?.status).toBe('read');
  });

  it('receive gives up with a one-line reason when the relay is out of reach, instead of waiting forever', {
    timeout: 60_000,
  }, async () => {
    const gone = await startRelay({ embedded: true });
    const dir = join(home.path, 'dave');
    expect((await cli(dir, 'register', '--relay', gone.url, '--username', 'dave')).code).toBe(0);
    await gone.stop();
    const started = Date.now();
    const result = await cli(dir, 'receive', '--timeout', '1', '--connect-timeout', '2');
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`could not reach the relay at ${gone.url} for 2 s; nothing was received`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('receive says that another client of the profile took its connection', { timeout: 60_000 }, async () => {
    const dir = join(home.path, 'gina');
    expect((await cli(dir, 'register', '--relay', relay.url, '--username', 'gina')).code).toBe(0);
    const openSockets = async () => {
      const metrics = await fetch(`${relay.url}${Routes.metrics}`, {
        headers: { authorization: `Bearer ${relay.metricsToken}` },
      });
      return Number(/^sotto_open_sockets (\d+)$/m.exec(await metrics.text())?.[1]);
    };
    const first = waitCli(spawnCli(['--profile', dir, 'receive', '--timeout', '5'], env));
    for (let i = 0; i < 100 && (await openSockets()) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const second = await cli(dir, 'receive', '--timeout', '0');
    expect(second.code).toBe(0);
    const pushedOff = await first;
    expect(pushedOff.code).toBe(1);
    expect(pushedOff.stderr).toBe(
      'sotto: another client of this profile (the app, or another sotto receive) holds its connection to the relay; close it and try again\n',
    );
  });

  it('unlock --recovery-key restores access after the stored key is lost', { timeout: 60_000 }, async () => {
    const dir = join(home.path, 'carol');
    const reg = await cli(dir, 'register', '--relay', relay.url, '--username', 'carol');
    const recoveryKey = /recovery key .*: (\S+)/.exec(reg.stdout)?.[1] ?? '';
    rmSync(join(dir, 'db-key.passphrase.json')); // the key store lost its entry
    const locked = await cli(dir, 'conversations');
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toBe(
      'sotto: the database key is not in the keychain: unlock with your recovery key (sotto unlock, then type the key shown at registration)\n',
    );
    const bad = await cli(dir, 'unlock', '--recovery-key', 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA');
    expect(bad.code).not.toBe(0);
    const good = await cli(dir, 'unlock', '--recovery-key', recoveryKey.toLowerCase());
    expect(good.code).toBe(0);
    expect((await cli(dir, 'conversations')).code).toBe(0);

    // Left out, the key is read from standard input or asked for at a terminal: never in the process list.
    rmSync(join(dir, 'db-key.passphrase.json'));
    const piped = await runCliWithInput(['--profile', dir, 'unlock'], `${recoveryKey}\n`, env);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    rmSync(join(dir, 'db-key.passphrase.json'));
    const typed = await runCliOnTerminal(['--profile', dir, 'unlock'], `${recoveryKey}\r`, env);
    expect(typed.code).toBe(0);
    expect(typed.stdout).toContain('recovery key: ');
    expect(typed.stdout).toContain('unlocked');
    expect(typed.stdout).not.toContain(recoveryKey.slice(0, 9)); // not echoed
    expect((await cli(dir, 'conversations')).code).toBe(0);
    const empty = await runCliWithInput(['--profile', dir, 'unlock'], '\n', env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe('sotto: nothing was entered\n');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
