import { describe, expect, it } from 'vitest';
import { blocks, looksPersonal } from './berichtText';

describe('wijkbericht text', () => {
  it('makes headings, lists and paragraphs as the server does', () => {
    expect(blocks('Titel\nregel twee\n\nWat zagen we?\n\nDit zagen we:\n- a: 1 keer\n- b: 2 keer\nEinde\r\n\r\n\n\n')).toEqual([
      { kind: 'paragraph', lines: ['Titel', 'regel twee'] },
      { kind: 'heading', text: 'Wat zagen we?' },
      { kind: 'paragraph', lines: ['Dit zagen we:'] },
      { kind: 'list', items: ['a: 1 keer', 'b: 2 keer'] },
      { kind: 'paragraph', lines: ['Einde'] },
    ]);
  });

  it('spots e-mail addresses and phone numbers, not counts and dates', () => {
    for (const yes of ['Mail jan@example.nl voor info', '(piet.de.vries@gemeente.nl)', 'Bel 06-12345678', 'Bel 06 1234 5678.', '+31 6 12 34 56 78', 'tel. 0321-123456']) {
      expect(looksPersonal(yes), yes).toBe(true);
    }
    for (const no of ['Tijdens 2 wandelingen en 1 spreekuur noteerden we 14 punten.', '1 november 2026 tot en met 30 november 2026', 'Postcode 8251 AB, 12 keer', '@gemeente op sociale media', '2026-11-30']) {
      expect(looksPersonal(no), no).toBe(false);
    }
  });
});
