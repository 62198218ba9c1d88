import { z } from 'zod';
import { Sha256HexSchema } from './attachments.js';
import { AccountIdSchema, base64, TimestampSchema, UsernameSchema } from './common.js';

/**
 * What travels INSIDE the end-to-end encryption. The relay never sees any of this:
 * the client serialises a `Content` to JSON, pads it, and hands it to libsignal.
 */

export const MAX_TEXT_LENGTH = 64 * 1024;
const MessageIdSchema = z.uuid();
const BodySchema = z.string().min(1).max(MAX_TEXT_LENGTH);

export const AttachmentPointerSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  /** AES-256-GCM key for the blob (32 bytes). */
  key: base64(32).min(44),
  sha256: Sha256HexSchema,
  size: z.int().min(1),
  contentType: z.string().max(255),
  fileName: z.string().max(255).optional(),
});
export type AttachmentPointer = z.infer<typeof AttachmentPointerSchema>;

export const QuoteSchema = z.strictObject({
  messageId: MessageIdSchema,
  authorAccountId: AccountIdSchema,
  /** A short excerpt of the quoted text, shown even if the original is gone. */
  text: z.string().max(512),
});
export type Quote = z.infer<typeof QuoteSchema>;

export const TextContentSchema = z.strictObject({
  kind: z.literal('text'),
  id: MessageIdSchema,
  body: BodySchema,
  sentAt: TimestampSchema,
  attachments: z.array(AttachmentPointerSchema).max(32).optional(),
  /** Seconds after being read that the message disappears; absent = never. */
  expiresInSeconds: z.int().min(1).optional(),
  /**
   * The sender's username, so a recipient who has never talked to them can name the conversation
   * (the relay routes by account id only). Claimed by the sender: clients confirm it with a lookup.
   */
  senderUsername: UsernameSchema.optional(),
});

export const ReplyContentSchema = TextContentSchema.extend({
  kind: z.literal('reply'),
  quote: QuoteSchema,
});

export const ReceiptContentSchema = z.strictObject({
  kind: z.literal('receipt'),
  receipt: z.enum(['delivery', 'read']),
  messageIds: z.array(MessageIdSchema).min(1).max(500),
  at: TimestampSchema,
});

export const TypingContentSchema = z.strictObject({
  kind: z.literal('typing'),
  action: z.enum(['started', 'stopped']),
  at: TimestampSchema,
  groupId: z.string().max(64).optional(),
});

/**
 * One emoji as a person picks it (👍, ❤️, 👍🏽, 👩‍👩‍👧, a flag or a keycap), never text: the
 * recipient shows it as a chip under someone else's message, where words would read as theirs.
 */
export const ReactionEmojiSchema = z
  .string()
  .max(32)
  // biome-ignore lint/complexity/useRegexLiterals: TypeScript's ES2023 target rejects a `v`-flag literal.
  .regex(new RegExp('^(?:\\p{RGI_Emoji}|\\p{Extended_Pictographic}\\uFE0F?)$', 'v'), 'must be one emoji');

export const ReactionContentSchema = z.strictObject({
  kind: z.literal('reaction'),
  targetMessageId: MessageIdSchema,
  targetAuthorAccountId: AccountIdSchema,
  emoji: ReactionEmojiSchema,
  remove: z.boolean(),
  sentAt: TimestampSchema,
});

export const EditContentSchema = z.strictObject({
  kind: z.literal('edit'),
  targetMessageId: MessageIdSchema,
  body: BodySchema,
  sentAt: TimestampSchema,
});

export const DeleteContentSchema = z.strictObject({
  kind: z.literal('delete'),
  targetMessageId: MessageIdSchema,
  sentAt: TimestampSchema,
});

export const TimerContentSchema = z.strictObject({
  kind: z.literal('timer'),
  /** 0 turns disappearing messages off. */
  expiresInSeconds: z
    .int()
    .min(0)
    .max(365 * 24 * 3600),
  sentAt: TimestampSchema,
});

const SdpSchema = z
  .string()
  .min(1)
  .max(64 * 1024);
export const CallSignalSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('offer'), sdp: SdpSchema, video: z.boolean() }),
  z.strictObject({ type: z.literal('answer'), sdp: SdpSchema }),
  z.strictObject({
    type: z.literal('ice'),
    candidates: z
      .array(
        z.strictObject({
          candidate: z.string().max(1024),
          sdpMid: z.string().max(64).nullable(),
          sdpMLineIndex: z.int().min(0).max(64).nullable(),
        }),
      )
      .min(1)
      .max(64),
  }),
  z.strictObject({ type: z.literal('hangup'), reason: z.enum(['normal', 'declined', 'busy', 'failed']) }),
]);
export type CallSignal = z.infer<typeof CallSignalSchema>;

export const CallContentSchema = z.strictObject({
  kind: z.literal('call'),
  callId: z.uuid(),
  signal: CallSignalSchema,
  sentAt: TimestampSchema,
});

const MembersSchema = z.array(AccountIdSchema).min(1).max(1000);
export const GroupChangeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('create'), name: z.string().min(1).max(128), members: MembersSchema }),
  z.strictObject({ type: z.literal('add'), members: MembersSchema }),
  z.strictObject({ type: z.literal('remove'), members: MembersSchema }),
  z.strictObject({ type: z.literal('rename'), name: z.string().min(1).max(128) }),
  z.strictObject({ type: z.literal('leave') }),
]);
export type GroupChange = z.infer<typeof GroupChangeSchema>;

export const GroupContentSchema = z.strictObject({
  kind: z.literal('group'),
  groupId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  change: GroupChangeSchema,
  sentAt: TimestampSchema,
});

export const ContentSchema = z.discriminatedUnion('kind', [
  TextContentSchema,
  ReplyContentSchema,
  ReceiptContentSchema,
  TypingContentSchema,
  ReactionContentSchema,
  EditContentSchema,
  DeleteContentSchema,
  TimerContentSchema,
  CallContentSchema,
  GroupContentSchema,
]);
export type Content = z.infer<typeof ContentSchema>;
export type ContentKind = Content['kind'];
export type TextContent = z.infer<typeof TextContentSchema>;
export type ReplyContent = z.infer<typeof ReplyContentSchema>;
export type ReceiptContent = z.infer<typeof ReceiptContentSchema>;
export type TypingContent = z.infer<typeof TypingContentSchema>;
export type ReactionContent = z.infer<typeof ReactionContentSchema>;
export type EditContent = z.infer<typeof EditContentSchema>;
export type DeleteContent = z.infer<typeof DeleteContentSchema>;
export type TimerContent = z.infer<typeof TimerContentSchema>;
export type CallContent = z.infer<typeof CallContentSchema>;
export type GroupContent = z.infer<typeof GroupContentSchema>;
