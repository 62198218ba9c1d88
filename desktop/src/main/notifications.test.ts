import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ Notification: class {} }));
const { notificationText } = await import('./notifications.js');

describe('notification text', () => {
  it('shows sender and text by default', () => {
    expect(notificationText(false, 'alice', 'see you at 8')).toEqual({ title: 'alice', body: 'see you at 8' });
  });

  it('hides sender and text when the setting is on', () => {
    const text = notificationText(true, 'alice', 'see you at 8');
    expect(JSON.stringify(text)).not.toMatch(/alice|see you/);
  });
});
