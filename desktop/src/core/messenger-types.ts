/**
 * The surface of the messenger core, as the desktop app and the CLI see it.
 * `Messenger` (messenger.ts) implements `MessengerApi`; main exposes it over IPC;
 * the renderer only ever receives these view models (no keys, no ciphertext).
 */

export type ConversationId = string; // the peer's account id (1:1)

export type MessageStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

/**
 * `elsewhere`: another connection of this device (the same profile open in another window or process) took the
 * relay connection; this one tries again later. `unregistered`: the relay no longer accepts this device
 * (removed, or its account deleted); no more retries.
 */
export type ConnectionState = 'offline' | 'connecting' | 'online' | 'elsewhere' | 'unregistered';

export interface ProfileInfo {
  accountId: string;
  username: string;
  deviceId: number;
  relayUrl: string;
}

export interface ConversationSummary {
  id: ConversationId;
  username: string;
  unreadCount: number;
  /** `preview` is a text's first words ('' once deleted), or a system line's body (see MessageView). */
  lastMessage: { preview: string; at: number; fromMe: boolean; kind: MessageKind } | null;
  /** Disappearing-messages timer for new messages, in seconds; 0 = off. */
  expiresInSeconds: number;
  verified: boolean;
  /** The peer's identity key changed since the user last acknowledged it. */
  identityChanged: boolean;
  /**
   * `username` is the one a stranger's first message claims, not confirmed by the relay's directory yet
   * (usually for milliseconds; until the next connection if the relay could not answer).
   */
  claimPending: boolean;
}

export interface ReactionView {
  emoji: string;
  /** Account ids of the people who reacted with this emoji (the local user included). */
  accountIds: string[];
}

export type MessageKind =
  | 'text'
  /** "Your safety number with X changed." */
  | 'identity_change'
  /** An envelope that could not be decrypted; the sender was asked to resend. */
  | 'decryption_error'
  /** "X set disappearing messages to 1 hour." */
  | 'timer_change';

export interface MessageView {
  id: string;
  conversationId: ConversationId;
  kind: MessageKind;
  fromMe: boolean;
  authorAccountId: string;
  body: string;
  sentAt: number;
  receivedAt: number;
  status: MessageStatus;
  editedAt: number | null;
  deleted: boolean;
  reactions: ReactionView[];
  quote: { messageId: string; authorAccountId: string; text: string } | null;
  /** When a disappearing message will be deleted; null = never. */
  expiresAt: number | null;
}

export interface HistoryPage {
  messages: MessageView[]; // oldest first
  /** Pass as `before` to get the previous (older) page; null when there is none. */
  nextCursor: string | null;
}

export interface SearchHit {
  message: MessageView;
  username: string;
  /** Excerpt with matches wrapped in \u0002 … \u0003 (the renderer turns them into <mark>). */
  snippet: string;
}

export interface SafetyNumber {
  /** 60 digits, shown in 12 groups of 5. */
  displayString: string;
  /** The scannable fingerprint payload (base64), for the QR code. */
  scannable: string;
  verified: boolean;
}

export type MessengerEvent =
  | { type: 'message'; message: MessageView }
  | { type: 'message_updated'; message: MessageView }
  | { type: 'typing'; conversationId: ConversationId; typing: boolean }
  | { type: 'identity_changed'; conversationId: ConversationId }
  | { type: 'conversation_updated'; conversation: ConversationSummary }
  | { type: 'connection'; state: ConnectionState };

export interface MessengerApi {
  profile(): ProfileInfo;

  /**
   * Connects to the relay, drains the queue, then stays live (reconnects with backoff). Resolves true once the
   * queue is drained, false if the relay could not be reached within the wait (the socket keeps retrying).
   */
  connect(options?: { timeoutMs?: number }): Promise<boolean>;
  close(): Promise<void>;
  /** Removes this device from its account on the relay (the last device: deletes the account). */
  signOut(): Promise<void>;
  connectionState(): ConnectionState;

  /** Resolves a username on the relay and creates the conversation if needed. */
  startConversation(username: string): Promise<ConversationSummary>;
  listConversations(): ConversationSummary[];
  conversation(conversationId: ConversationId): ConversationSummary | undefined;
  history(conversationId: ConversationId, options?: { before?: string; limit?: number }): HistoryPage;
  search(query: string, options?: { limit?: number }): SearchHit[];

  sendText(conversationId: ConversationId, body: string, options?: { quoteMessageId?: string }): Promise<MessageView>;
  react(messageId: string, emoji: string, options?: { remove?: boolean }): Promise<void>;
  edit(messageId: string, body: string): Promise<void>;
  deleteForEveryone(messageId: string): Promise<void>;
  /** Sends a message that failed once more, as it was written. */
  resend(messageId: string): Promise<void>;
  setDisappearingTimer(conversationId: ConversationId, seconds: number): Promise<void>;
  setTyping(conversationId: ConversationId, typing: boolean): Promise<void>;
  /** Marks everything up to now read and sends read receipts. */
  markRead(conversationId: ConversationId): Promise<void>;

  safetyNumber(conversationId: ConversationId): Promise<SafetyNumber>;
  /**
   * Verifying needs the safety number the user compared (its `displayString`; spaces ignored): refused if
   * it is not the current one, so a key that changed while the number was on screen is never verified.
   */
  markVerified(conversationId: ConversationId, verified: boolean, comparedSafetyNumber?: string): Promise<void>;
  /** Clears the identity-changed banner after the user has seen it. */
  acknowledgeIdentityChange(conversationId: ConversationId): void;

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: (event: MessengerEvent) => void): () => void;
}

/** Steps reported while a new profile is created, for the onboarding progress bar. */
export type RegisterStep = 'generating_keys' | 'registering' | 'uploading_keys' | 'done';

export interface RegisterOptions {
  relayUrl: string;
  username: string;
  inviteCode?: string;
  deviceName?: string;
  onProgress?: (step: RegisterStep) => void;
}

/**
 * `none`: no profile in this folder yet (onboarding);
 * `locked`: a profile exists but the keychain no longer holds its database key (unlock screen);
 * `ready`: it can be opened.
 */
export type ProfileState = 'none' | 'locked' | 'ready';

/** Profile-level operations, before a `MessengerApi` exists. Implemented in core/profile.ts. */
export interface ProfileApi {
  state(): Promise<ProfileState>;
  /** Creates keys, registers on the relay, uploads prekeys. The recovery key is shown to the user once. */
  register(options: RegisterOptions): Promise<{ messenger: MessengerApi; recoveryKey: string }>;
  open(): Promise<MessengerApi>;
  /** Restores access with the recovery key and puts the database key back into the keychain. */
  unlock(recoveryKey: string): Promise<MessengerApi>;
  /** Deletes the local database and keychain entries of this profile. */
  wipe(): Promise<void>;
}
