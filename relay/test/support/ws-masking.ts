import { createRequire } from 'node:module';

/** What `wsMasking` says when `ws` masks and unmasks frames with bufferutil's native code. */
export const NATIVE_MASKING = 'native (bufferutil)';

/**
 * How `ws` masks and unmasks frames in this install, resolving bufferutil from where `ws` does: with
 * bufferutil's native code, or in JavaScript (bufferutil missing, no build for this platform, or
 * `WS_NO_BUFFER_UTIL` set), which costs the relay about a fifth more CPU per message (bench:relay).
 */
export function wsMasking(): string {
  if (process.env.WS_NO_BUFFER_UTIL) {
    return 'JavaScript (WS_NO_BUFFER_UTIL is set)';
  }
  try {
    const wsRequire = createRequire(createRequire(import.meta.url).resolve('ws'));
    const { mask, unmask } = wsRequire('bufferutil') as { mask: () => void; unmask: () => void };
    return String(mask).includes('[native code]') && String(unmask).includes('[native code]')
      ? NATIVE_MASKING
      : 'JavaScript (no bufferutil build for this platform)';
  } catch {
    return 'JavaScript (bufferutil not installed)';
  }
}
