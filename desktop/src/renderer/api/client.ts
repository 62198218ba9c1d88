import type {
  ChannelOutput,
  EventChannel,
  EventPayload,
  InvokeArgs,
  InvokeChannel,
  IpcResult,
} from '../../ipc/contract.js';

/** A failed call, with the stable code main returned (`bad_request`, `locked`, …). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Calls a channel on `window.sotto` and unwraps `{ ok, value }`, throwing `ApiError` otherwise. */
export async function call<C extends InvokeChannel>(channel: C, ...args: InvokeArgs<C>): Promise<ChannelOutput<C>> {
  const invoke = window.sotto[channel] as unknown as (...input: unknown[]) => Promise<IpcResult<ChannelOutput<C>>>;
  const result = await invoke(...args);
  if (!result.ok) {
    throw new ApiError(result.error.code, result.error.message);
  }
  return result.value;
}

export function subscribe<E extends EventChannel>(
  channel: E,
  listener: (payload: EventPayload<E>) => void,
): () => void {
  return window.sotto.on(channel, listener);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
