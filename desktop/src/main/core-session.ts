import type { MessengerApi, MessengerEvent, ProfileApi, ProfileInfo, RegisterStep } from '../core/messenger-types.js';
import type { InvokeChannel } from '../ipc/contract.js';
import { type Handlers, IpcFailure } from './dispatch.js';

export type CoreChannel = Exclude<InvokeChannel, `app:${string}` | `settings:${string}`>;
export type CoreHandlers = Pick<Handlers, CoreChannel>;

export interface CoreSessionOptions {
  profile: ProfileApi;
  onEvent: (event: MessengerEvent) => void;
  onProgress: (step: RegisterStep) => void;
  onError?: (what: string, err: unknown) => void;
  /** The open core closed (signed out and wiped, say): what showed its state (the badge) must forget it. */
  onClosed?: () => void;
}

/**
 * Holds the profile and, once opened, the messenger; maps every core channel onto them.
 * Electron-free so the e2e harness runs the very same handlers against a real core.
 */
export class CoreSession {
  private current: MessengerApi | null = null;
  /** An open, unlock or registration under way (see `opened`). */
  private opening: Promise<ProfileInfo> | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly listeners = new Set<(event: MessengerEvent) => void>();

  constructor(private readonly options: CoreSessionOptions) {}

  get messenger(): MessengerApi | null {
    return this.current;
  }

  /** Main-process observers (notifications, badge) besides the renderer. */
  subscribe(listener: (event: MessengerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private require(): MessengerApi {
    if (!this.current) {
      throw new IpcFailure('locked', 'no profile is open');
    }
    return this.current;
  }

  private adopt(messenger: MessengerApi) {
    this.unsubscribe?.();
    this.current = messenger;
    this.unsubscribe = messenger.on((event) => {
      this.options.onEvent(event);
      for (const listener of this.listeners) {
        listener(event);
      }
    });
    // Connecting runs in the background: the UI shows the connection banner meanwhile.
    messenger.connect().catch((err: unknown) => this.options.onError?.('connect', err));
    return messenger.profile();
  }

  /**
   * One core at a time. A second open or unlock while one runs gets the same answer instead of opening a
   * second core beside the first: React's StrictMode starts the app twice in development, and a reload can
   * land during an open. Two cores of one profile would each hold a relay socket and take it from each
   * other ("connected elsewhere"), the one the window does not listen to unseen.
   */
  private opened(open: () => Promise<MessengerApi>): Promise<ProfileInfo> {
    if (this.current) {
      return Promise.resolve(this.current.profile());
    }
    this.opening ??= open()
      .then((messenger) => this.adopt(messenger))
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const messenger = this.current;
    this.current = null;
    await messenger?.close();
    if (messenger) {
      this.options.onClosed?.();
    }
  }

  readonly handlers: CoreHandlers = {
    'profile:state': () => (this.current ? 'ready' : this.options.profile.state()),
    'profile:register': async (input) => {
      if (this.current || this.opening) {
        throw new IpcFailure('conflict', 'a profile is already open');
      }
      let recoveryKey = '';
      const profile = await this.opened(async () => {
        const registered = await this.options.profile.register({
          ...input,
          onProgress: (step) => this.options.onProgress(step),
        });
        recoveryKey = registered.recoveryKey;
        return registered.messenger;
      });
      return { profile, recoveryKey };
    },
    'profile:open': () => this.opened(() => this.options.profile.open()),
    'profile:unlock': ({ recoveryKey }) => this.opened(() => this.options.profile.unlock(recoveryKey)),
    'profile:wipe': async () => {
      // The relay first, while the credentials exist; wiping this computer goes ahead even when it is unreachable.
      await this.current?.signOut().catch((err: unknown) => this.options.onError?.('sign out', err));
      await this.close();
      await this.options.profile.wipe();
    },
    'profile:get': () => this.require().profile(),
    'connection:connect': async () => {
      await this.require().connect();
    },
    'connection:close': () => this.require().close(),
    'connection:state': () => this.current?.connectionState() ?? 'offline',
    'conversations:start': ({ username }) => this.require().startConversation(username.toLowerCase()),
    'conversations:list': () => this.require().listConversations(),
    'conversations:set-timer': ({ conversationId, seconds }) =>
      this.require().setDisappearingTimer(conversationId, seconds),
    'conversations:mark-read': ({ conversationId }) => this.require().markRead(conversationId),
    'messages:history': ({ conversationId, before, limit }) =>
      this.require().history(conversationId, { ...(before ? { before } : {}), ...(limit ? { limit } : {}) }),
    'messages:send': ({ conversationId, body, quoteMessageId }) =>
      this.require().sendText(conversationId, body, quoteMessageId ? { quoteMessageId } : undefined),
    'messages:react': ({ messageId, emoji, remove }) =>
      this.require().react(messageId, emoji, remove ? { remove } : undefined),
    'messages:edit': ({ messageId, body }) => this.require().edit(messageId, body),
    'messages:delete': ({ messageId }) => this.require().deleteForEveryone(messageId),
    'messages:resend': ({ messageId }) => this.require().resend(messageId),
    'typing:set': ({ conversationId, typing }) => this.require().setTyping(conversationId, typing),
    'search:query': ({ query, limit }) => this.require().search(query, limit ? { limit } : undefined),
    'safety:get': ({ conversationId }) => this.require().safetyNumber(conversationId),
    'safety:mark-verified': ({ conversationId, verified, safetyNumber }) =>
      this.require().markVerified(conversationId, verified, safetyNumber),
    'safety:acknowledge-change': ({ conversationId }) => this.require().acknowledgeIdentityChange(conversationId),
  };
}
