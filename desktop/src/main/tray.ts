import { join } from 'node:path';
import { app, type BrowserWindow, Menu, nativeImage, Tray } from 'electron';
import type { MessengerApi } from '../core/messenger-types.js';

/** Unread badge (dock / taskbar / Unity) and a tray icon with the same count. */
export class UnreadIndicator {
  private tray: Tray | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly messenger: () => MessengerApi | null,
    private readonly window: () => BrowserWindow | null,
  ) {}

  createTray(): void {
    const icon = nativeImage.createFromPath(join(import.meta.dirname, '../../build/tray.png'));
    this.tray = new Tray(icon.isEmpty() ? nativeImage.createEmpty() : icon);
    this.tray.setToolTip('Sotto');
    this.tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Open Sotto', click: () => this.show() },
        { type: 'separator' },
        { label: 'Quit', role: 'quit' },
      ]),
    );
    this.tray.on('click', () => this.show());
  }

  private show(): void {
    const window = this.window();
    window?.show();
    window?.focus();
  }

  /** Recounts soon (coalesces bursts of events into one count). */
  schedule(): void {
    if (this.timer) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.update();
    }, 250);
  }

  update(): void {
    const unread = (this.messenger()?.listConversations() ?? []).reduce((sum, c) => sum + c.unreadCount, 0);
    app.setBadgeCount(unread);
    this.tray?.setToolTip(unread > 0 ? `Sotto — ${unread} unread` : 'Sotto');
  }

  destroy(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.tray?.destroy();
    this.tray = null;
  }
}
