import type { InvokeChannel } from '../src/ipc/contract.js';
import type { ConversationSummary, MessageView, ProfileInfo } from '../src/ipc/view-models.js';
import type { Handlers } from '../src/main/dispatch.js';

const ME = '00000000-0000-4000-8000-000000000001';
const PEER = '00000000-0000-4000-8000-000000000002';

/** A conversation of `count` messages held in memory: the bench measures the renderer, not the core. */
export function fakeHandlers(count: number): Handlers {
  const start = Date.UTC(2026, 0, 1);
  const messages: MessageView[] = Array.from({ length: count }, (_, i) => ({
    id: `m-${i}`,
    conversationId: PEER,
    kind: 'text',
    fromMe: i % 3 === 0,
    authorAccountId: i % 3 === 0 ? ME : PEER,
    body:
      i % 7 === 0
        ? `Message ${i}: a longer one, so that rows have different heights and wrap onto a second line in the timeline view.`
        : `Message ${i}`,
    sentAt: start + i * 60_000,
    receivedAt: start + i * 60_000 + 500,
    status: 'read',
    editedAt: null,
    deleted: false,
    reactions: i % 11 === 0 ? [{ emoji: '👍', accountIds: [PEER] }] : [],
    quote: i % 13 === 0 && i > 0 ? { messageId: `m-${i - 1}`, authorAccountId: PEER, text: `Message ${i - 1}` } : null,
    expiresAt: null,
  }));
  const profile: ProfileInfo = { accountId: ME, username: 'bench', deviceId: 1, relayUrl: 'http://127.0.0.1:1' };
  const last = messages.at(-1);
  const conversation: ConversationSummary = {
    id: PEER,
    username: 'peer',
    unreadCount: 0,
    lastMessage: last ? { preview: last.body, at: last.sentAt, fromMe: last.fromMe } : null,
    expiresInSeconds: 0,
    verified: false,
    identityChanged: false,
  };
  const unused = (): never => {
    throw new Error('not used by the bench');
  };
  const handlers: Partial<Handlers> = {
    'app:info': () => ({ version: 'bench', platform: process.platform }),
    'app:focus-conversation': () => {},
    'settings:get': () => ({ theme: 'light', notifications: false, hideNotificationContent: false }),
    'profile:state': () => 'ready',
    'profile:open': () => profile,
    'profile:get': () => profile,
    'connection:state': () => 'online',
    'conversations:list': () => [conversation],
    'conversations:mark-read': () => {},
    'typing:set': () => {},
    'messages:history': ({ before, limit }) => {
      const end = before ? Number(before) : messages.length;
      const from = Math.max(0, end - (limit ?? 50));
      return { messages: messages.slice(from, end), nextCursor: from > 0 ? String(from) : null };
    },
  };
  return new Proxy(handlers as Handlers, {
    get: (target, channel: InvokeChannel) => target[channel] ?? unused,
  });
}
