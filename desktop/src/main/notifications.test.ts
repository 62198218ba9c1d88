import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MessengerApi, MessengerEvent } from '../core/messenger-types.js';
import type { SettingsStore } from './settings-store.js';

type Listener = () => void;

/** Every notification shown, as Electron was asked to show it. */
const shown: { title: string; body: string }[] = [];
/**
 * Every notification created, held weakly as Electron holds it: a test can tell whether the notifier
 * still keeps one alive. Nothing else in this file keeps a strong reference to one.
 */
const created: WeakRef<MockNotification>[] = [];
/** The notifications in `shown`, in the same order. */
const shownRefs: WeakRef<MockNotification>[] = [];
class MockNotification {
  static isSupported = () => true;
  private readonly listeners = new Map<string, Listener[]>();
  constructor(private readonly options: { title: string; body: string }) {
    created.push(new WeakRef(this));
  }
  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  closed = false;
  show() {
    shown.push({ title: this.options.title, body: this.options.body });
    shownRefs.push(new WeakRef(this));
  }
  /** Electron dismisses it; on some platforms that also emits 'close'. */
  close() {
    this.closed = true;
    this.emit('close');
  }
  /** What Electron does when the user clicks or dismisses it. */
  emit(event: string) {
    for (const listener of this.listeners.get(event) ?? []) {
      listener();
    }
  }
}
vi.mock('electron', () => ({ Notification: MockNotification }));
const { BURST_QUIET_MS, createNotifier, notificationText } = await import('./notifications.js');

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

/** A full garbage collection (vitest does not pass --expose-gc; V8 exposes it to a new context once flagged). */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // A WeakRef keeps its target alive until the current job ends: let it end first.
  await new Promise((done) => setImmediate(done));
  gc();
}

describe('notifications of new messages', () => {
  // Only timers and the clock: collectGarbage() needs a real setImmediate.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

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
    const message = (body: string, deleted = false) =>
      ({
        type: 'message',
        message: { conversationId: id, fromMe: false, kind: 'text', body, deleted },
      }) as MessengerEvent;
    notify(message('', true));
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(shown).toEqual([]); // arrived deleted for everyone: nothing to say
    notify(message('wire 5k today'));
    vi.advanceTimersByTime(BURST_QUIET_MS);
    shownRefs.at(-1)?.deref()?.emit('close'); // dismissed
    claimPending = false; // the relay's directory says the_boss is this account
    notify(message('thanks'));
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(shown).toEqual([
      { title: 'unverified-3b241101', body: 'wire 5k today' },
      { title: 'the_boss', body: 'thanks' },
    ]);
  });

  it('keeps each shown notification alive until it is clicked or closed, so a late click still opens the conversation', async () => {
    const ids = ['3b241101-e2bb-4255-8caf-4136c566a962', 'f3d8f1b0-4b8e-4a2c-9d7f-2f1c0a9e6b11'];
    const clicked: string[] = [];
    const notify = createNotifier({
      settings: { get: () => ({ notifications: true, hideNotificationContent: false }) } as unknown as SettingsStore,
      messenger: () => ({ conversation: () => ({ username: 'alice' }) }) as unknown as MessengerApi,
      focusedConversation: () => null,
      onClick: (id) => clicked.push(id),
    });
    const first = created.length;
    for (const conversationId of ids) {
      notify({
        type: 'message',
        message: { conversationId, fromMe: false, kind: 'text', body: 'hi' },
      } as MessengerEvent);
    }
    vi.advanceTimersByTime(BURST_QUIET_MS);
    const refs = created.slice(first);
    expect(refs).toHaveLength(2);

    // A while later (a collection in between), both are still there and a click reaches its listener.
    await collectGarbage();
    expect(refs.map((ref) => ref.deref() !== undefined)).toEqual([true, true]);
    refs[0]?.deref()?.emit('click');
    refs[1]?.deref()?.emit('close');
    expect(clicked).toEqual([ids[0]]);

    // Clicked or dismissed, they are let go.
    await collectGarbage();
    expect(refs.map((ref) => ref.deref())).toEqual([undefined, undefined]);
  });

  it('shows one notification per conversation for a burst of messages, saying how many, and notifies again later', () => {
    const alice = '3b241101-e2bb-4255-8caf-4136c566a962';
    const bob = 'f3d8f1b0-4b8e-4a2c-9d7f-2f1c0a9e6b11';
    const names: Record<string, string> = { [alice]: 'alice', [bob]: 'bob' };
    let hideNotificationContent = false;
    const notify = createNotifier({
      settings: { get: () => ({ notifications: true, hideNotificationContent }) } as unknown as SettingsStore,
      messenger: () => ({ conversation: (id: string) => ({ id, username: names[id] }) }) as unknown as MessengerApi,
      focusedConversation: () => null,
      onClick: () => {},
    });
    const message = (conversationId: string, body: string) =>
      notify({ type: 'message', message: { conversationId, fromMe: false, kind: 'text', body } } as MessengerEvent);
    const since = shown.length;
    const shownSince = (start: number) => shown.slice(start);

    // Back online: the queue drains 50 messages from two people, a few milliseconds apart.
    for (let i = 0; i < 50; i++) {
      message(i % 5 < 3 ? alice : bob, `queued ${i}`);
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(shownSince(since)).toEqual([
      { title: 'alice', body: '30 new messages' },
      { title: 'bob', body: '20 new messages' },
    ]);
    const [aliceBurst, bobBurst] = shownRefs.slice(since).map((ref) => ref.deref());

    // Later: Alice's notification was clicked, Bob's is still there. Alice's next message shows as written;
    // Bob's replaces his notification, which counts it too.
    aliceBurst?.emit('click');
    const later = shown.length;
    message(alice, 'are you there?');
    message(bob, 'one more thing');
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(shownSince(later)).toEqual([
      { title: 'alice', body: 'are you there?' },
      { title: 'bob', body: '21 new messages' },
    ]);
    expect(bobBurst?.closed).toBe(true);
    expect(aliceBurst?.closed).toBe(false);

    // With "hide content" on, a burst says neither who nor what (3 messages, and the one still on screen).
    hideNotificationContent = true;
    const hidden = shown.length;
    for (let i = 0; i < 3; i++) {
      message(alice, `secret ${i}`);
    }
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(shownSince(hidden)).toEqual([{ title: 'Sotto', body: '4 new messages' }]);
  });

  it('counts no more than are unread when the notification server never reports a notification gone', () => {
    const alice = '3b241101-e2bb-4255-8caf-4136c566a962';
    let unreadCount = 0;
    const notify = createNotifier({
      settings: { get: () => ({ notifications: true, hideNotificationContent: false }) } as unknown as SettingsStore,
      messenger: () =>
        ({ conversation: (id: string) => ({ id, username: 'alice', unreadCount }) }) as unknown as MessengerApi,
      focusedConversation: () => null,
      onClick: () => {},
    });
    const message = (body: string) => {
      unreadCount += 1; // stored (unread) before its event
      notify({
        type: 'message',
        message: { conversationId: alice, fromMe: false, kind: 'text', body },
      } as MessengerEvent);
    };
    const since = shown.length;

    for (let i = 0; i < 3; i++) {
      message(`morning ${i}`);
    }
    vi.advanceTimersByTime(BURST_QUIET_MS);
    // The notification expires from the screen without a 'close', and Alice's messages are read in the app.
    unreadCount = 0;
    message('evening');
    vi.advanceTimersByTime(BURST_QUIET_MS);
    message('still there?');
    vi.advanceTimersByTime(BURST_QUIET_MS);

    expect(shown.slice(since)).toEqual([
      { title: 'alice', body: '3 new messages' },
      { title: 'alice', body: 'evening' },
      { title: 'alice', body: '2 new messages' },
    ]);
  });
});
