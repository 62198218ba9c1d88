import { join } from 'node:path';
import { app, type BrowserWindow, session } from 'electron';
import type { EventChannel, EventPayload } from '../ipc/contract.js';
import { createAppHandlers } from './app-handlers.js';
import { createProfileApi } from './core-factory.js';
import { CoreSession } from './core-session.js';
import { findDeepLink, parseDeepLink, registerProtocol } from './deep-links.js';
import { registerIpcHandlers } from './ipc.js';
import { log, toLogFormat } from './log.js';
import { installMenu } from './menu.js';
import { createNotifier } from './notifications.js';
import { OpenRequests } from './open-requests.js';
import { hardenSession } from './security.js';
import { SettingsStore } from './settings-store.js';
import { UnreadIndicator } from './tray.js';
import { startAutoUpdates } from './updater.js';
import { createMainWindow } from './window.js';

let mainWindow: BrowserWindow | null = null;
let focusedConversation: string | null = null;

function send<E extends EventChannel>(channel: E, payload: EventPayload<E>): void {
  if (mainWindow && !mainWindow.isDestroyed()) {
    mainWindow.webContents.send(channel, payload);
  }
}

/** Kept until the signed-in shell takes them (see OpenRequests): a link may come before any window. */
const openRequests = new OpenRequests(() => send('app:open-conversation', null));

function showWindow(): void {
  if (mainWindow) {
    if (mainWindow.isMinimized()) {
      mainWindow.restore();
    }
    mainWindow.show();
    mainWindow.focus();
  }
}

/** Opens a `sotto://` link. The link comes from outside the app: nothing in it may throw here. */
function openDeepLink(url: string): void {
  try {
    const link = parseDeepLink(url);
    if (link) {
      showWindow();
      openRequests.request({ username: link.username });
    }
  } catch (err) {
    log.warn('deep link ignored', { err: toLogFormat(err) });
  }
}

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  const settings = new SettingsStore(join(app.getPath('userData'), 'settings.json'));
  const profile = await createProfileApi(join(app.getPath('userData'), 'profile'));
  const unread = new UnreadIndicator(
    () => core.messenger,
    () => mainWindow,
  );
  const core: CoreSession = new CoreSession({
    profile,
    onEvent: (event) => send('messenger:event', event),
    onProgress: (step) => send('profile:progress', step),
    onError: (what, err) => log.warn(`${what} failed`, { err: toLogFormat(err) }),
    onClosed: () => unread.schedule(),
  });
  const notify = createNotifier({
    settings,
    messenger: () => core.messenger,
    focusedConversation: () => (mainWindow?.isFocused() ? focusedConversation : null),
    onClick: (conversationId) => {
      showWindow();
      openRequests.request({ conversationId });
    },
  });
  core.subscribe((event) => {
    notify(event);
    if (event.type === 'conversation_updated' || event.type === 'message') {
      unread.schedule();
    }
  });
  const appHandlers = createAppHandlers({
    settings,
    window: () => mainWindow,
    setFocusedConversation: (id) => {
      focusedConversation = id;
    },
    openRequests,
  });
  registerIpcHandlers({ ...appHandlers, ...core.handlers }, () => (mainWindow ? [mainWindow.webContents] : []));
  installMenu((command) => {
    showWindow();
    send('app:command', command);
  });
  registerProtocol();
  mainWindow = createMainWindow();
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  unread.createTray();
  startAutoUpdates();
  app.on('before-quit', () => {
    unread.destroy();
    void core.close();
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Started from a link: the request waits for the shell, which mounts after sign-in.
  const startLink = findDeepLink(process.argv);
  if (startLink) {
    openDeepLink(startLink);
  }
  app.on('second-instance', (_event, argv) => {
    showWindow();
    const url = findDeepLink(argv);
    if (url) {
      openDeepLink(url);
    }
  });
  app.on('open-url', (event, url) => {
    event.preventDefault();
    openDeepLink(url);
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
  });
  app.on('window-all-closed', () => app.quit());
  app.whenReady().then(start, (err: unknown) => {
    log.error('startup failed', { err: toLogFormat(err) });
    app.exit(1);
  });
}
