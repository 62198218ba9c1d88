import { useEffect, useRef, useState } from 'react';
import { subscribe } from '../../api/client.js';

const TYPING_TIMEOUT_MS = 8000;

/** Whether the peer is typing in this conversation (cleared after a while without news). */
export function usePeerTyping(conversationId: string): boolean {
  const [typing, setTyping] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    setTyping(false);
    const unsubscribe = subscribe('messenger:event', (event) => {
      const fromPeer =
        (event.type === 'typing' && event.conversationId === conversationId) ||
        (event.type === 'message' && event.message.conversationId === conversationId && !event.message.fromMe);
      if (!fromPeer) {
        return;
      }
      const isTyping = event.type === 'typing' && event.typing;
      setTyping(isTyping);
      if (timer.current) {
        clearTimeout(timer.current);
      }
      if (isTyping) {
        timer.current = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
      }
    });
    return () => {
      unsubscribe();
      if (timer.current) {
        clearTimeout(timer.current);
      }
    };
  }, [conversationId]);
  return typing;
}
