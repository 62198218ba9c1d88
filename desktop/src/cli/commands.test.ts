import { describe, expect, it } from 'vitest';
import { systemLine } from './commands.js';

describe('CLI system lines', () => {
  it('say a disappearing-messages timer in words, and off when it is turned off', () => {
    expect(systemLine('timer_change', '3600')).toBe('[disappearing messages: 1 hour]');
    expect(systemLine('timer_change', '604800')).toBe('[disappearing messages: 1 week]');
    expect(systemLine('timer_change', '90')).toBe('[disappearing messages: 90 seconds]');
    expect(systemLine('timer_change', '0')).toBe('[disappearing messages: off]');
  });
});
