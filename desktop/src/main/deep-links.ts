import { app } from 'electron';

export const PROTOCOL = 'sotto';

/**
 * `sotto://chat/<username>` (also `sotto://<username>`) → the username, or null for anything else,
 * malformed percent-escapes included (the link comes from outside the app: it must never throw).
 */
export function parseDeepLink(url: string): { username: string } | null {
  let parts: string[];
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== `${PROTOCOL}:`) {
      return null;
    }
    parts = [parsed.hostname, ...parsed.pathname.split('/')].filter(Boolean).map((part) => decodeURIComponent(part));
  } catch {
    return null;
  }
  const username = parts[0] === 'chat' ? parts[1] : parts[0];
  if (!username || parts.length > (parts[0] === 'chat' ? 2 : 1)) {
    return null;
  }
  const normalized = username.toLowerCase();
  return /^[a-z0-9_.]{3,32}$/.test(normalized) ? { username: normalized } : null;
}

export function findDeepLink(argv: readonly string[]): string | undefined {
  return argv.find((arg) => arg.startsWith(`${PROTOCOL}://`));
}

export function registerProtocol(): void {
  if (process.defaultApp && process.argv[1]) {
    app.setAsDefaultProtocolClient(PROTOCOL, process.execPath, [process.argv[1]]);
  } else {
    app.setAsDefaultProtocolClient(PROTOCOL);
  }
}
