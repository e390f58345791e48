import { describe, expect, it } from 'vitest';
import { concat, minimalSplice } from './text';

function apply(prev: string, s: { pos: number; del: number; insert: string } | null): string {
  if (!s) return prev;
  return prev.slice(0, s.pos) + s.insert + prev.slice(s.pos + s.del);
}

describe('minimalSplice', () => {
  it('touches only the changed span, so concurrent edits elsewhere survive', () => {
    expect(minimalSplice('kapotte lantaarn', 'kapotte lantaarnpaal')).toEqual({ pos: 16, del: 0, insert: 'paal' });
    expect(minimalSplice('groep jongeren bij de Roef', 'groep van tien jongeren bij de Roef')).toEqual({ pos: 6, del: 0, insert: 'van tien ' });
    expect(minimalSplice('abc', 'abc')).toBeNull();
    expect(minimalSplice('abcdef', 'abXYef')).toEqual({ pos: 2, del: 2, insert: 'XY' });
  });

  it('round-trips arbitrary edits, including emoji (never splitting a surrogate pair)', () => {
    const cases: [string, string][] = [
      ['', 'nieuw'],
      ['weg', ''],
      ['a😀b', 'a😁b'],
      ['😀', '😀😀'],
      ['x😀', 'x'],
      ['aaaa', 'aa'],
    ];
    for (const [a, b] of cases) {
      const s = minimalSplice(a, b);
      expect(apply(a, s)).toBe(b);
      if (s) {
        const before = a.charCodeAt(s.pos - 1);
        expect(before >= 0xd800 && before <= 0xdbff).toBe(false);
      }
    }
  });
});

describe('concat', () => {
  it('joins byte arrays in order', () => {
    expect(Array.from(concat([new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])]))).toEqual([1, 2, 3]);
  });
});
