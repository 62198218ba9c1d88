import { useCallback, useEffect, useState } from 'react';
import type { ConversationSummary } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';

function byRecent(a: ConversationSummary, b: ConversationSummary): number {
  return (b.lastMessage?.at ?? 0) - (a.lastMessage?.at ?? 0) || a.username.localeCompare(b.username);
}

/** The conversation list, kept fresh by `conversation_updated` events. */
export function useConversations() {
  const [conversations, setConversations] = useState<ConversationSummary[]>([]);

  const upsert = useCallback((conversation: ConversationSummary) => {
    setConversations((list) => [...list.filter((c) => c.id !== conversation.id), conversation].sort(byRecent));
  }, []);

  const refresh = useCallback(async () => {
    setConversations([...(await call('conversations:list'))].sort(byRecent));
  }, []);

  useEffect(() => {
    void refresh();
    return subscribe('messenger:event', (event) => {
      if (event.type === 'conversation_updated') {
        upsert(event.conversation);
      } else if (event.type === 'message' || event.type === 'identity_changed') {
        void refresh();
      }
    });
  }, [refresh, upsert]);

  return { conversations, upsert, refresh };
}
