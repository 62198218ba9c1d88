import { Notification } from 'electron';
import type { MessengerApi, MessengerEvent } from '../core/messenger-types.js';
import type { SettingsStore } from './settings-store.js';

export interface NotifierOptions {
  settings: SettingsStore;
  messenger: () => MessengerApi | null;
  /** The conversation on screen while the window has focus: no notification for it. */
  focusedConversation: () => string | null;
  onClick: (conversationId: string) => void;
}

/** What a notification says; with "hide content" on, neither sender nor text. */
export function notificationText(
  hideContent: boolean,
  username: string,
  body: string,
): { title: string; body: string } {
  if (hideContent) {
    return { title: 'Sotto', body: 'New message' };
  }
  return { title: username, body: body.length > 200 ? `${body.slice(0, 199)}…` : body };
}

export function createNotifier(options: NotifierOptions): (event: MessengerEvent) => void {
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
    const username =
      options
        .messenger()
        ?.listConversations()
        .find((c) => c.id === conversationId)?.username ?? '';
    const text = notificationText(settings.hideNotificationContent, username, event.message.body);
    const notification = new Notification({ title: text.title, body: text.body, silent: false });
    notification.on('click', () => options.onClick(conversationId));
    notification.show();
  };
}
