import type { InvokeChannel } from '../src/ipc/contract.js';
import type { ConversationSummary, MessageView, ProfileInfo } from '../src/ipc/view-models.js';
import type { Handlers } from '../src/main/dispatch.js';

export interface FakeConversation {
  profile: ProfileInfo;
  conversation: ConversationSummary;
  messages: MessageView[];
}

/**
 * A conversation of `count` messages: varied heights (long bodies that wrap, quotes, reactions),
 * one minute apart so that day separators appear every 1,440 messages.
 * Self-contained (no closure over module scope): the bench also runs it inside the page.
 */
export function fakeConversation(count: number): FakeConversation {
  const me = '00000000-0000-4000-8000-000000000001';
  const peer = '00000000-0000-4000-8000-000000000002';
  const start = Date.UTC(2026, 0, 1);
  const messages: MessageView[] = [];
  for (let i = 0; i < count; i++) {
    messages.push({
      id: `m-${i}`,
      conversationId: peer,
      kind: 'text',
      fromMe: i % 3 === 0,
      authorAccountId: i % 3 === 0 ? me : peer,
      body:
        i % 7 === 0
          ? `Message ${i}: a longer one, so that rows have different heights and wrap onto a second line in the timeline view.`
          : `Message ${i}`,
      sentAt: start + i * 60_000,
      receivedAt: start + i * 60_000 + 500,
      status: 'read',
      editedAt: null,
      deleted: false,
      reactions: i % 11 === 0 ? [{ emoji: '👍', accountIds: [peer] }] : [],
      quote:
        i % 13 === 0 && i > 0 ? { messageId: `m-${i - 1}`, authorAccountId: peer, text: `Message ${i - 1}` } : null,
      expiresAt: null,
    });
  }
  const profile: ProfileInfo = { accountId: me, username: 'bench', deviceId: 1, relayUrl: 'http://127.0.0.1:1' };
  const last = messages.at(-1);
  const conversation: ConversationSummary = {
    id: peer,
    username: 'peer',
    unreadCount: 0,
    lastMessage: last ? { preview: last.body, at: last.sentAt, fromMe: last.fromMe, kind: last.kind } : null,
    expiresInSeconds: 0,
    verified: false,
    identityChanged: false,
    claimPending: false,
  };
  return { profile, conversation, messages };
}

/** The channels the bench answers, as plain functions over the fake conversation. */
export function fakeAnswers(data: FakeConversation): Partial<Record<InvokeChannel, (input: never) => unknown>> {
  const { profile, conversation, messages } = data;
  return {
    'app:info': () => ({ version: 'bench', platform: 'linux' }),
    'app:focus-conversation': () => undefined,
    'settings:get': () => ({ theme: 'light', notifications: false, hideNotificationContent: false }),
    'profile:state': () => 'ready',
    'profile:open': () => profile,
    'profile:get': () => profile,
    'connection:state': () => 'online',
    'conversations:list': () => [conversation],
    'conversations:mark-read': () => undefined,
    'typing:set': () => undefined,
    'messages:history': ({ before, limit }: { before?: string; limit?: number }) => {
      const end = before ? Number(before) : messages.length;
      const from = Math.max(0, end - (limit ?? 50));
      return { messages: messages.slice(from, end), nextCursor: from > 0 ? String(from) : null };
    },
  };
}

/** The same answers behind main's dispatcher (input validation), used to check the fake against the contract. */
export function fakeHandlers(count: number): Handlers {
  const answers = fakeAnswers(fakeConversation(count));
  const unused = (): never => {
    throw new Error('not used by the bench');
  };
  return new Proxy(answers as unknown as Handlers, {
    get: (target, channel: InvokeChannel) => target[channel] ?? unused,
  });
}

export interface InPageOptions {
  count: number;
  invoke: string[];
  events: string[];
  /** Simulated main-process latency per call (IPC hop + SQLite page read), uniform in [min, max] ms. */
  latencyMs: [number, number];
}

/** The init script that installs the fake core in a page (functions travel as source text). */
export function fakeSottoScript(options: InPageOptions): string {
  return `(${installFakeSotto})(${JSON.stringify(options)}, ${fakeConversation}, ${fakeAnswers});`;
}

/**
 * Runs in the page before the app: builds `window.sotto` over the fake conversation held in page
 * memory. Each call answers after the simulated latency with a structured clone of the result
 * (what Electron's IPC costs the renderer), and rejects what main's validation would (`limit` > 500).
 */
export function installFakeSotto(
  options: InPageOptions,
  conversation: typeof fakeConversation,
  answersOf: typeof fakeAnswers,
): void {
  const answers = answersOf(conversation(options.count)) as Record<string, ((input: unknown) => unknown) | undefined>;
  const [min, max] = options.latencyMs;
  const stats = { historyCalls: 0, historyMessages: 0 };
  Object.defineProperty(window, '__benchStats', { value: stats });
  const api: Record<string, unknown> = {};
  for (const channel of options.invoke) {
    api[channel] = (input?: unknown) =>
      new Promise((resolve) => {
        setTimeout(
          () => {
            const answer = answers[channel];
            const limit = (input as { limit?: number } | undefined)?.limit;
            if (!answer) {
              resolve({ ok: false, error: { code: 'internal', message: `${channel} is not faked` } });
            } else if (limit !== undefined && (limit < 1 || limit > 500)) {
              resolve({ ok: false, error: { code: 'bad_request', message: 'limit out of range' } });
            } else {
              const value = structuredClone(answer(input));
              if (channel === 'messages:history') {
                stats.historyCalls++;
                stats.historyMessages += (value as { messages: unknown[] }).messages.length;
              }
              resolve({ ok: true, value });
            }
          },
          min + Math.random() * (max - min),
        );
      });
  }
  api.on = (channel: string) => {
    if (!options.events.includes(channel)) {
      throw new Error(`unknown event channel ${channel}`);
    }
    return () => {};
  };
  Object.defineProperty(window, 'sotto', { value: Object.freeze(api), writable: false });
}
