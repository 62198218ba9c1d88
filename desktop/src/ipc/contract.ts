import { z } from 'zod';
import {
  ConnectionStateSchema,
  ConversationIdSchema,
  ConversationSummarySchema,
  HistoryPageSchema,
  MessageIdSchema,
  MessageViewSchema,
  MessengerEventSchema,
  ProfileInfoSchema,
  ProfileStateSchema,
  RegisterStepSchema,
  SafetyNumberSchema,
  SearchHitSchema,
  UsernameInputSchema,
} from './view-models.js';

/**
 * The contract between renderer and main: each channel (`domain:verb`) maps to the schema
 * of its input and of its output. Main validates inputs against it; preload builds
 * `window.sotto` from it; the renderer imports its types only.
 */

export const ThemeSchema = z.enum(['system', 'light', 'dark']);
export const SettingsSchema = z.object({
  theme: ThemeSchema,
  notifications: z.boolean(),
  /** Notifications say "New message" instead of showing the sender and text. */
  hideNotificationContent: z.boolean(),
});
export type Settings = z.infer<typeof SettingsSchema>;
export type Theme = z.infer<typeof ThemeSchema>;

/** A `sotto://` link (username) or a clicked notification (conversation id) asks to open a chat. */
export const OpenConversationRequestSchema = z.union([
  z.object({ username: z.string() }),
  z.object({ conversationId: z.string() }),
]);
export type OpenConversationRequest = z.infer<typeof OpenConversationRequestSchema>;

const none = z.void();
const noInput = z.undefined();
const conversation = z.strictObject({ conversationId: ConversationIdSchema });
const message = z.strictObject({ messageId: MessageIdSchema });
/** MAX_TEXT_LENGTH of the wire contract (shared-types, which this renderer-side module does not import; ipc.test.ts holds them equal). */
const body = z.string().min(1, 'message is empty').max(65_536, 'message is too long: at most 65,536 characters');

export const invokeChannels = {
  'app:info': { input: noInput, output: z.object({ version: z.string(), platform: z.string() }) },
  'app:open-external': { input: z.strictObject({ url: z.url({ protocol: /^https?$/ }) }), output: none },
  'app:save-text': {
    input: z.strictObject({ suggestedName: z.string().min(1).max(128), text: z.string().max(4096) }),
    output: z.object({ saved: z.boolean() }),
  },
  'app:copy-text': { input: z.strictObject({ text: z.string().max(4096) }), output: none },
  /** Tells main which conversation is on screen (no notification for it while focused). */
  'app:focus-conversation': {
    input: z.strictObject({ conversationId: ConversationIdSchema.nullable() }),
    output: none,
  },
  /**
   * The open request waiting in main, taken (it is cleared): the signed-in shell calls this when it
   * mounts and on each `app:open-conversation`, so a request made before it was there is not lost.
   */
  'app:take-open-request': { input: noInput, output: OpenConversationRequestSchema.nullable() },
  'settings:get': { input: noInput, output: SettingsSchema },
  'settings:set': { input: SettingsSchema.partial().strict(), output: SettingsSchema },

  // ProfileApi
  'profile:state': { input: noInput, output: ProfileStateSchema },
  'profile:register': {
    input: z.strictObject({
      relayUrl: z.url({ protocol: /^(https?|wss?)$/ }).max(2048),
      username: UsernameInputSchema,
      inviteCode: z.string().trim().min(1).max(64).optional(),
      deviceName: z.string().min(1).max(64).optional(),
    }),
    output: z.object({ profile: ProfileInfoSchema, recoveryKey: z.string() }),
  },
  'profile:open': { input: noInput, output: ProfileInfoSchema },
  'profile:unlock': {
    input: z.strictObject({ recoveryKey: z.string().trim().min(1).max(512) }),
    output: ProfileInfoSchema,
  },
  'profile:wipe': { input: noInput, output: none },

  // MessengerApi
  'profile:get': { input: noInput, output: ProfileInfoSchema },
  'connection:connect': { input: noInput, output: none },
  'connection:close': { input: noInput, output: none },
  'connection:state': { input: noInput, output: ConnectionStateSchema },
  'conversations:start': {
    input: z.strictObject({ username: UsernameInputSchema }),
    output: ConversationSummarySchema,
  },
  'conversations:list': { input: noInput, output: z.array(ConversationSummarySchema) },
  'conversations:set-timer': {
    input: z.strictObject({ conversationId: ConversationIdSchema, seconds: z.int().min(0).max(31_536_000) }),
    output: none,
  },
  'conversations:mark-read': { input: conversation, output: none },
  'messages:history': {
    input: z.strictObject({
      conversationId: ConversationIdSchema,
      before: z.string().max(256).optional(),
      limit: z.int().min(1).max(500).optional(),
    }),
    output: HistoryPageSchema,
  },
  'messages:send': {
    input: z.strictObject({ conversationId: ConversationIdSchema, body, quoteMessageId: MessageIdSchema.optional() }),
    output: MessageViewSchema,
  },
  'messages:react': {
    input: z.strictObject({
      messageId: MessageIdSchema,
      emoji: z.string().min(1).max(32),
      remove: z.boolean().optional(),
    }),
    output: none,
  },
  'messages:edit': { input: z.strictObject({ messageId: MessageIdSchema, body }), output: none },
  'messages:delete': { input: message, output: none },
  'messages:resend': { input: message, output: none },
  'typing:set': { input: z.strictObject({ conversationId: ConversationIdSchema, typing: z.boolean() }), output: none },
  'search:query': {
    input: z.strictObject({ query: z.string().trim().min(1).max(256), limit: z.int().min(1).max(200).optional() }),
    output: z.array(SearchHitSchema),
  },
  'safety:get': { input: conversation, output: SafetyNumberSchema },
  'safety:mark-verified': {
    input: z.strictObject({
      conversationId: ConversationIdSchema,
      verified: z.boolean(),
      /** The number shown (and compared) when verifying. */
      safetyNumber: z.string().max(120).optional(),
    }),
    output: none,
  },
  'safety:acknowledge-change': { input: conversation, output: none },
} as const;

/** Main → renderer pushes. Preload's `on(channel, listener)` returns the unsubscribe function. */
export const eventChannels = {
  'messenger:event': MessengerEventSchema,
  'profile:progress': RegisterStepSchema,
  /**
   * An open request is waiting in main: take it with `app:take-open-request`. A doorbell only: no
   * screen but the signed-in shell listens, and a push with no listener is lost.
   */
  'app:open-conversation': z.null(),
  /** A menu item or global shortcut asked the UI to go somewhere. */
  'app:command': z.enum(['new-conversation', 'search', 'settings']),
} as const;

export type InvokeChannel = keyof typeof invokeChannels;
export type EventChannel = keyof typeof eventChannels;
export type ChannelInput<C extends InvokeChannel> = z.input<(typeof invokeChannels)[C]['input']>;
export type ParsedInput<C extends InvokeChannel> = z.output<(typeof invokeChannels)[C]['input']>;
export type ChannelOutput<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]['output']>;
export type EventPayload<E extends EventChannel> = z.infer<(typeof eventChannels)[E]>;

export const IpcErrorSchema = z.object({ code: z.string(), message: z.string() });
export type IpcError = z.infer<typeof IpcErrorSchema>;
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export const invokeChannelNames = Object.keys(invokeChannels) as InvokeChannel[];
export const eventChannelNames = Object.keys(eventChannels) as EventChannel[];

/** Channels without input take no argument. */
export type InvokeArgs<C extends InvokeChannel> = [ChannelInput<C>] extends [undefined] ? [] : [input: ChannelInput<C>];

/** What the renderer sees on `window.sotto`: one method per channel, plus `on` for pushes. */
export type SottoApi = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => Promise<IpcResult<ChannelOutput<C>>>;
} & {
  on<E extends EventChannel>(channel: E, listener: (payload: EventPayload<E>) => void): () => void;
};
