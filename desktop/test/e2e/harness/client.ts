import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ProfileApi } from '../../../src/core/messenger-types.js';
import { Profile } from '../../../src/core/profile.js';
import { MemorySecretStore } from '../../../src/core/secrets/secret-store.js';
import type { OpenConversationRequest, Settings } from '../../../src/ipc/contract.js';
import { CoreSession } from '../../../src/main/core-session.js';
import { createDispatcher, type Handlers } from '../../../src/main/dispatch.js';
import { OpenRequests } from '../../../src/main/open-requests.js';
import { attachBridge, type Bridge } from './bridge.js';

export interface TestClient {
  name: string;
  page: Page;
  context: BrowserContext;
  session: CoreSession;
  bridge: Bridge;
  copied: string[];
  saved: string[];
  opened: string[];
  /** Every channel the page invoked, in the order the bridge received the calls. */
  invoked: string[];
  /** What main does for a `sotto://` link or a clicked notification (the request waits for the shell). */
  requestOpen(request: OpenConversationRequest): void;
  close(): Promise<void>;
}

/** Stand-ins for the Electron-only channels (clipboard, save dialog, shell), recording what they got. */
function appHandlers(client: Pick<TestClient, 'copied' | 'saved' | 'opened'>, openRequests: OpenRequests) {
  let settings: Settings = { theme: 'system', notifications: true, hideNotificationContent: false };
  return {
    'app:info': () => ({ version: '0.0.0-e2e', platform: process.platform }),
    'app:open-external': ({ url }) => {
      client.opened.push(url);
    },
    'app:copy-text': ({ text }) => {
      client.copied.push(text);
    },
    'app:save-text': ({ text }) => {
      client.saved.push(text);
      return { saved: true };
    },
    'app:focus-conversation': () => {},
    'app:take-open-request': () => openRequests.take(),
    'settings:get': () => settings,
    'settings:set': (patch) => {
      settings = { ...settings, ...patch };
      return settings;
    },
  } satisfies Partial<Handlers>;
}

export interface LaunchOptions {
  browser: Browser;
  appUrl: string;
  name: string;
  /** Defaults to a real core `Profile` in a fresh temp folder with an in-memory keychain. */
  profile?: ProfileApi;
}

/** One user: a browser page running the built renderer, bridged to a real core in this process. */
export async function launchClient(options: LaunchOptions): Promise<TestClient> {
  const dir = options.profile ? null : mkdtempSync(join(tmpdir(), `sotto-e2e-${options.name}-`));
  const profile = options.profile ?? new Profile(dir ?? '', { secretStore: new MemorySecretStore() });
  const context = await options.browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const records = { copied: [] as string[], saved: [] as string[], opened: [] as string[], invoked: [] as string[] };
  let bridge: Bridge | null = null;
  const session = new CoreSession({
    profile,
    onEvent: (event) => bridge?.emit('messenger:event', event),
    onProgress: (step) => bridge?.emit('profile:progress', step),
  });
  const openRequests = new OpenRequests(() => bridge?.emit('app:open-conversation', null));
  const dispatch = createDispatcher({ ...appHandlers(records, openRequests), ...session.handlers } as Handlers);
  bridge = await attachBridge(page, (channel, input) => {
    records.invoked.push(channel);
    return dispatch(channel, input);
  });
  await page.goto(options.appUrl);
  const ready = bridge;
  return {
    name: options.name,
    page,
    context,
    session,
    bridge: ready,
    ...records,
    requestOpen: (request) => openRequests.request(request),
    async close() {
      await session.close().catch(() => {});
      await context.close().catch(() => {});
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
