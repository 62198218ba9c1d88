import { SottoError } from '../errors.js';
import type { ConversationId, SafetyNumber } from '../messenger-types.js';
import { computeSafetyNumber } from '../protocol/safety-number.js';
import * as conversations from '../store/conversation-queries.js';
import { insertMessage, newMessageId } from '../store/message-queries.js';
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

export async function markVerified(ctx: CoreContext, conversationId: ConversationId, verified: boolean): Promise<void> {
  requireConversation(ctx, conversationId);
  await ctx.tx(() => {
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

/** Inside the transaction that saved the new key: record it, reset verification, tell the UI. */
export function recordIdentityChange(ctx: CoreContext, accountId: string): void {
  if (!conversations.conversationExists(ctx.db, accountId)) {
    return;
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
