// The count+noun helper: Dutch and English plural forms for 0, 1 and 2, the
// literal sentences a user reads (not computed from the tables), and that every
// plural key has both forms in both languages.

import { afterEach, describe, expect, it } from 'vitest';
import { setLang, tn } from './i18n';
import * as coordinatorMsgs from './messages/coordinator';

afterEach(() => setLang('nl'));

describe('tn (Intl.PluralRules)', () => {
  it('Dutch: 0, 1 and 2 observations, notes, changes, filters, photos', () => {
    setLang('nl');
    expect(tn('home.observations', 0)).toBe('0 waarnemingen');
    expect(tn('home.observations', 1)).toBe('1 waarneming');
    expect(tn('home.observations', 2)).toBe('2 waarnemingen');
    expect(tn('home.notes', 0)).toBe('0 notities');
    expect(tn('home.notes', 1)).toBe('1 notitie');
    expect(tn('home.notes', 2)).toBe('2 notities');
    expect(tn('revoked.unsent', 1)).toBe('Let op: 1 wijziging is niet verstuurd en gaat verloren.');
    expect(tn('revoked.unsent', 2)).toBe('Let op: 2 wijzigingen zijn niet verstuurd en gaan verloren.');
    expect(tn('coordinator.f.active', 0)).toBe('0 filters actief');
    expect(tn('coordinator.f.active', 1)).toBe('1 filter actief');
    expect(tn('coordinator.f.active', 2)).toBe('2 filters actief');
    expect(tn('coordinator.report.photos', 1)).toBe('1 foto');
    expect(tn('coordinator.report.photos', 2)).toBe('2 foto’s');
    expect(tn('sync.waiting', 1, { time: '09:15' })).toBe('1 wijziging wacht sinds 09:15');
    expect(tn('sync.waiting', 3, { time: '09:15' })).toBe('3 wijzigingen wachten sinds 09:15');
  });

  it('English: 0, 1 and 2', () => {
    setLang('en');
    expect(tn('home.observations', 0)).toBe('0 observations');
    expect(tn('home.observations', 1)).toBe('1 observation');
    expect(tn('home.observations', 2)).toBe('2 observations');
    expect(tn('home.notes', 1)).toBe('1 note');
    expect(tn('coordinator.f.active', 1)).toBe('1 filter active');
    expect(tn('coordinator.f.active', 0)).toBe('0 filters active');
    expect(tn('photos.waiting', 1)).toBe('1 photo waiting');
    expect(tn('photos.waiting', 2)).toBe('2 photos waiting');
    expect(tn('walk.closing.counts', 1, { urgent: 0, positive: 1, followups: 0 })).toBe(
      '1 observation, 0 urgent and 1 positive. 0 need follow-up.',
    );
  });

  it('every plural key has a one and an other form in both languages', () => {
    for (const table of [coordinatorMsgs.nl, coordinatorMsgs.en]) {
      const keys = Object.keys(table);
      for (const k of keys.filter((k) => k.endsWith('.one'))) expect(keys).toContain(k.replace(/\.one$/, '.other'));
      for (const k of keys.filter((k) => k.endsWith('.other'))) expect(keys).toContain(k.replace(/\.other$/, '.one'));
      expect(keys.filter((k) => k.endsWith('_one'))).toEqual([]);
    }
  });
});
