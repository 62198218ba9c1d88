import { app, Menu, type MenuItemConstructorOptions } from 'electron';
import type { EventPayload } from '../ipc/contract.js';

type Command = EventPayload<'app:command'>;

/** Standard menus (edit/view/window roles) plus the app's own shortcuts. */
export function installMenu(send: (command: Command) => void): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'New Conversation…', accelerator: 'CmdOrCtrl+N', click: () => send('new-conversation') },
        { label: 'Search Messages…', accelerator: 'CmdOrCtrl+F', click: () => send('search') },
        { label: 'Settings…', accelerator: 'CmdOrCtrl+,', click: () => send('settings') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged
          ? []
          : [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
