import { z } from 'zod';

/**
 * The contract between renderer and main: each channel (`domain:verb`) maps to the schema
 * of its input and of its output. Main validates inputs against it; preload builds
 * `window.sotto` from it; the renderer imports its types only.
 */
export const invokeChannels = {
  'app:info': {
    input: z.void(),
    output: z.object({ version: z.string(), platform: z.string() }),
  },
} as const;

export type InvokeChannel = keyof typeof invokeChannels;
export type ChannelInput<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]['input']>;
export type ChannelOutput<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]['output']>;

export const IpcErrorSchema = z.object({ code: z.string(), message: z.string() });
export type IpcError = z.infer<typeof IpcErrorSchema>;
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** What the renderer sees on `window.sotto`: one method per channel. */
export type SottoApi = {
  [C in InvokeChannel]: (input: ChannelInput<C>) => Promise<IpcResult<ChannelOutput<C>>>;
};
