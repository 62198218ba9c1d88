import { Notification } from 'electron';
import type { MessengerApi, MessengerEvent } from '../core/messenger-types.js';
import { shownName } from '../core/sync/content-handler.js';
import type { SettingsStore } from './settings-store.js';

export interface NotifierOptions {
  settings: SettingsStore;
  messenger: () => MessengerApi | null;
  /** The conversation on screen while the window has focus: no notification for it. */
  focusedConversation: () => string | null;
  onClick: (conversationId: string) => void;
}

const MARKUP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * What a notification says; with "hide content" on, neither sender nor text. On Linux the notification
 * server reads the body as markup (the Desktop Notifications spec; Electron passes it through libnotify
 * as it is): a message's `<b>`, `<a href>` or `<img src>` would be rendered, and a stray `<` can blank
 * the notification, so the text is escaped there to show as written.
 */
export function notificationText(
  hideContent: boolean,
  username: string,
  body: string,
  platform: NodeJS.Platform = process.platform,
): { title: string; body: string } {
  if (hideContent) {
    return { title: 'Sotto', body: 'New message' };
  }
  const shown = body.length > 200 ? `${body.slice(0, 199)}…` : body;
  return { title: username, body: platform === 'linux' ? shown.replace(/[&<>"']/g, (c) => MARKUP[c] ?? c) : shown };
}

/** What a notification standing for several messages of one conversation says (never their text). */
export function summaryText(hideContent: boolean, username: string, count: number): { title: string; body: string } {
  return { title: hideContent ? 'Sotto' : username, body: `${count} new messages` };
}

/**
 * Messages of one conversation arriving less than this apart are one burst, shown as one notification
 * (the catch-up after being offline drains hundreds at once). A burst that goes on is still shown every
 * `BURST_MAX_MS`, replacing the conversation's notification.
 */
export const BURST_QUIET_MS = 1000;
export const BURST_MAX_MS = 4000;

interface Burst {
  count: number;
  body: string;
  startedAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

export function createNotifier(options: NotifierOptions): (event: MessengerEvent) => void {
  // Electron holds a shown Notification only weakly: with no reference of ours it is garbage-collected,
  // its click listener with it, and clicking it later does nothing (electron/electron#16922, #12690).
  // Each one stays here until it is clicked, closed, fails or is replaced.
  const live = new Set<Notification>();
  /** Each conversation's notification on screen, and how many messages it stands for. */
  const shown = new Map<string, { notification: Notification; count: number }>();
  const bursts = new Map<string, Burst>();

  const release = (conversationId: string, notification: Notification) => {
    live.delete(notification);
    if (shown.get(conversationId)?.notification === notification) {
      shown.delete(conversationId);
    }
  };

  const withdraw = (conversationId: string) => {
    const previous = shown.get(conversationId);
    if (previous) {
      release(conversationId, previous.notification);
      previous.notification.close();
    }
  };

  const show = (conversationId: string, burst: Burst) => {
    bursts.delete(conversationId);
    const settings = options.settings.get();
    if (!settings.notifications || options.focusedConversation() === conversationId) {
      withdraw(conversationId);
      return;
    }
    // The notification replaces the conversation's previous one, and counts what that one stood for; but
    // never more than are unread: some notification servers never report a notification gone (expired,
    // dismissed), so the one we hold may stand for messages read since.
    const conversation = options.messenger()?.conversation(conversationId);
    const unread = conversation?.unreadCount;
    const count = Math.min(burst.count + (shown.get(conversationId)?.count ?? 0), unread ?? Number.POSITIVE_INFINITY);
    withdraw(conversationId);
    if (count === 0) {
      return;
    }
    // A stranger's first message names someone the relay has not confirmed yet: unverified-… until it has.
    const username = conversation ? shownName(conversation) : '';
    const text =
      count === 1
        ? notificationText(settings.hideNotificationContent, username, burst.body)
        : summaryText(settings.hideNotificationContent, username, count);
    const notification = new Notification({ title: text.title, body: text.body, silent: false });
    notification.on('click', () => {
      release(conversationId, notification);
      options.onClick(conversationId);
    });
    notification.on('close', () => release(conversationId, notification));
    notification.on('failed', () => release(conversationId, notification));
    live.add(notification);
    shown.set(conversationId, { notification, count });
    notification.show();
  };

  return (event) => {
    // A message can arrive already deleted for everyone (its deletion overtook it): nothing to announce.
    if (event.type !== 'message' || event.message.fromMe || event.message.kind !== 'text' || event.message.deleted) {
      return;
    }
    if (!options.settings.get().notifications || !Notification.isSupported()) {
      return;
    }
    const { conversationId } = event.message;
    if (options.focusedConversation() === conversationId) {
      // Read as it arrives: what the conversation's notification said is seen too.
      withdraw(conversationId);
      return;
    }
    const now = Date.now();
    const burst = bursts.get(conversationId) ?? { count: 0, body: '', startedAt: now };
    clearTimeout(burst.timer);
    burst.count += 1;
    burst.body = event.message.body;
    burst.timer = setTimeout(
      () => show(conversationId, burst),
      Math.max(0, Math.min(BURST_QUIET_MS, burst.startedAt + BURST_MAX_MS - now)),
    );
    bursts.set(conversationId, burst);
  };
}
