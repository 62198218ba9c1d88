import type { OpenConversationRequest } from '../ipc/contract.js';

/**
 * Requests to open a conversation (a `sotto://` link, a clicked notification) wait here until the
 * signed-in shell takes one. Only the shell can act on them, and it is not there on a cold start,
 * behind the unlock or onboarding screen or during a reload: a push to the window then would be
 * dropped. So the window is only rung (`app:open-conversation`), and the shell takes the request
 * (`app:take-open-request`) when rung and when it mounts. A newer request replaces an older one.
 */
export class OpenRequests {
  #pending: OpenConversationRequest | null = null;

  constructor(private readonly ring: () => void) {}

  request(request: OpenConversationRequest): void {
    this.#pending = request;
    this.ring();
  }

  take(): OpenConversationRequest | null {
    const request = this.#pending;
    this.#pending = null;
    return request;
  }
}
