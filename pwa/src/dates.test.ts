import { afterEach, describe, expect, it } from 'vitest';
import { formatDay, formatTime, formatWhen } from './dates';
import { setLang } from './i18n';

// Monday 7 December 2026, 13:05:09 UTC = 14:05:09 in Amsterdam (winter time).
const MON = Date.UTC(2026, 11, 7, 13, 5, 9);
// Wednesday 1 July 2026, 22:30:00 UTC = Thursday 2 July 00:30 in Amsterdam (summer time).
const SUMMER = Date.UTC(2026, 6, 1, 22, 30, 0);
const AMS = 'Europe/Amsterdam';

describe('one date format per context', () => {
  afterEach(() => setLang('nl'));

  it('writes each context its own way, in Dutch', () => {
    setLang('nl');
    expect(formatWhen(MON, 'list', AMS)).toBe('7 dec 2026 14:05');
    expect(formatWhen(MON, 'detail', AMS)).toBe('ma 7 dec 2026 om 14:05');
    expect(formatWhen(MON, 'history', AMS)).toBe('7 dec 2026 14:05:09');
    expect(formatWhen(MON, 'report', AMS)).toBe('maandag 7 december 2026, 14:05');
    expect(formatDay(MON, 'list', AMS)).toBe('7 dec 2026');
    expect(formatDay(MON, 'report', AMS)).toBe('maandag 7 december 2026');
    expect(formatWhen(SUMMER, 'list', AMS)).toBe('2 jul 2026 00:30');
    expect(formatTime(MON, AMS)).toBe('14:05');
    expect(formatTime(SUMMER, AMS)).toBe('00:30');
  });

  it('and in English', () => {
    setLang('en');
    expect(formatWhen(MON, 'list', AMS)).toBe('7 Dec 2026 14:05');
    expect(formatWhen(MON, 'detail', AMS)).toBe('Mon 7 Dec 2026 at 14:05');
    expect(formatWhen(MON, 'history', AMS)).toBe('7 Dec 2026 14:05:09');
    expect(formatWhen(MON, 'report', AMS)).toBe('Monday 7 December 2026, 14:05');
  });

  it('says so when there is no moment', () => {
    expect(formatWhen(null, 'list')).toBe('–');
    expect(formatDay(undefined, 'detail')).toBe('–');
    expect(formatTime(null)).toBe('–');
  });
});
