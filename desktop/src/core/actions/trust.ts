import { SottoError } from '../errors.js';
import type { ConversationId, SafetyNumber } from '../messenger-types.js';
import { computeSafetyNumber } from '../protocol/safety-number.js';
import * as conversations from '../store/conversation-queries.js';
import { dropOutboxOf } from '../store/delivery-queries.js';
import { insertMessage, markFailed, newMessageId } from '../store/message-queries.js';
import { emitConversation } from '../sync/content-handler.js';
import type { CoreContext } from '../sync/core-context.js';
import { emitStored, requireConversation } from './lookups.js';

/** Safety numbers, verification and identity changes (trust on first use, changes surfaced). */
export async function safetyNumber(ctx: CoreContext, conversationId: ConversationId): Promise<SafetyNumber> {
  const conversation = requireConversation(ctx, conversationId);
  const remote = ctx.stores.identity.getIdentityForAccount(conversationId);
  if (!remote) {
    throw new SottoError(
      'not_found',
      `no identity key known for ${conversation.username} yet: exchange a message first`,
    );
  }
  const number = computeSafetyNumber(
    { accountId: ctx.local.accountId, identityKey: ctx.stores.identity.keyPair().publicKey },
    { accountId: conversationId, identityKey: remote },
  );
  return { ...number, verified: conversation.verified };
}

/**
 * Marks a conversation verified, or clears it. Verifying names the safety number the user compared: the
 * peer's identity key can change while the number is on screen (a reinstall, or someone in the middle), and
 * "mark verified" must never vouch for a key the user did not see. A number that is not the current one is
 * refused, and nothing changes.
 */
export async function markVerified(
  ctx: CoreContext,
  conversationId: ConversationId,
  verified: boolean,
  comparedSafetyNumber?: string,
): Promise<void> {
  const conversation = requireConversation(ctx, conversationId);
  await ctx.tx(async () => {
    if (verified) {
      const current = (await safetyNumber(ctx, conversationId)).displayString;
      if (comparedSafetyNumber === undefined) {
        throw new SottoError('invalid_argument', 'name the safety number you compared to mark it verified');
      }
      if (comparedSafetyNumber.replace(/\s/g, '') !== current) {
        throw new SottoError(
          'invalid_argument',
          `that is not the safety number with ${conversation.username} now: it changed, or was mistyped; compare the current one`,
        );
      }
    }
    conversations.setVerified(ctx.db, conversationId, verified);
    if (verified) {
      conversations.setIdentityChanged(ctx.db, conversationId, false);
    }
    emitConversation(ctx, conversationId);
  });
}

export function acknowledgeIdentityChange(ctx: CoreContext, conversationId: ConversationId): Promise<void> {
  return ctx.tx(() => {
    conversations.setIdentityChanged(ctx.db, conversationId, false);
    emitConversation(ctx, conversationId);
  });
}

/**
 * Inside the transaction that saved the new key: record it, reset verification, tell the UI. When the user had
 * verified the old key, what is still waiting to be sent was written for the person they verified: none of it
 * goes to the new key. Those messages fail (not sent), and what the user sends after seeing the change goes
 * to the new key, as with anyone unverified.
 */
export function recordIdentityChange(ctx: CoreContext, accountId: string): void {
  const conversation = conversations.getConversation(ctx.db, accountId);
  if (!conversation) {
    return;
  }
  if (conversation.verified) {
    const held = dropOutboxOf(ctx.db, accountId).filter((messageId) => markFailed(ctx.db, messageId));
    for (const messageId of held) {
      emitStored(ctx, messageId, 'message_updated');
    }
  }
  const now = ctx.now();
  const id = newMessageId();
  insertMessage(ctx.db, {
    id,
    conversationId: accountId,
    kind: 'identity_change',
    fromMe: false,
    authorAccountId: accountId,
    body: '',
    sentAt: now,
    receivedAt: now,
    status: 'delivered',
    unread: false,
  });
  conversations.setVerified(ctx.db, accountId, false);
  conversations.setIdentityChanged(ctx.db, accountId, true);
  emitStored(ctx, id, 'message');
  ctx.events.emit({ type: 'identity_changed', conversationId: accountId });
  emitConversation(ctx, accountId);
}
