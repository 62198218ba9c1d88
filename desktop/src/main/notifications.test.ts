import { describe, expect, it, vi } from 'vitest';
import type { MessengerApi, MessengerEvent } from '../core/messenger-types.js';
import type { SettingsStore } from './settings-store.js';

/** Every notification shown, as Electron was asked to show it. */
const shown: { title: string; body: string }[] = [];
vi.mock('electron', () => ({
  Notification: class {
    static isSupported = () => true;
    constructor(private readonly options: { title: string; body: string }) {}
    on() {}
    show() {
      shown.push({ title: this.options.title, body: this.options.body });
    }
  },
}));
const { createNotifier, notificationText } = await import('./notifications.js');

describe('notification text', () => {
  it('shows sender and text by default', () => {
    expect(notificationText(false, 'alice', 'see you at 8')).toEqual({ title: 'alice', body: 'see you at 8' });
  });

  it('shows markup in a message as written on Linux, where the notification server would render it', () => {
    const body = '<a href="https://evil.example">update</a> <img src="file:///etc/passwd"> & <b>5 < 6</b>';
    expect(notificationText(false, 'alice', body, 'linux').body).toBe(
      '&lt;a href=&quot;https://evil.example&quot;&gt;update&lt;/a&gt; &lt;img src=&quot;file:///etc/passwd&quot;&gt; &amp; &lt;b&gt;5 &lt; 6&lt;/b&gt;',
    );
    // macOS and Windows show the body as plain text: escaping there would show the entities.
    expect(notificationText(false, 'alice', body, 'darwin').body).toBe(body);
    expect(notificationText(false, 'alice', body, 'win32').body).toBe(body);
  });

  it('hides sender and text when the setting is on', () => {
    const text = notificationText(true, 'alice', 'see you at 8');
    expect(JSON.stringify(text)).not.toMatch(/alice|see you/);
  });
});

describe('notifications of new messages', () => {
  it('names a stranger unverified-… until the relay confirms the username they claim', () => {
    const id = '3b241101-e2bb-4255-8caf-4136c566a962';
    let claimPending = true;
    const conversation = () => ({ id, username: 'the_boss', claimPending }) as ReturnType<MessengerApi['conversation']>;
    const notify = createNotifier({
      settings: { get: () => ({ notifications: true, hideNotificationContent: false }) } as unknown as SettingsStore,
      messenger: () => ({ conversation }) as unknown as MessengerApi,
      focusedConversation: () => null,
      onClick: () => {},
    });
    const message = (body: string) =>
      ({ type: 'message', message: { conversationId: id, fromMe: false, kind: 'text', body } }) as MessengerEvent;
    notify(message('wire 5k today'));
    claimPending = false; // the relay's directory says the_boss is this account
    notify(message('thanks'));
    expect(shown).toEqual([
      { title: 'unverified-3b241101', body: 'wire 5k today' },
      { title: 'the_boss', body: 'thanks' },
    ]);
  });
});
