import { describe, expect, it, vi } from 'vitest';

const openExternal = vi.fn(async () => {});
const created: Array<{ options: { webPreferences?: Record<string, unknown> }; loaded: string[] }> = [];
vi.mock('electron', () => ({
  BrowserWindow: class {
    readonly record: (typeof created)[number];
    readonly webContents = { on: vi.fn(), setWindowOpenHandler: vi.fn() };
    constructor(options: (typeof created)[number]['options']) {
      this.record = { options, loaded: [] };
      created.push(this.record);
    }
    once() {}
    loadFile(path: string) {
      this.record.loaded.push(`file:${path}`);
      return Promise.resolve();
    }
    loadURL(url: string) {
      this.record.loaded.push(url);
      return Promise.resolve();
    }
  },
  shell: { openExternal },
}));

const { createMainWindow } = await import('./window.js');
const { CONTENT_SECURITY_POLICY, hardenContents, hardenSession, isPermissionAllowed, isSafeExternalUrl } = await import(
  './security.js'
);

type Listener = (...args: unknown[]) => void;

function fakeContents() {
  const listeners = new Map<string, Listener>();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  return {
    listeners,
    open: (url: string) => openHandler?.({ url }),
    contents: {
      on: (name: string, fn: Listener) => listeners.set(name, fn),
      setWindowOpenHandler: (fn: typeof openHandler) => {
        openHandler = fn;
      },
    },
  };
}

describe('window security options', () => {
  it('isolates the renderer: context isolation, sandbox, no Node', () => {
    delete process.env.ELECTRON_RENDERER_URL;
    createMainWindow();
    const window = created.at(-1);
    const prefs = window?.options.webPreferences;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
    });
    expect(String(prefs?.preload)).toMatch(/preload[/\\]index\.cjs$/);
    expect(window?.loaded).toHaveLength(1);
    expect(window?.loaded[0]).toMatch(/^file:.*renderer[/\\]index\.html$/);
  });

  it('loads a dev server URL only when it is on localhost', () => {
    process.env.ELECTRON_RENDERER_URL = 'https://evil.example/';
    createMainWindow();
    expect(created.at(-1)?.loaded[0]).toMatch(/^file:/);
    process.env.ELECTRON_RENDERER_URL = 'http://localhost:5173';
    createMainWindow();
    expect(created.at(-1)?.loaded[0]).toBe('http://localhost:5173');
    delete process.env.ELECTRON_RENDERER_URL;
  });

  it('denies window.open and navigation, and opens only http(s) links externally', () => {
    const fake = fakeContents();
    hardenContents(fake.contents as never);
    expect(fake.open('https://example.org/a')).toEqual({ action: 'deny' });
    expect(fake.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledTimes(1);
    expect(openExternal).toHaveBeenCalledWith('https://example.org/a');
    for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      fake.listeners.get(name)?.(event, 'https://evil.example/');
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
  });

  it('checks the protocol of external links', () => {
    expect(isSafeExternalUrl('https://example.org')).toBe(true);
    expect(isSafeExternalUrl('http://example.org/x?y')).toBe(true);
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'sotto://chat/bob',
      'nonsense',
    ]) {
      expect(isSafeExternalUrl(url), url).toBe(false);
    }
  });

  it('grants camera and microphone only', () => {
    expect(isPermissionAllowed('media', { mediaTypes: ['audio', 'video'] })).toBe(true);
    for (const permission of [
      'geolocation',
      'notifications',
      'clipboard-read',
      'openExternal',
      'midi',
      'display-capture',
    ]) {
      expect(isPermissionAllowed(permission), permission).toBe(false);
    }
  });

  it('installs the CSP header and the permission handlers on the session', () => {
    type HeadersFn = (details: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void;
    type RequestFn = (c: unknown, p: string, cb: (ok: boolean) => void, d: unknown) => void;
    const installed: { headers?: HeadersFn; request?: RequestFn } = {};
    const session = {
      webRequest: {
        onHeadersReceived: (fn: HeadersFn) => {
          installed.headers = fn;
        },
      },
      setPermissionRequestHandler: (fn: RequestFn) => {
        installed.request = fn;
      },
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
    };
    hardenSession(session as never);
    const responses: Array<Record<string, string[]>> = [];
    installed.headers?.({ responseHeaders: { 'X-Other': ['1'] } }, (r) => responses.push(r.responseHeaders));
    expect(responses[0]?.['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(responses[0]?.['X-Other']).toEqual(['1']);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/https?:|\*/);
    const answers: boolean[] = [];
    installed.request?.({}, 'geolocation', (ok) => answers.push(ok), {});
    installed.request?.({}, 'media', (ok) => answers.push(ok), { mediaTypes: ['audio'] });
    expect(answers).toEqual([false, true]);
  });
});
