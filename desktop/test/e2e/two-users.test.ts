import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Profile } from '../../src/core/profile.js';
import { secretAccounts } from '../../src/core/profile-credentials.js';
import { RelayClient } from '../../src/core/relay-client/http-client.js';
import { MemorySecretStore } from '../../src/core/secrets/secret-store.js';
import { ensureConversation, holdClaim } from '../../src/core/store/conversation-queries.js';
import { getProfile } from '../../src/core/store/profile-queries.js';
import { openProfileDb, profileIdOf } from '../integration/support/credentials.js';
import { announceDevicesChanged, serveImpostorKeys } from '../integration/support/relay-process.js';
import { TestUsers } from '../integration/support/test-users.js';
import {
  ensureRendererBuilt,
  launchChromium,
  RENDERER_DIR,
  RESULTS_DIR,
  screenshot,
  seriousA11yViolations,
} from './harness/browser.js';
import { launchClient, type TestClient } from './harness/client.js';
import { type RelayProcess, startRelayProcess } from './harness/relay-process.js';
import { type StaticServer, serveStatic } from './harness/static-server.js';

const WAIT = { timeout: 15_000 };

/** Two people on one real relay, each in the built renderer bridged to a real core in this process. */
describe('two users in the desktop UI', { timeout: 90_000 }, () => {
  let relay: RelayProcess;
  let server: StaticServer;
  let browser: Browser;
  let alice: TestClient;
  let bob: TestClient;
  const bobDir = mkdtempSync(join(tmpdir(), 'sotto-e2e-bob-'));
  const bobProfile = new Profile(bobDir, { secretStore: new MemorySecretStore() });
  // Alice's keychain can "lose" her database key, to reach the unlock screen. Her relay credentials
  // live in her encrypted database, as on a machine without a keychain.
  const aliceSecrets = new MemorySecretStore({ deviceCredentials: 'database' });
  const aliceDir = mkdtempSync(join(tmpdir(), 'sotto-e2e-alice-'));
  const aliceProfile = new Profile(aliceDir, { secretStore: aliceSecrets });
  let aliceRecoveryKey = '';
  /** People who use the core only (no browser page). */
  const others = new TestUsers(() => relay.url);

  beforeAll(async () => {
    ensureRendererBuilt();
    [relay, server, browser] = await Promise.all([startRelayProcess(), serveStatic(RENDERER_DIR), launchChromium()]);
    alice = await launchClient({ browser, appUrl: server.url, name: 'alice', profile: aliceProfile });
    bob = await launchClient({ browser, appUrl: server.url, name: 'bob', profile: bobProfile });
  }, 120_000);

  afterAll(async () => {
    await others.closeAll();
    await alice?.close();
    await bob?.close();
    await browser?.close();
    await server?.close();
    await relay?.close();
    rmSync(bobDir, { recursive: true, force: true });
    rmSync(aliceDir, { recursive: true, force: true });
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      await Promise.all([
        alice?.page.screenshot({ path: `${RESULTS_DIR}/failed-alice.png` }).catch(() => {}),
        bob?.page.screenshot({ path: `${RESULTS_DIR}/failed-bob.png` }).catch(() => {}),
      ]);
    }
  });

  const message = (page: Page, text: string): Locator => page.locator('article.message', { hasText: text }).last();
  /** The user's own message (a quote of it in a reply also contains the text). */
  const mine = (page: Page, text: string): Locator => page.locator('article.message.mine', { hasText: text }).first();

  async function onboard(client: TestClient, username: string, shoot: boolean): Promise<string> {
    const { page } = client;
    await page.getByRole('heading', { name: 'Welcome to Sotto' }).waitFor(WAIT);
    await page.getByLabel('Relay URL').fill(relay.url);
    await page.getByLabel('Username').fill(username);
    if (shoot) {
      await screenshot(page, 'onboarding');
      expect(await seriousA11yViolations(page)).toEqual([]);
    }
    await page.getByRole('button', { name: 'Create account' }).click();
    const key = page.getByTestId('recovery-key');
    await key.waitFor(WAIT);
    const recoveryKey = (await key.textContent()) ?? '';
    expect(recoveryKey.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor(WAIT);
    expect(client.copied).toEqual([recoveryKey]);
    const next = page.getByRole('button', { name: 'Continue' });
    expect(await next.isDisabled()).toBe(true);
    await page.getByLabel("I've stored my recovery key somewhere safe").check();
    await next.click();
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor(WAIT);
    // Shown once: the key is nowhere on the next screen.
    expect(await page.getByText(recoveryKey).count()).toBe(0);
    return recoveryKey;
  }

  async function openConversation(page: Page, username: string): Promise<void> {
    await page.locator(`button.conversation[data-username="${username}"]`).click();
    await page.getByRole('heading', { level: 2, name: username }).waitFor(WAIT);
  }

  async function send(page: Page, text: string): Promise<void> {
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill(text);
    await composer.press('Enter');
    await message(page, text).waitFor(WAIT);
  }

  it('onboards two users with a recovery key shown once', async () => {
    aliceRecoveryKey = await onboard(alice, 'alice', true);
    await onboard(bob, 'bob', false);
  });

  it('starts a conversation by username and delivers a message, then marks it read', async () => {
    await alice.page.getByRole('button', { name: 'New conversation' }).click();
    await alice.page.getByPlaceholder('Who do you want to write to?').fill('bob');
    await alice.page.getByRole('button', { name: 'Start conversation' }).click();
    await alice.page.getByRole('heading', { level: 2, name: 'bob' }).waitFor(WAIT);
    await send(alice.page, 'Hello Bob, pineapple pizza tonight?');

    const tick = message(alice.page, 'pineapple pizza').locator('.tick');
    await alice.page
      .locator('article.message', { hasText: 'pineapple pizza' })
      .locator('.tick[data-status="delivered"]')
      .waitFor(WAIT);

    // Bob sees the unread count and the preview in his list before opening it.
    const row = bob.page.locator('button.conversation[data-username="alice"]');
    await row.waitFor(WAIT);
    await expect.poll(() => row.getByTestId('unread-count').textContent(), WAIT).toBe('1');
    expect(await row.textContent()).toContain('pineapple pizza');
    await screenshot(bob.page, 'conversation-list');
    expect(await seriousA11yViolations(bob.page)).toEqual([]);

    await openConversation(bob.page, 'alice');
    await message(bob.page, 'pineapple pizza').waitFor(WAIT);
    await expect.poll(() => tick.getAttribute('data-status'), WAIT).toBe('read');
    await expect.poll(() => row.getByTestId('unread-count').count(), WAIT).toBe(0);
  });

  it('leaves a message unread while the window is visible but not focused, and marks it read on focus', async () => {
    // Bob's window stays on screen while he works in another app (or on another monitor).
    await bob.page.evaluate(() => {
      Object.defineProperty(document, 'hasFocus', { configurable: true, value: () => false });
      window.dispatchEvent(new Event('blur'));
    });
    const callsBefore = bob.invoked.length;
    await send(alice.page, 'Still at your desk?');
    const tick = mine(alice.page, 'Still at your desk?').locator('.tick');
    await expect.poll(() => tick.getAttribute('data-status'), WAIT).toBe('delivered');
    await message(bob.page, 'Still at your desk?').waitFor(WAIT);
    const row = bob.page.locator('button.conversation[data-username="alice"]');
    await expect.poll(() => row.getByTestId('unread-count').textContent(), WAIT).toBe('1');
    // An ordering barrier, not a timing check: a page timer set now fires after the one the view set when
    // the message arrived, and a call made after it reaches the bridge after any call that one made.
    await bob.page.evaluate(() => new Promise((done) => setTimeout(done, 500)));
    await bob.page.evaluate(() =>
      (window as unknown as { sotto: Record<string, () => unknown> }).sotto['app:info']?.(),
    );
    expect(bob.invoked.slice(callsBefore)).not.toContain('conversations:mark-read');
    expect(await tick.getAttribute('data-status')).toBe('delivered');
    expect(await row.getByTestId('unread-count').textContent()).toBe('1');

    // He comes back to Sotto: now he has read it.
    await bob.page.evaluate(() => {
      Reflect.deleteProperty(document, 'hasFocus');
      window.dispatchEvent(new Event('focus'));
    });
    await expect.poll(() => tick.getAttribute('data-status'), WAIT).toBe('read');
    await expect.poll(() => row.getByTestId('unread-count').count(), WAIT).toBe(0);
  });

  it('says in words who set the disappearing-messages timer and to what', async () => {
    const timer = alice.page.getByRole('combobox', { name: 'Disappearing messages' });
    const line = (page: Page, text: string) => page.locator('.system-message', { hasText: text });
    await timer.selectOption({ label: 'Disappearing: 1 h' });
    await line(alice.page, 'You set disappearing messages to 1 hour.').waitFor(WAIT);
    await line(bob.page, 'alice set disappearing messages to 1 hour.').waitFor(WAIT);
    // The conversation list's preview says it in the same words.
    const preview = bob.page.locator('button.conversation[data-username="alice"] .preview');
    await expect.poll(() => preview.textContent(), WAIT).toBe('alice set disappearing messages to 1 hour.');
    await timer.selectOption({ label: 'Disappearing: off' });
    await line(alice.page, 'You turned off disappearing messages.').waitFor(WAIT);
    await line(bob.page, 'alice turned off disappearing messages.').waitFor(WAIT);
    for (const page of [alice.page, bob.page]) {
      expect(await page.locator('.system-message').allTextContents()).not.toContainEqual(
        expect.stringMatching(/^\d+$/),
      );
    }
  });

  it('opens a clicked notification, and says on screen when a link names someone who cannot be reached', async () => {
    alice.requestOpen({ username: 'nobody_by_that_name' });
    const failed = alice.page
      .getByRole('alert')
      .filter({ hasText: 'Could not open a conversation with nobody_by_that_name' });
    await failed.waitFor(WAIT);
    await failed.getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => failed.count(), WAIT).toBe(0);
    // Alice is in her settings when she clicks a notification of Bob's conversation.
    await alice.page.getByRole('button', { name: 'Settings' }).click();
    await alice.page.getByRole('heading', { name: 'Settings' }).waitFor(WAIT);
    const bobId = alice.session.messenger?.listConversations().find((c) => c.username === 'bob')?.id ?? '';
    alice.requestOpen({ conversationId: bobId });
    await alice.page.getByRole('heading', { level: 2, name: 'bob' }).waitFor(WAIT);
  });

  it('shows typing, sends with Enter and keeps Shift+Enter as a new line', async () => {
    const composer = bob.page.getByRole('textbox', { name: 'Message' });
    await composer.pressSequentially('Sounds good', { delay: 10 });
    await alice.page.getByText('bob is typing…').waitFor(WAIT);
    await composer.press('Shift+Enter');
    await composer.pressSequentially('see you at 8');
    await composer.press('Enter');
    const received = message(alice.page, 'see you at 8');
    await received.waitFor(WAIT);
    expect(await received.locator('.body').textContent()).toBe('Sounds good\nsee you at 8');
    await expect.poll(() => alice.page.getByText('bob is typing…').count(), WAIT).toBe(0);
  });

  it('reacts, replies with a quote, edits and deletes for everyone', async () => {
    // Alice reacts to Bob's message.
    const theirs = message(alice.page, 'see you at 8');
    await theirs.hover();
    await theirs.getByRole('button', { name: 'React', exact: true }).click();
    await theirs.getByRole('button', { name: 'React with 👍' }).click();
    await message(bob.page, 'see you at 8').getByRole('button', { name: '👍, 1 reaction' }).waitFor(WAIT);

    // Bob replies to Alice's first message.
    const original = message(bob.page, 'pineapple pizza');
    await original.hover();
    await original.getByRole('button', { name: 'Reply' }).click();
    await send(bob.page, 'Only if it has olives');
    const reply = message(alice.page, 'Only if it has olives');
    await reply.waitFor(WAIT);
    expect(await reply.locator('.quote').textContent()).toContain('pineapple pizza');

    // Alice edits her message.
    const ownMessage = mine(alice.page, 'pineapple pizza');
    await ownMessage.hover();
    await ownMessage.getByRole('button', { name: 'Edit' }).click();
    const composer = alice.page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Hello Bob, pineapple pizza at 8?');
    await composer.press('Enter');
    const edited = message(bob.page, 'pineapple pizza at 8?');
    await edited.waitFor(WAIT);
    await edited.getByText('edited').waitFor(WAIT);

    // Alice sends a message, Bob quotes it, and Alice deletes it for everyone: its words go from his
    // reply's quote too.
    await send(alice.page, 'oops, wrong chat');
    const oopsAtBob = message(bob.page, 'oops, wrong chat');
    await oopsAtBob.hover();
    await oopsAtBob.getByRole('button', { name: 'Reply' }).click();
    await send(bob.page, 'what was that?');
    await message(alice.page, 'what was that?').waitFor(WAIT);
    const oops = mine(alice.page, 'oops, wrong chat');
    await oops.hover();
    await oops.getByRole('button', { name: 'Delete for everyone' }).click();
    await oops.getByRole('button', { name: 'Yes, delete for everyone' }).click();
    await expect.poll(() => bob.page.getByText('oops, wrong chat').count(), WAIT).toBe(0);
    await expect.poll(() => bob.page.getByText('This message was deleted.').count(), WAIT).toBe(1);
    expect(await message(bob.page, 'what was that?').locator('.quote').textContent()).toContain(
      'Original message not found',
    );
    expect(await alice.page.getByText('oops, wrong chat').count()).toBe(0);
    await screenshot(bob.page, 'conversation');
    expect(await seriousA11yViolations(bob.page)).toEqual([]);
  });

  it('finds a message in search and jumps to it in a long history', async () => {
    // Push the search target well above the first page of history.
    const messenger = alice.session.messenger;
    if (!messenger) {
      throw new Error('alice has no messenger');
    }
    for (let i = 0; i < 130; i++) {
      await messenger.sendText(messenger.listConversations()[0]?.id ?? '', `filler message number ${i}`);
    }
    await message(bob.page, 'filler message number 129').waitFor(WAIT);
    expect(await bob.page.getByText('pineapple pizza at 8?').count()).toBe(0);

    await bob.page.getByRole('button', { name: 'Search messages' }).click();
    await bob.page.getByRole('searchbox', { name: 'Search all messages' }).fill('pineapple');
    const hit = bob.page.locator('button.search-hit').first();
    await hit.waitFor(WAIT);
    expect(await hit.locator('mark').first().textContent()).toMatch(/pineapple/i);
    await screenshot(bob.page, 'search');
    expect(await seriousA11yViolations(bob.page)).toEqual([]);
    await hit.click();
    const target = bob.page.locator('article.message.highlighted', { hasText: 'pineapple pizza at 8?' });
    await target.waitFor(WAIT);
    await expect.poll(() => target.isVisible(), WAIT).toBe(true);
  });

  it('shows the same safety number on both sides and marks it verified', async () => {
    const digits: string[] = [];
    for (const [client, peer] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      const { page } = client;
      if ((await page.getByRole('heading', { level: 2, name: peer }).count()) === 0) {
        await openConversation(page, peer);
      }
      await page.getByRole('button', { name: 'Safety number' }).click();
      const number = page.getByTestId('safety-number');
      await number.waitFor(WAIT);
      const groups = await number.locator('li').allTextContents();
      expect(groups).toHaveLength(12);
      expect(groups.join('')).toMatch(/^\d{60}$/);
      digits.push(groups.join(''));
      await page.getByRole('img', { name: 'QR code of the safety number' }).waitFor(WAIT);
    }
    expect(digits[0]).toBe(digits[1]);
    await screenshot(alice.page, 'safety-number');
    expect(await seriousA11yViolations(alice.page)).toEqual([]);
    await alice.page.getByRole('button', { name: 'Mark as verified' }).click();
    await alice.page.getByText('You have verified this safety number.').waitFor(WAIT);
    await alice.page.getByRole('button', { name: 'Back to conversation' }).click();
    await alice.page
      .getByRole('heading', { level: 2, name: 'bob' })
      .getByText('Verified')
      .waitFor({ state: 'attached' });
  });

  it("shows the new safety number at once when a verified peer's key changes while it is on screen, and holds the message", async () => {
    // Carol and mallory use the core only; a compromised relay will serve mallory's keys for carol.
    const [carol, mallory] = await Promise.all([others.connected('carol'), others.connected('mallory')]);
    const { page } = alice;
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByPlaceholder('Who do you want to write to?').fill(carol.username);
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await page.getByRole('heading', { level: 2, name: carol.username }).waitFor(WAIT);
    await send(page, 'Hi Carol');
    await mine(page, 'Hi Carol').locator('.tick[data-status="delivered"]').waitFor(WAIT);

    await page.getByRole('button', { name: 'Safety number' }).click();
    const number = page.getByTestId('safety-number');
    await number.waitFor(WAIT);
    const shown = async () => (await number.locator('li').allTextContents()).join('');
    const before = await shown();
    await page.getByRole('button', { name: 'Mark as verified' }).click();
    await page.getByText('You have verified this safety number.').waitFor(WAIT);

    // Carol goes offline (her app would otherwise answer with her real key, which is a change back), and
    // the relay starts serving mallory's keys for her.
    await carol.messenger.close();
    serveImpostorKeys(relay.databaseUrl, carol.accountId, mallory.accountId);
    announceDevicesChanged(relay, carol.accountId);
    // Alice's app sends to carol while the number is on screen (as a queued message would), and so meets the
    // new key.
    await page.evaluate(
      (conversationId) =>
        (window as unknown as { sotto: Record<string, (input: unknown) => Promise<unknown>> }).sotto['messages:send']?.(
          {
            conversationId,
            body: 'still you?',
          },
        ),
      carol.accountId,
    );
    await expect.poll(shown, WAIT).not.toBe(before);
    const after = await shown();
    const aliceCore = alice.session.messenger;
    if (!aliceCore) {
      throw new Error("alice's profile is not open");
    }
    const core = await aliceCore.safetyNumber(carol.accountId);
    expect(after).toBe(core.displayString.replace(/\D/g, ''));
    expect(await page.getByTestId('verified-state').textContent()).toBe('Not verified yet.');

    // Back in the conversation, a banner says so, and leads back to the number. Carol was verified: the
    // message written for her was not sent to the new key.
    await page.getByRole('button', { name: 'Back to conversation' }).click();
    const banner = page.getByRole('alert').getByText(`Your safety number with ${carol.username} changed`);
    await banner.waitFor(WAIT);
    await mine(page, 'still you?').locator('.tick[data-status="failed"]').waitFor(WAIT);
    await screenshot(page, 'identity-changed');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'View safety number' }).click();
    await expect.poll(shown, WAIT).toBe(after);

    // Verifying now vouches for the number on screen, the new one.
    await page.getByRole('button', { name: 'Mark as verified' }).click();
    await page.getByText('You have verified this safety number.').waitFor(WAIT);
    expect(await aliceCore.safetyNumber(carol.accountId)).toMatchObject({
      verified: true,
      displayString: core.displayString,
    });
    // Verifying the new number also settles the change: no "safety number changed" banner is left behind.
    await page.getByRole('button', { name: 'Back to conversation' }).click();
    await page
      .getByRole('heading', { level: 2, name: carol.username })
      .getByText('Verified')
      .waitFor({ state: 'attached' });
    await expect.poll(() => banner.count(), WAIT).toBe(0);

    // Having looked, alice sends the held message again, as written: the relay takes it (for the new key).
    const held = mine(page, 'still you?');
    expect(await held.locator('.not-sent').textContent()).toContain('Not sent.');
    await held.getByRole('button', { name: 'Send again' }).click();
    await held.locator('.tick[data-status="sent"]').waitFor(WAIT);
    expect(await held.locator('.not-sent').count()).toBe(0);
    await openConversation(page, 'bob');
  });

  it('delivers messages sent while the other side was offline when it comes back', async () => {
    await bob.close();
    await alice.page.getByRole('button', { name: 'Back to conversation' }).count();
    await send(alice.page, 'Are you there? (sent while you were away)');
    bob = await launchClient({ browser, appUrl: server.url, name: 'bob', profile: bobProfile });
    const row = bob.page.locator('button.conversation[data-username="alice"]');
    await row.waitFor(WAIT);
    await expect.poll(() => row.textContent(), WAIT).toContain('sent while you were away');
    await openConversation(bob.page, 'alice');
    await message(bob.page, 'sent while you were away').waitFor(WAIT);
    await alice.page
      .locator('article.message', { hasText: 'sent while you were away' })
      .locator('.tick[data-status="read"]')
      .waitFor(WAIT);
  });

  it("marks the name a stranger's first message claims until the relay confirms it, then shows its answer", async () => {
    // Bob's app stopped before the relay answered for "the_boss", the name a stranger claimed (a crash, say),
    // and the relay is down when he opens it again.
    await bob.close();
    await relay.stop();
    const stranger = randomUUID();
    const db = await openProfileDb(bobDir, bobProfile.secretStore);
    ensureConversation(db, stranger, 'the_boss', Date.now());
    holdClaim(db, stranger, 'the_boss');
    db.close();
    bob = await launchClient({ browser, appUrl: server.url, name: 'bob', profile: bobProfile });
    const claimed = bob.page.locator('button.conversation[data-username="the_boss"]');
    await claimed.waitFor(WAIT);
    expect(await claimed.textContent()).toContain('(name not confirmed)');
    expect(await claimed.getAttribute('aria-label')).toBe('the_boss, name not confirmed');

    // The relay is back and says the_boss is nobody's: the stranger is unverified-… from then on.
    await relay.restart();
    const renamed = bob.page.locator(`button.conversation[data-username="unverified-${stranger.slice(0, 8)}"]`);
    await renamed.waitFor({ timeout: 45_000 });
    expect(await renamed.textContent()).not.toContain('not confirmed');
  });

  it('shows settings with relay and device info', async () => {
    await bob.page.getByRole('button', { name: 'Settings' }).click();
    await bob.page.getByRole('heading', { name: 'Settings' }).waitFor(WAIT);
    expect(await bob.page.locator('.facts').textContent()).toContain(relay.url);
    await bob.page.getByLabel('Dark').check();
    await expect.poll(() => bob.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await screenshot(bob.page, 'settings');
    expect(await seriousA11yViolations(bob.page)).toEqual([]);
  });

  it('asks for the recovery key when the keychain lost the database key, and unlocks with it', async () => {
    await alice.close();
    for (const account of aliceSecrets.accounts()) {
      await aliceSecrets.delete(account);
    }
    alice = await launchClient({ browser, appUrl: server.url, name: 'alice', profile: aliceProfile });
    const { page } = alice;
    await page.getByRole('heading', { name: 'Unlock Sotto' }).waitFor(WAIT);
    expect(await seriousA11yViolations(page)).toEqual([]);
    // A sotto://chat/bob link arrives while the unlock screen is up: nothing there can open it, and it
    // is opened once she is signed in.
    alice.requestOpen({ username: 'bob' });
    await alice.bridge.flush();
    await page.getByLabel('Recovery key').fill('not-the-right-key');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('alert').waitFor(WAIT);
    await page.getByLabel('Recovery key').fill(aliceRecoveryKey);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { level: 2, name: 'bob' }).waitFor(WAIT);
    await page.locator('button.conversation[data-username="bob"]').waitFor(WAIT);
    await openConversation(page, 'bob');
    await mine(page, 'sent while you were away').waitFor(WAIT);
    // The database key is back in the keychain: the next start opens without asking.
    expect(aliceSecrets.accounts().length).toBeGreaterThan(0);
  });

  it('tells a user whose account is gone that this device must register again', async () => {
    // Bob's account is deleted elsewhere (another of his devices, say): the relay revokes this device.
    const accounts = secretAccounts(profileIdOf(bobDir));
    const db = await openProfileDb(bobDir, bobProfile.secretStore);
    const row = getProfile(db);
    db.close();
    const client = new RelayClient({ baseUrl: relay.url });
    client.setCredentials({
      accountId: row?.accountId ?? '',
      deviceId: row?.deviceId ?? 0,
      deviceSecret: row?.deviceSecret ?? (await bobProfile.secretStore.get(accounts.deviceSecret)) ?? '',
    });
    const deleted = await fetch(`${relay.url}/v1/accounts/me`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await client.accessToken()}` },
    });
    expect(deleted.status).toBe(204);
    const banner = bob.page.locator('.banner.connection[data-state="unregistered"]');
    await banner.waitFor(WAIT);
    expect(await banner.textContent()).toContain('Register again to keep using this relay');
  });

  it('signs out and wipes: the relay deletes the account of its only device (its username is free again)', async () => {
    const { page } = alice;
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Sign out and wipe this device' }).click();
    await page.getByRole('button', { name: 'Yes, wipe everything on this device' }).click();
    await page.getByRole('heading', { name: 'Welcome to Sotto' }).waitFor(WAIT);
    expect(await aliceProfile.state()).toBe('none');
    // Before: the account stayed on the relay, its queue filling, and "alice" could never be registered again.
    const again = await fetch(`${relay.url}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', deviceSecret: 'x'.repeat(43), registrationId: 7 }),
    });
    expect(again.status).toBe(200);
  });
});
