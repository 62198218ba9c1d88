import {
  type ChannelOutput,
  type InvokeChannel,
  type IpcResult,
  invokeChannels,
  type ParsedInput,
} from '../ipc/contract.js';

/** A failure a handler reports to the renderer with a stable code (never a stack, never secrets). */
export class IpcFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IpcFailure';
  }
}

export type Handler<C extends InvokeChannel> = (input: ParsedInput<C>) => Promise<ChannelOutput<C>> | ChannelOutput<C>;
export type Handlers = { [C in InvokeChannel]: Handler<C> };

/** Error codes the core throws (`err.code`) pass through; anything else is `internal`. */
function toIpcError(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : 'internal', message: err.message };
  }
  return { code: 'internal', message: String(err) };
}

export type Dispatch = (channel: string, raw: unknown) => Promise<IpcResult<unknown>>;

/**
 * Validates the input against the contract, calls the handler, wraps the result.
 * Electron-free: main registers it on ipcMain, the e2e harness on a Playwright binding.
 */
export function createDispatcher(handlers: Handlers): Dispatch {
  return async (channel, raw) => {
    if (!Object.hasOwn(invokeChannels, channel)) {
      return { ok: false, error: { code: 'bad_request', message: `unknown channel ${channel}` } };
    }
    const name = channel as InvokeChannel;
    const parsed = invokeChannels[name].input.safeParse(raw);
    if (!parsed.success) {
      return {
        ok: false,
        error: { code: 'bad_request', message: parsed.error.issues.map((i) => i.message).join('; ') },
      };
    }
    try {
      const handler = handlers[name] as (input: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(parsed.data) };
    } catch (err) {
      return { ok: false, error: toIpcError(err) };
    }
  };
}
