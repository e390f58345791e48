// The line an erased item shows in place of its values, in both languages,
// and which erasure covers the contact details.

import { afterEach, describe, expect, it } from 'vitest';
import { setLang } from '../i18n';
import { contactErasure, erasedText, itemErasure } from './erased';

afterEach(() => setLang('nl'));

// 7 December 2026, 12:00 UTC: the same day in every time zone from -11 to +11.
const AT = Date.UTC(2026, 11, 7, 12);

describe('erasedText', () => {
  it('Dutch: the date and the basis', () => {
    setLang('nl');
    expect(erasedText({ at: AT, by: 'c', basis: 'verzoek' }, 'item')).toBe('Gegevens gewist op 7 december 2026 (verzoek)');
    expect(erasedText({ at: AT, by: 'c', basis: 'bewaartermijn' }, 'contact')).toBe('Contactgegevens gewist op 7 december 2026 (bewaartermijn)');
    expect(erasedText({ at: AT, by: 'c', basis: 'anders' }, 'item')).toBe('Gegevens gewist op 7 december 2026 (andere reden)');
  });

  it('English', () => {
    setLang('en');
    expect(erasedText({ at: AT, by: 'c', basis: 'verzoek' }, 'item')).toBe('Data erased on 7 December 2026 (on request)');
    expect(erasedText({ at: AT, by: 'c', basis: 'bewaartermijn' }, 'contact')).toBe('Contact details erased on 7 December 2026 (retention period)');
    expect(erasedText({ at: AT, by: 'c', basis: 'anders' }, 'contact')).toBe('Contact details erased on 7 December 2026 (other reason)');
  });

  it('a record without a date or with a basis the app does not know still reads', () => {
    expect(erasedText({ at: null, by: null, basis: 'iets' }, 'item')).toBe('Gegevens gewist op – (iets)');
  });
});

describe('which erasure covers what', () => {
  const e = { at: AT, by: 'c', basis: 'verzoek' };
  it('the whole item covers its contact details too; a contact erasure does not cover the item', () => {
    expect(contactErasure({ erased: { item: e } })).toBe(e);
    expect(itemErasure({ erased: { contact: e } })).toBeNull();
    expect(contactErasure({ erased: { contact: e } })).toBe(e);
    expect(contactErasure({})).toBeNull();
    expect(itemErasure(null)).toBeNull();
  });
});
