import { type Content, MAX_TEXT_LENGTH } from '@sotto/shared-types';
import { SottoError } from '../errors.js';
import type { ConversationId, MessageView } from '../messenger-types.js';
import { setExpiresIn } from '../store/conversation-queries.js';
import * as messages from '../store/message-queries.js';
import { ownTextContent } from '../sync/content-codec.js';
import { emitConversation } from '../sync/content-handler.js';
import type { CoreContext } from '../sync/core-context.js';
import { enqueue, type SendPipeline } from '../sync/send-pipeline.js';
import {
  emitStored,
  requireConversation,
  requireConversationExists,
  requireConversationTimer,
  requireMessage,
  requireOwnMessage,
} from './lookups.js';

/** A message text the contract accepts (the check `enqueue` makes too, here with a message for people). */
function requireSendableBody(body: string): void {
  if (body.length === 0) {
    throw new SottoError('invalid_argument', 'message is empty');
  }
  if (body.length > MAX_TEXT_LENGTH) {
    throw new SottoError(
      'invalid_argument',
      `message is too long: ${body.length.toLocaleString('en')} characters, at most ${MAX_TEXT_LENGTH.toLocaleString('en')}`,
    );
  }
}

/**
 * What the local user does to a conversation: each action changes the history and queues the content
 * for the peer in ONE transaction (the persisted outbox sends it, now or after a restart), then kicks
 * the send pipeline.
 */
export class Composer {
  #lastSentAt = 0;

  constructor(
    private readonly ctx: CoreContext,
    private readonly sender: SendPipeline,
    /** Something with an expiry time may have changed (disappearing messages). */
    private readonly onExpiryChange: () => void,
  ) {}

  async sendText(conversationId: ConversationId, body: string, quoteMessageId?: string): Promise<MessageView> {
    const ctx = this.ctx;
    const expires = requireConversationTimer(ctx, conversationId);
    requireSendableBody(body);
    const id = messages.newMessageId();
    // Strictly increasing per sender: recipients order by it even when a pipelined run arrives out of order.
    const sentAt = Math.max(ctx.now(), this.#lastSentAt + 1);
    this.#lastSentAt = sentAt;
    const quoted = quoteMessageId ? messages.getMessage(ctx.db, quoteMessageId) : undefined;
    if (quoteMessageId && quoted?.conversationId !== conversationId) {
      throw new SottoError('not_found', 'quoted message not found');
    }
    const quote = quoted
      ? { messageId: quoted.id, authorAccountId: quoted.authorAccountId, text: messages.quoteExcerpt(quoted.body) }
      : undefined;
    const base = {
      id,
      body,
      sentAt,
      senderUsername: ctx.local.username,
      ...(expires > 0 ? { expiresInSeconds: expires } : {}),
    };
    const content: Content = quote ? { kind: 'reply', ...base, quote } : { kind: 'text', ...base };
    const stored: messages.NewMessage = {
      id,
      conversationId,
      kind: 'text',
      fromMe: true,
      authorAccountId: ctx.local.accountId,
      body,
      sentAt,
      receivedAt: sentAt,
      status: 'sending',
      unread: false,
      quote,
      expiresInSeconds: expires,
      expiresAt: expires > 0 ? sentAt + expires * 1000 : null,
    };
    const view = await ctx.tx(() => {
      messages.insertMessage(ctx.db, stored);
      enqueue(ctx, conversationId, content, id);
      // A new id: nothing to read back (no reactions, edits or deletion yet).
      const message = messages.newMessageView(stored);
      ctx.events.emit({ type: 'message', message });
      emitConversation(ctx, conversationId);
      return message;
    });
    this.sender.kick();
    this.onExpiryChange();
    return view;
  }

  async react(messageId: string, emoji: string, remove: boolean): Promise<void> {
    const ctx = this.ctx;
    const target = requireMessage(ctx, messageId);
    const sentAt = ctx.now();
    await ctx.tx(() => {
      messages.setReaction(ctx.db, messageId, ctx.local.accountId, emoji, remove, sentAt);
      enqueue(
        ctx,
        target.conversationId,
        {
          kind: 'reaction',
          targetMessageId: messageId,
          targetAuthorAccountId: target.authorAccountId,
          emoji,
          remove,
          sentAt,
        },
        null,
      );
      emitStored(ctx, messageId, 'message_updated');
    });
    this.sender.kick();
  }

  async edit(messageId: string, body: string): Promise<void> {
    const ctx = this.ctx;
    const target = requireOwnMessage(ctx, messageId);
    requireSendableBody(body);
    const sentAt = ctx.now();
    await ctx.tx(() => {
      messages.editMessage(ctx.db, messageId, ctx.local.accountId, body, sentAt);
      enqueue(ctx, target.conversationId, { kind: 'edit', targetMessageId: messageId, body, sentAt }, null);
      emitStored(ctx, messageId, 'message_updated');
    });
    this.sender.kick();
  }

  /**
   * Sends a message that failed once more, as it was written (see ownTextContent): after a refusal, or
   * after a verified person's key changed and the user has looked at the new one.
   */
  async resend(messageId: string): Promise<void> {
    const ctx = this.ctx;
    const message = requireOwnMessage(ctx, messageId);
    if (message.kind !== 'text' || message.status !== 'failed') {
      throw new SottoError('invalid_argument', 'only a message that failed to send can be sent again');
    }
    const content = ownTextContent(message, ctx.local.username);
    await ctx.tx(() => {
      if (!messages.markResending(ctx.db, messageId)) {
        throw new SottoError('invalid_argument', 'only a message that failed to send can be sent again');
      }
      enqueue(ctx, message.conversationId, content, messageId);
      emitStored(ctx, messageId, 'message_updated');
      emitConversation(ctx, message.conversationId);
    });
    this.sender.kick();
  }

  async deleteForEveryone(messageId: string): Promise<void> {
    const ctx = this.ctx;
    const target = requireOwnMessage(ctx, messageId);
    const sentAt = ctx.now();
    await ctx.tx(() => {
      const replies = messages.markDeleted(ctx.db, messageId, ctx.local.accountId) ?? [];
      enqueue(ctx, target.conversationId, { kind: 'delete', targetMessageId: messageId, sentAt }, null);
      for (const id of [messageId, ...replies]) {
        emitStored(ctx, id, 'message_updated');
      }
      emitConversation(ctx, target.conversationId);
    });
    this.sender.kick();
  }

  async setDisappearingTimer(conversationId: ConversationId, seconds: number): Promise<void> {
    const ctx = this.ctx;
    requireConversation(ctx, conversationId);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 365 * 24 * 3600) {
      throw new SottoError('invalid_argument', 'timer must be 0 … 1 year in whole seconds');
    }
    const sentAt = ctx.now();
    await ctx.tx(() => {
      setExpiresIn(ctx.db, conversationId, seconds);
      const id = messages.newMessageId();
      messages.insertMessage(ctx.db, {
        id,
        conversationId,
        kind: 'timer_change',
        fromMe: true,
        authorAccountId: ctx.local.accountId,
        body: String(seconds),
        sentAt,
        receivedAt: sentAt,
        status: 'sent',
        unread: false,
      });
      enqueue(ctx, conversationId, { kind: 'timer', expiresInSeconds: seconds, sentAt }, null);
      emitStored(ctx, id, 'message');
      emitConversation(ctx, conversationId);
    });
    this.sender.kick();
  }

  async setTyping(conversationId: ConversationId, typing: boolean): Promise<void> {
    const ctx = this.ctx;
    requireConversationExists(ctx, conversationId);
    await ctx.tx(() =>
      enqueue(
        ctx,
        conversationId,
        { kind: 'typing', action: typing ? 'started' : 'stopped', at: ctx.now() },
        null,
        true,
      ),
    );
    this.sender.kick();
  }

  async markRead(conversationId: ConversationId): Promise<void> {
    const ctx = this.ctx;
    requireConversation(ctx, conversationId);
    const now = ctx.now();
    await ctx.tx(() => {
      const ids = messages.markConversationRead(ctx.db, conversationId, now);
      for (let i = 0; i < ids.length; i += 500) {
        enqueue(
          ctx,
          conversationId,
          { kind: 'receipt', receipt: 'read', messageIds: ids.slice(i, i + 500), at: now },
          null,
        );
      }
      emitConversation(ctx, conversationId);
    });
    this.sender.kick();
    this.onExpiryChange();
  }
}
