import { z } from 'zod';
import type * as Core from '../core/messenger-types.js';

/**
 * Runtime schemas for the view models the core hands to the renderer (core/messenger-types.ts).
 * The `Mirrors` checks at the bottom fail to compile when a schema and its core type drift apart.
 */

export const ConversationIdSchema = z.string().min(1).max(128);
export const MessageIdSchema = z.string().min(1).max(128);
export const UsernameInputSchema = z.string().trim().min(1).max(64);

export const MessageStatusSchema = z.enum(['sending', 'sent', 'delivered', 'read', 'failed']);
export const ConnectionStateSchema = z.enum(['offline', 'connecting', 'online', 'elsewhere', 'unregistered']);
export const MessageKindSchema = z.enum(['text', 'identity_change', 'decryption_error', 'timer_change']);
export const RegisterStepSchema = z.enum(['generating_keys', 'registering', 'uploading_keys', 'done']);
export const ProfileStateSchema = z.enum(['none', 'locked', 'ready']);

export const ProfileInfoSchema = z.object({
  accountId: z.string(),
  username: z.string(),
  deviceId: z.number(),
  relayUrl: z.string(),
});

export const ConversationSummarySchema = z.object({
  id: ConversationIdSchema,
  username: z.string(),
  unreadCount: z.number(),
  lastMessage: z
    .object({ preview: z.string(), at: z.number(), fromMe: z.boolean(), kind: MessageKindSchema })
    .nullable(),
  expiresInSeconds: z.number(),
  verified: z.boolean(),
  identityChanged: z.boolean(),
  claimPending: z.boolean(),
});

export const ReactionViewSchema = z.object({ emoji: z.string(), accountIds: z.array(z.string()) });

export const MessageViewSchema = z.object({
  id: MessageIdSchema,
  conversationId: ConversationIdSchema,
  kind: MessageKindSchema,
  fromMe: z.boolean(),
  authorAccountId: z.string(),
  body: z.string(),
  sentAt: z.number(),
  receivedAt: z.number(),
  status: MessageStatusSchema,
  editedAt: z.number().nullable(),
  deleted: z.boolean(),
  reactions: z.array(ReactionViewSchema),
  quote: z.object({ messageId: z.string(), authorAccountId: z.string(), text: z.string() }).nullable(),
  expiresAt: z.number().nullable(),
});

export const HistoryPageSchema = z.object({
  messages: z.array(MessageViewSchema),
  nextCursor: z.string().nullable(),
});

export const SearchHitSchema = z.object({ message: MessageViewSchema, username: z.string(), snippet: z.string() });

export const SafetyNumberSchema = z.object({
  displayString: z.string(),
  scannable: z.string(),
  verified: z.boolean(),
});

export const MessengerEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), message: MessageViewSchema }),
  z.object({ type: z.literal('message_updated'), message: MessageViewSchema }),
  z.object({ type: z.literal('typing'), conversationId: ConversationIdSchema, typing: z.boolean() }),
  z.object({ type: z.literal('identity_changed'), conversationId: ConversationIdSchema }),
  z.object({ type: z.literal('conversation_updated'), conversation: ConversationSummarySchema }),
  z.object({ type: z.literal('connection'), state: ConnectionStateSchema }),
]);

export type ProfileInfo = z.infer<typeof ProfileInfoSchema>;
export type ConversationSummary = z.infer<typeof ConversationSummarySchema>;
export type MessageView = z.infer<typeof MessageViewSchema>;
export type HistoryPage = z.infer<typeof HistoryPageSchema>;
export type SearchHit = z.infer<typeof SearchHitSchema>;
export type SafetyNumber = z.infer<typeof SafetyNumberSchema>;
export type MessengerEvent = z.infer<typeof MessengerEventSchema>;
export type MessageStatus = z.infer<typeof MessageStatusSchema>;
export type ConnectionState = z.infer<typeof ConnectionStateSchema>;
export type RegisterStep = z.infer<typeof RegisterStepSchema>;
export type ProfileState = z.infer<typeof ProfileStateSchema>;

// Compile-time proof that every schema describes exactly the core's type (both directions).
type Mirrors<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type ViewModelChecks = [
  Assert<Mirrors<ProfileInfo, Core.ProfileInfo>>,
  Assert<Mirrors<ConversationSummary, Core.ConversationSummary>>,
  Assert<Mirrors<MessageView, Core.MessageView>>,
  Assert<Mirrors<HistoryPage, Core.HistoryPage>>,
  Assert<Mirrors<SearchHit, Core.SearchHit>>,
  Assert<Mirrors<SafetyNumber, Core.SafetyNumber>>,
  Assert<Mirrors<MessengerEvent, Core.MessengerEvent>>,
  Assert<Mirrors<MessageStatus, Core.MessageStatus>>,
  Assert<Mirrors<ConnectionState, Core.ConnectionState>>,
  Assert<Mirrors<RegisterStep, Core.RegisterStep>>,
  Assert<Mirrors<ProfileState, Core.ProfileState>>,
];
