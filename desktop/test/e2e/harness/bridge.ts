import type { Page } from 'playwright-core';
import {
  type EventChannel,
  type EventPayload,
  eventChannelNames,
  invokeChannelNames,
} from '../../../src/ipc/contract.js';
import type { Dispatch } from '../../../src/main/dispatch.js';

/**
 * The test-only preload: builds `window.sotto` from the same channel lists preload/index.ts uses,
 * with `invoke` going through a Playwright binding instead of ipcRenderer.
 */
function testPreload({ invoke, events }: { invoke: string[]; events: string[] }) {
  type Listener = (payload: unknown) => void;
  const listeners = new Map<string, Set<Listener>>();
  const w = window as unknown as {
    __sottoInvoke: (channel: string, input: unknown) => Promise<unknown>;
    __sottoEmit: (channel: string, payload: unknown) => void;
    sotto: unknown;
  };
  w.__sottoEmit = (channel, payload) => {
    for (const listener of listeners.get(channel) ?? []) {
      listener(payload);
    }
  };
  const api: Record<string, unknown> = {};
  for (const channel of invoke) {
    api[channel] = (input?: unknown) => w.__sottoInvoke(channel, input);
  }
  api.on = (channel: string, listener: Listener) => {
    if (!events.includes(channel)) {
      throw new Error(`unknown event channel ${channel}`);
    }
    const set = listeners.get(channel) ?? new Set<Listener>();
    listeners.set(channel, set);
    set.add(listener);
    return () => set.delete(listener);
  };
  Object.defineProperty(window, 'sotto', { value: Object.freeze(api), writable: false });
}

export interface Bridge {
  emit<E extends EventChannel>(channel: E, payload: EventPayload<E>): void;
  /** Resolves when every event emitted so far has reached the page. */
  flush(): Promise<void>;
}

/** Bridges a page's `window.sotto` to `dispatch` (the same validation and handlers main uses). */
export async function attachBridge(page: Page, dispatch: Dispatch): Promise<Bridge> {
  await page.exposeBinding('__sottoInvoke', async (source, channel: string, input: unknown) => {
    if (source.frame !== page.mainFrame()) {
      return { ok: false, error: { code: 'forbidden', message: 'unknown sender' } };
    }
    return dispatch(channel, input);
  });
  await page.addInitScript(testPreload, { invoke: [...invokeChannelNames], events: [...eventChannelNames] });
  let queue: Promise<void> = Promise.resolve();
  return {
    emit(channel, payload) {
      // Events are delivered in order, one page.evaluate at a time.
      queue = queue
        .then(() =>
          page.evaluate(
            ([c, p]) => (window as unknown as { __sottoEmit?: (c: string, p: unknown) => void }).__sottoEmit?.(c, p),
            [channel, payload] as const,
          ),
        )
        .catch(() => {});
    },
    flush: () => queue,
  };
}
