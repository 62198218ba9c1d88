import type { Content, Quote } from '@sotto/shared-types';
import { missingCaseError } from '../errors.js';
import type { ConversationSummary } from '../messenger-types.js';
import {
  conversationExists,
  conversationNamed,
  ensureConversation,
  holdClaim,
  releaseUsername,
  setExpiresIn,
} from '../store/conversation-queries.js';
import { type EarlyEffect, type Effect, keepEarlyEffect, takeEarlyEffects } from '../store/early-effects.js';
import {
  advanceStatuses,
  editMessage,
  getMessage,
  getMessages,
  insertMessage,
  markDeleted,
  type NewMessage,
  newMessageId,
  newMessageView,
  quoteExcerpt,
  setReaction,
} from '../store/message-queries.js';
import type { CoreContext } from './core-context.js';

export interface Sender {
  accountId: string;
  deviceId: number;
}

function emitMessage(ctx: CoreContext, id: string, type: 'message' | 'message_updated'): void {
  const message = getMessage(ctx.db, id);
  if (message) {
    ctx.events.emit({ type, message });
  }
}

/** Announces a changed conversation (summary computed after commit, coalesced). */
export function emitConversation(ctx: CoreContext, conversationId: string): void {
  ctx.events.touchConversation(conversationId);
}

/**
 * The relay confirmed that `username` is account `ownerId`'s: any other conversation still under it is of a
 * gone account and is renamed (see releaseUsername), and announced. Inside a transaction.
 */
export function confirmUsername(ctx: CoreContext, username: string, ownerId: string): void {
  for (const id of releaseUsername(ctx.db, username, ownerId)) {
    emitConversation(ctx, id);
  }
}

/** What a stranger's conversation is called until the relay confirms the name it claims. */
export function unverifiedName(accountId: string): string {
  return `unverified-${accountId.slice(0, 8)}`;
}

/**
 * A conversation's name where someone decides whom to trust on it (CLI output, notifications): never a
 * username a stranger claims before the relay's directory confirmed it (`claimPending`).
 */
export function shownName(conversation: Pick<ConversationSummary, 'id' | 'username' | 'claimPending'>): string {
  return conversation.claimPending ? unverifiedName(conversation.id) : conversation.username;
}

/**
 * A received reply's quote as this device knows it. The sender writes the quoted excerpt and names its
 * author, so a made-up quote could put words in the reader's mouth ("You: I'll pay you back"). The excerpt
 * shown is the quoted message's own text when it is here, in this conversation, by that author; otherwise
 * it is empty and shown as "original message not found".
 */
function quoteAsKnownHere(ctx: CoreContext, from: string, quote: Quote): Quote {
  const original = getMessage(ctx.db, quote.messageId);
  const known =
    original?.kind === 'text' &&
    !original.deleted &&
    original.conversationId === from &&
    original.authorAccountId === quote.authorAccountId;
  return { ...quote, text: known ? quoteExcerpt(original.body) : '' };
}

/** When a piece of content reached the relay (its server timestamp) and this device. */
export interface Arrival {
  serverTimestamp: number;
  receivedAt: number;
}

/**
 * The sent time a message is shown and ordered by. The sender writes it, so a wrong clock or a modified client
 * could date a message years ahead: its conversation would stay first in the list and the message below every
 * later one. Nothing counts as sent after it reached the relay or this device, whichever is later (so a device
 * whose own clock is behind still shows a sender's true time). Dating a message back is not prevented: an
 * outbox that was offline for a day legitimately sends day-old messages.
 */
export function shownSentAt(claimed: number, arrival: Arrival): number {
  return Math.min(claimed, Math.max(arrival.serverTimestamp, arrival.receivedAt));
}

/**
 * Applies decrypted content from `sender` to the local history. Runs inside the receive transaction,
 * so the effect, the session advance and the envelope GUID commit together. Returns the id of a new
 * incoming message that needs a delivery receipt, if any.
 */
export function applyContent(ctx: CoreContext, sender: Sender, content: Content, arrival: Arrival): string | null {
  const from = sender.accountId;
  const { receivedAt } = arrival;
  switch (content.kind) {
    case 'text':
    case 'reply': {
      if (!conversationExists(ctx.db, from)) {
        // A stranger's claimed name is confirmed with the relay after this batch (see Inbound). A name another
        // conversation already has waits for that confirmation: anyone could write as "bob" next to the real bob.
        const claimed = content.senderUsername;
        const name = claimed && !conversationNamed(ctx.db, claimed) ? claimed : unverifiedName(from);
        ensureConversation(ctx.db, from, name, receivedAt);
        if (claimed) {
          holdClaim(ctx.db, from, claimed);
        }
      }
      const message: NewMessage = {
        id: content.id,
        conversationId: from,
        kind: 'text',
        fromMe: false,
        authorAccountId: from,
        body: content.body,
        sentAt: shownSentAt(content.sentAt, arrival),
        receivedAt,
        status: 'delivered',
        unread: true,
        quote: content.kind === 'reply' ? quoteAsKnownHere(ctx, from, content.quote) : undefined,
        expiresInSeconds: content.expiresInSeconds ?? 0,
      };
      if (insertMessage(ctx.db, message)) {
        const early = takeEarlyEffects(ctx.db, content.id, from);
        for (const effect of early) {
          applyEffect(ctx, from, effect, receivedAt);
        }
        const view = early.length > 0 ? getMessage(ctx.db, content.id) : newMessageView(message);
        if (view) {
          ctx.events.emit({ type: 'message', message: view });
        }
        emitConversation(ctx, from);
        return content.id; // the caller sends one delivery receipt for the whole batch
      }
      return null;
    }
    case 'receipt': {
      const status = content.receipt === 'read' ? 'read' : 'delivered';
      for (const message of getMessages(ctx.db, advanceStatuses(ctx.db, content.messageIds, status, from))) {
        ctx.events.emit({ type: 'message_updated', message });
      }
      return null;
    }
    case 'typing':
      ctx.events.emit({ type: 'typing', conversationId: from, typing: content.action === 'started' });
      return null;
    case 'reaction':
    case 'edit':
    case 'delete':
      applyEffect(ctx, from, { content, sentAt: shownSentAt(content.sentAt, arrival) }, receivedAt);
      return null;
    case 'timer': {
      if (!conversationExists(ctx.db, from)) {
        return null;
      }
      setExpiresIn(ctx.db, from, content.expiresInSeconds);
      const id = newMessageId();
      insertMessage(ctx.db, {
        id,
        conversationId: from,
        kind: 'timer_change',
        fromMe: false,
        authorAccountId: from,
        body: String(content.expiresInSeconds),
        sentAt: shownSentAt(content.sentAt, arrival),
        receivedAt,
        status: 'delivered',
        unread: false,
      });
      emitMessage(ctx, id, 'message');
      emitConversation(ctx, from);
      return null;
    }
    case 'call':
    case 'group':
      // Calls and groups are handled by later issues; the envelope is still consumed exactly once.
      return null;
    default:
      throw missingCaseError(content);
  }
}

/**
 * An edit, deletion for everyone or reaction from `from`. One about a message not here yet waits for it
 * (see keepEarlyEffect): it may have overtaken its message on the way. Of several edits or reactions, the
 * latest sent wins (a removal too: see setReaction), whatever order they arrive in.
 */
function applyEffect(ctx: CoreContext, from: string, effect: EarlyEffect, receivedAt: number): void {
  const content: Effect = effect.content;
  const target = getMessage(ctx.db, content.targetMessageId);
  if (!target) {
    keepEarlyEffect(ctx.db, from, effect, receivedAt);
    return;
  }
  switch (content.kind) {
    case 'reaction':
      if (target.conversationId === from) {
        // Ordered by the time its sender's clock gave it, not the shown time (shownSentAt): a reaction and its
        // removal come from one device, so its clock orders them, while capping each at its arrival here
        // would order them as they arrived whenever that clock runs ahead of this device's. The time is
        // never shown, and a sender who dates its reaction ahead only keeps its own reaction up.
        setReaction(ctx.db, content.targetMessageId, from, content.emoji, content.remove, content.sentAt);
        emitMessage(ctx, content.targetMessageId, 'message_updated');
      }
      return;
    case 'edit':
      // Shown at the capped time; ordered among the message's edits by its sender's clock (see editMessage).
      if (editMessage(ctx.db, content.targetMessageId, from, content.body, effect.sentAt, content.sentAt)) {
        emitMessage(ctx, content.targetMessageId, 'message_updated');
        emitConversation(ctx, from);
      }
      return;
    case 'delete': {
      const replies = markDeleted(ctx.db, content.targetMessageId, from);
      if (replies) {
        for (const id of [content.targetMessageId, ...replies]) {
          emitMessage(ctx, id, 'message_updated');
        }
        emitConversation(ctx, from);
      }
      return;
    }
    default:
      throw missingCaseError(content);
  }
}
