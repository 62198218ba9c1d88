import { MAX_TEXT_LENGTH } from '@sotto/shared-types';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const handles = new Map<string, (event: unknown, raw: unknown) => Promise<unknown>>();
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, raw: unknown) => Promise<unknown>) => handles.set(channel, fn),
    removeHandler: (channel: string) => handles.delete(channel),
  },
}));

const { registerIpcHandlers } = await import('./ipc.js');
const { createDispatcher, IpcFailure } = await import('./dispatch.js');
const { invokeChannelNames } = await import('../ipc/contract.js');
type Handlers = import('./dispatch.js').Handlers;

function fakeHandlers(calls: Array<[string, unknown]>): Handlers {
  return Object.fromEntries(
    invokeChannelNames.map((channel) => [
      channel,
      async (input: unknown) => {
        calls.push([channel, input]);
        if (channel === 'messages:send') {
          throw new IpcFailure('not_found', 'no such conversation');
        }
        if (channel === 'conversations:list') {
          return [];
        }
        return undefined;
      },
    ]),
  ) as unknown as Handlers;
}

const mainFrame = { id: 'main-frame' };
const ourContents = { id: 7, mainFrame };
const ourEvent = { sender: ourContents, senderFrame: mainFrame };

describe('registerIpcHandlers', () => {
  let calls: Array<[string, unknown]>;
  beforeEach(() => {
    handles.clear();
    calls = [];
    registerIpcHandlers(fakeHandlers(calls), () => [ourContents as never]);
  });

  it('registers exactly one invoke handler per contract channel', () => {
    expect([...handles.keys()].sort()).toEqual([...invokeChannelNames].sort());
  });

  it('calls the handler with validated input and wraps the value', async () => {
    const result = await handles.get('conversations:list')?.(ourEvent, undefined);
    expect(result).toEqual({ ok: true, value: [] });
    const typing = await handles.get('typing:set')?.(ourEvent, { conversationId: 'c1', typing: true });
    expect(typing).toEqual({ ok: true, value: undefined });
    expect(calls).toContainEqual(['typing:set', { conversationId: 'c1', typing: true }]);
  });

  it('rejects bad input with bad_request and never reaches the handler', async () => {
    const cases: Array<[string, unknown]> = [
      ['messages:send', { conversationId: 'c1' }],
      ['messages:send', { conversationId: 'c1', body: '' }],
      ['messages:send', { conversationId: 'c1', body: 'hi', extra: 'field' }],
      ['typing:set', 'c1'],
      ['profile:register', { relayUrl: 'file:///etc/passwd', username: 'alice' }],
      ['app:open-external', { url: 'javascript:alert(1)' }],
      ['search:query', { query: '   ' }],
      ['conversations:set-timer', { conversationId: 'c1', seconds: -5 }],
    ];
    for (const [channel, raw] of cases) {
      const result = await handles.get(channel)?.(ourEvent, raw);
      expect(result, channel).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    expect(calls).toEqual([]);
  });

  it('says what is wrong with a message text it refuses, and lets through the longest one the wire carries', async () => {
    const send = (body: string) => handles.get('messages:send')?.(ourEvent, { conversationId: 'c1', body });
    expect(await send('')).toEqual({ ok: false, error: { code: 'bad_request', message: 'message is empty' } });
    // Past validation, to the (fake) core, which answers not_found.
    expect(await send('x'.repeat(MAX_TEXT_LENGTH))).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(calls.map(([channel]) => channel)).toEqual(['messages:send']);
    calls.length = 0;
    expect(await send('x'.repeat(MAX_TEXT_LENGTH + 1))).toEqual({
      ok: false,
      error: { code: 'bad_request', message: 'message is too long: at most 65,536 characters' },
    });
    expect(calls).toEqual([]);
  });

  it('refuses a sender that is not one of our windows', async () => {
    const foreign = { sender: { id: 99, mainFrame }, senderFrame: mainFrame };
    const result = await handles.get('conversations:list')?.(foreign, undefined);
    expect(result).toEqual({ ok: false, error: { code: 'forbidden', message: 'unknown sender' } });
    expect(calls).toEqual([]);
  });

  it('refuses a subframe of our own window', async () => {
    const subframe = { sender: ourContents, senderFrame: { id: 'iframe' } };
    const result = await handles.get('conversations:list')?.(subframe, undefined);
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(calls).toEqual([]);
  });

  it("passes a core failure's code through", async () => {
    const result = await handles.get('messages:send')?.(ourEvent, { conversationId: 'c1', body: 'hello' });
    expect(result).toEqual({ ok: false, error: { code: 'not_found', message: 'no such conversation' } });
  });
});

describe('createDispatcher', () => {
  it('reports an unknown channel as bad_request', async () => {
    const dispatch = createDispatcher(fakeHandlers([]));
    expect(await dispatch('keys:export', undefined)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('maps an error without a code to internal', async () => {
    const handlers = fakeHandlers([]);
    handlers['conversations:list'] = () => {
      throw new Error('boom');
    };
    const dispatch = createDispatcher(handlers);
    expect(await dispatch('conversations:list', undefined)).toEqual({
      ok: false,
      error: { code: 'internal', message: 'boom' },
    });
  });
});
