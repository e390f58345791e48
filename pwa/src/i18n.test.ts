// The count+noun helper: Dutch and English plural forms for 0, 1 and 2, the
// literal sentences a user reads (not computed from the tables), and that every
// plural key has both forms in both languages.

import { afterEach, describe, expect, it } from 'vitest';
import { setLang, t, tn } from './i18n';
import { DEFAULT_THEME, loadTheme } from './theme';
import * as deviceMsgs from './messages/device';
import * as mailMsgs from './messages/mail';
import * as remoteMsgs from './messages/remote';
import * as wijkberichtMsgs from './messages/wijkbericht';
import * as adminMsgs from './messages/admin';
import * as callbacksMsgs from './messages/callbacks';
import * as chartsMsgs from './messages/charts';
import * as editsMsgs from './messages/edits';
import * as eraseMsgs from './messages/erase';
import * as photosMsgs from './messages/photos';
import * as residentsMsgs from './messages/residents';
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

  it('a count of mail attempts meets its noun through the plural rules', () => {
    setLang('nl');
    expect(tn('mail.status.failed', 1, { reason: 'time-out' })).toBe('mislukt na 1 poging: time-out');
    expect(tn('mail.status.failed', 3, { reason: 'time-out' })).toBe('mislukt na 3 pogingen: time-out');
    setLang('en');
    expect(tn('mail.status.failed', 1, { reason: 'timeout' })).toBe('failed after 1 try: timeout');
  });
});

describe('the app\'s name in sentences', () => {
  it('is the theme\'s name ({app}); no sentence names "Wijklog" itself', async () => {
    const serve = (name: string) => async () => new Response(JSON.stringify({ theme: { name, color: '#a61e4d' } }), { status: 200 });
    try {
      await loadTheme(serve('Buurtlog'));
      setLang('nl');
      expect(t('app.loading')).toBe('Buurtlog wordt geladen…');
      expect(t('settings.used', { used: '1 MB', quota: '2 GB' })).toBe('Buurtlog gebruikt 1 MB van de 2 GB die de browser toestaat.');
      expect(t('remote.edit_hint')).toMatch(/^Om te bewerken zet Buurtlog /);
      setLang('en');
      expect(t('store.persist_denied')).toBe('The browser may clear Buurtlog’s data when storage runs low.');
      for (const table of [coordinatorMsgs.nl, coordinatorMsgs.en, deviceMsgs.nl, deviceMsgs.en, mailMsgs.nl, mailMsgs.en, remoteMsgs.nl, remoteMsgs.en, wijkberichtMsgs.nl, wijkberichtMsgs.en, adminMsgs.nl, adminMsgs.en, callbacksMsgs.nl, callbacksMsgs.en, chartsMsgs.nl, chartsMsgs.en, editsMsgs.nl, editsMsgs.en, eraseMsgs.nl, eraseMsgs.en, photosMsgs.nl, photosMsgs.en, residentsMsgs.nl, residentsMsgs.en]) {
        for (const [k, v] of Object.entries(table)) expect(v, k).not.toMatch(/Wijklog/);
      }
    } finally {
      await loadTheme(serve(DEFAULT_THEME.name));
    }
  });
});
