import { describe, expect, it } from 'vitest';
import { DEFAULT_THEME, parseTheme, textOn, titleOf } from './theme';

describe('theme', () => {
  it('reads the server theme and keeps only a logo on this server', () => {
    expect(parseTheme({ theme: { name: ' Buurtlog ', municipality: 'Gemeente Eemdal', color: '#A61E4D', logo_url: '/api/v1/theme/logo' } })).toEqual({
      name: 'Buurtlog',
      municipality: 'Gemeente Eemdal',
      color: '#a61e4d',
      logoUrl: '/api/v1/theme/logo',
    });
    for (const logo of ['https://elders.example/logo.png', '//elders.example/logo.png', '/\\elders.example', 'javascript:alert(1)', 7]) {
      expect(parseTheme({ theme: { name: 'X', color: '#000000', logo_url: logo } })?.logoUrl, String(logo)).toBeNull();
    }
  });

  it('falls back to the defaults for missing or malformed values', () => {
    expect(parseTheme({ map: {} })).toBeNull();
    expect(parseTheme(null)).toBeNull();
    expect(parseTheme({ theme: { name: '', color: 'red' } })).toEqual({ ...DEFAULT_THEME });
  });

  it('writes white on dark colours and black on light ones', () => {
    expect(textOn('#0b3d91')).toBe('#fff');
    expect(textOn('#a61e4d')).toBe('#fff');
    expect(textOn('#ffd400')).toBe('#000');
    expect(textOn('#ffffff')).toBe('#000');
  });

  it('titles the window with the municipality when there is one', () => {
    expect(titleOf({ ...DEFAULT_THEME })).toBe('Wijklog');
    expect(titleOf({ ...DEFAULT_THEME, municipality: 'Gemeente Eemdal' })).toBe('Wijklog — Gemeente Eemdal');
  });
});
