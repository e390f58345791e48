import { afterEach, describe, expect, it } from 'vitest';
import { setLang } from '../../i18n';
import { fieldWords } from './historyWords';

const partners: Record<string, string> = { politie: 'Politie (wijkagent)' };
const label = (id: string) => partners[id] ?? id;

afterEach(() => setLang('nl'));

describe('history fields in words', () => {
  it('names a follow-up by its partner and groups its sub-fields', () => {
    setLang('nl');
    expect(fieldWords(['follow_up', 'follow_up.politie', 'follow_up.politie.note', 'follow_up.politie.status', 'follow_up.politie.updated_at'], label)).toEqual(['opvolging Politie (wijkagent)']);
  });

  it('groups a location and feedback, keeps the order, drops the author and time of creation', () => {
    setLang('nl');
    expect(fieldWords(['created_at', 'created_by', 'text', 'location', 'location.lat', 'location.lon', 'feedback.needed', 'photos'], label)).toEqual(['tekst', 'locatie', 'terugkoppeling', "foto's"]);
  });

  it('shows an unknown path as it is, and a partner the catalog does not know by its id', () => {
    setLang('nl');
    expect(fieldWords(['erased.item', 'follow_up.woco.status'], label)).toEqual(['erased.item', 'opvolging woco']);
  });

  it('speaks English in English mode', () => {
    setLang('en');
    expect(fieldWords(['severity', 'follow_up.politie.status', 'resident.phone'], label)).toEqual(['severity', 'follow-up Politie (wijkagent)', 'resident contact details']);
  });
});
