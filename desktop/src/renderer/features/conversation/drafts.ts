/**
 * Composer drafts per conversation. In memory only: a draft is plaintext, and the renderer
 * has no encrypted storage (localStorage would be a file in clear on disk).
 */
const drafts = new Map<string, string>();

export function getDraft(conversationId: string): string {
  return drafts.get(conversationId) ?? '';
}

export function setDraft(conversationId: string, text: string): void {
  if (text) {
    drafts.set(conversationId, text);
  } else {
    drafts.delete(conversationId);
  }
}
