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

export function createNotifier(options: NotifierOptions): (event: MessengerEvent) => void {
  // Electron holds a shown Notification only weakly: with no reference of ours it is garbage-collected,
  // its click listener with it, and clicking it later does nothing (electron/electron#16922, #12690).
  // Each one stays here until it is clicked, closed or fails.
  const live = new Set<Notification>();
  return (event) => {
    if (event.type !== 'message' || event.message.fromMe || event.message.kind !== 'text') {
      return;
    }
    const settings = options.settings.get();
    if (!settings.notifications || !Notification.isSupported()) {
      return;
    }
    const { conversationId } = event.message;
    if (options.focusedConversation() === conversationId) {
      return;
    }
    // A stranger's first message names someone the relay has not confirmed yet: unverified-… until it has.
    const conversation = options.messenger()?.conversation(conversationId);
    const username = conversation ? shownName(conversation) : '';
    const text = notificationText(settings.hideNotificationContent, username, event.message.body);
    const notification = new Notification({ title: text.title, body: text.body, silent: false });
    const release = () => live.delete(notification);
    notification.on('click', () => {
      release();
      options.onClick(conversationId);
    });
    notification.on('close', release);
    notification.on('failed', release);
    live.add(notification);
    notification.show();
  };
}
