import { SottoError } from '../errors.js';
import type { ConversationId, ConversationSummary, MessageView } from '../messenger-types.js';
import { conversationExists, conversationTimer, getConversation } from '../store/conversation-queries.js';
import { getMessage } from '../store/message-queries.js';
import type { CoreContext } from '../sync/core-context.js';

/** The conversation, or `not_found`. */
export function requireConversation(ctx: CoreContext, id: ConversationId): ConversationSummary {
  const conversation = getConversation(ctx.db, id);
  if (!conversation) {
    throw new SottoError('not_found', 'no such conversation');
  }
  return conversation;
}

/** `not_found` unless the conversation exists (one indexed lookup, for actions that need nothing of it). */
export function requireConversationExists(ctx: CoreContext, id: ConversationId): void {
  if (!conversationExists(ctx.db, id)) {
    throw new SottoError('not_found', 'no such conversation');
  }
}

/**
 * The conversation's disappearing-messages timer in seconds (0: off), or `not_found`. For every send: one
 * row read, where the summary also looks up the last message.
 */
export function requireConversationTimer(ctx: CoreContext, id: ConversationId): number {
  const seconds = conversationTimer(ctx.db, id);
  if (seconds === undefined) {
    throw new SottoError('not_found', 'no such conversation');
  }
  return seconds;
}

/** A text message, or `not_found`. */
export function requireMessage(ctx: CoreContext, id: string): MessageView {
  const message = getMessage(ctx.db, id);
  if (message?.kind !== 'text') {
    throw new SottoError('not_found', 'no such message');
  }
  return message;
}

/** A text message of the local user that is not deleted, or an error. */
export function requireOwnMessage(ctx: CoreContext, id: string): MessageView {
  const message = requireMessage(ctx, id);
  if (!message.fromMe || message.deleted) {
    throw new SottoError('invalid_argument', 'only your own messages can be changed');
  }
  return message;
}

/** Announces a stored message as new or updated (delivered after the surrounding transaction commits). */
export function emitStored(ctx: CoreContext, id: string, type: 'message' | 'message_updated'): void {
  const message = getMessage(ctx.db, id);
  if (message) {
    ctx.events.emit({ type, message });
  }
}

/** `@Alice ` → `alice`. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase().replace(/^@/, '');
}
