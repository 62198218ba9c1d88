import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ Notification: class {} }));
const { notificationText } = await import('./notifications.js');

describe('notification text', () => {
  it('shows sender and text by default', () => {
    expect(notificationText(false, 'alice', 'see you at 8')).toEqual({ title: 'alice', body: 'see you at 8' });
  });

  it('shows markup in a message as written on Linux, where the notification server would render it', () => {
    const body = '<a href="https://evil.example">update</a> <img src="file:///etc/passwd"> & <b>5 < 6</b>';
    expect(notificationText(false, 'alice', body, 'linux').body).toBe(
      '&lt;a href=&quot;https://evil.example&quot;&gt;update&lt;/a&gt; &lt;img src=&quot;file:///etc/passwd&quot;&gt; &amp; &lt;b&gt;5 &lt; 6&lt;/b&gt;',
    );
    // macOS and Windows show the body as plain text: escaping there would show the entities.
    expect(notificationText(false, 'alice', body, 'darwin').body).toBe(body);
    expect(notificationText(false, 'alice', body, 'win32').body).toBe(body);
  });

  it('hides sender and text when the setting is on', () => {
    const text = notificationText(true, 'alice', 'see you at 8');
    expect(JSON.stringify(text)).not.toMatch(/alice|see you/);
  });
});
