import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ app: {} }));
const { parseDeepLink, findDeepLink } = await import('./deep-links.js');

describe('sotto:// deep links', () => {
  it('opens a conversation with a user', () => {
    expect(parseDeepLink('sotto://chat/Alice')).toEqual({ username: 'alice' });
    expect(parseDeepLink('sotto://bob.smith')).toEqual({ username: 'bob.smith' });
  });

  it('ignores anything else', () => {
    for (const url of [
      'https://chat/alice',
      'sotto://chat/',
      'sotto://chat/a',
      'sotto://chat/alice/extra',
      'sotto://x%2F..',
      'sotto://chat/%E0%A4%A',
      'sotto://chat/alice%',
      'sotto://%ff',
      'nope',
    ]) {
      expect(parseDeepLink(url), url).toBeNull();
    }
  });

  it('finds the link among command-line arguments', () => {
    expect(findDeepLink(['/usr/bin/sotto', '--flag', 'sotto://chat/bob'])).toBe('sotto://chat/bob');
    expect(findDeepLink(['/usr/bin/sotto'])).toBeUndefined();
  });
});
