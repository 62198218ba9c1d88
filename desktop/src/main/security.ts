import type { Session, WebContents } from 'electron';
import { shell } from 'electron';
import { log } from './log.js';

/** The renderer's Content-Security-Policy: our own files only, no remote origin of any kind. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Only camera and microphone (calls) are ever granted; everything else is refused. */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['media']);

export function isPermissionAllowed(permission: string, details?: { mediaTypes?: string[] }): boolean {
  if (!ALLOWED_PERMISSIONS.has(permission)) {
    return false;
  }
  const types = details?.mediaTypes ?? [];
  return types.every((type) => type === 'audio' || type === 'video');
}

/** External links open in the browser only for plain http(s) URLs. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.username === '' && parsed.password === ''
    );
  } catch {
    return false;
  }
}

export async function openExternal(url: string): Promise<boolean> {
  if (!isSafeExternalUrl(url)) {
    log.warn('refused to open external url', { protocol: url.split(':')[0]?.slice(0, 16) });
    return false;
  }
  await shell.openExternal(url);
  return true;
}

/** Session-wide hardening: CSP header on every response, permission requests and checks. */
export function hardenSession(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
        'X-Content-Type-Options': ['nosniff'],
      },
    });
  });
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details as { mediaTypes?: string[] }));
  });
  session.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission));
  session.setDevicePermissionHandler(() => false);
}

/** Per-window hardening: no navigation, no new windows, no webviews; links go to the browser. */
export function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    void openExternal(url);
    return { action: 'deny' };
  });
  // The app is a single page: any navigation (a dropped file, a stray link) is refused.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
