import { describe, expect, it } from 'vitest';
import { activeCount, dayStart, emptyFilters, filtersToApi, filtersToQuery, hashQuery, nextDay, parseFilters } from './filters';
import { compareItems, mergeFresh, newUrgent, urgentNews, type UrgentWatch } from './live';
import type { Row, Severity } from '../../model/doc';

describe('filters in the hash', () => {
  it('round-trips every filter through the query string', () => {
    const f = {
      ...emptyFilters(),
      wijk: ['oostermeent', 'centrum'],
      category: ['verkeer'],
      severity: ['urgent', 'zorgelijk'],
      team: ['team-oost'],
      author: ['u1'],
      status: ['open'],
      partner: ['politie'],
      feedback: 'true' as const,
      kind: 'walk' as const,
      from: '2026-11-01',
      to: '2026-11-30',
      q: 'fiets café',
      sort: 'severity' as const,
      n: 25,
    };
    expect(parseFilters(filtersToQuery(f))).toEqual(f);
  });

  it('drops unknown and malformed values instead of widening or breaking the query', () => {
    const f = parseFilters('severity=urgent,heel_erg&status=weg&feedback=misschien&kind=boot&from=gisteren&to=2026-13&sort=random&n=5000');
    expect(f).toEqual({ ...emptyFilters(), severity: ['urgent'] });
  });

  it('keeps commas readable and still reads a comma inside the search text back', () => {
    const q = filtersToQuery({ ...emptyFilters(), category: ['verkeer', 'drugs'], q: 'fiets, brommer' });
    expect(q).toBe('category=verkeer,drugs&q=fiets,+brommer');
    expect(parseFilters(q).q).toBe('fiets, brommer');
    expect(parseFilters(q).category).toEqual(['verkeer', 'drugs']);
  });

  it('writes nothing for empty filters and counts the set ones', () => {
    expect(filtersToQuery(emptyFilters())).toBe('');
    expect(activeCount(emptyFilters())).toBe(0);
    expect(activeCount(parseFilters('wijk=a,b&q=x&kind=walk'))).toBe(3);
  });

  it('reads the query part of a hash', () => {
    expect(hashQuery('#/coord/list?wijk=a&q=b')).toBe('wijk=a&q=b');
    expect(hashQuery('#/coord/list')).toBe('');
  });
});

describe('filters for the API', () => {
  it('maps names and makes the inclusive end day exclusive at the next local midnight', () => {
    const p = filtersToApi(parseFilters('feedback=true&from=2026-11-01&to=2026-11-30&category=verkeer,drugs&sort=severity'));
    expect(p.get('feedback_outstanding')).toBe('true');
    expect(p.get('category')).toBe('verkeer,drugs');
    expect(p.get('from')).toBe(String(new Date(2026, 10, 1).getTime()));
    expect(p.get('to')).toBe(String(new Date(2026, 11, 1).getTime()));
    expect(p.get('sort')).toBe('severity');
    expect(p.has('feedback')).toBe(false);
    expect(filtersToApi(parseFilters('n=20')).toString()).toBe('');
    expect(filtersToApi(parseFilters('sort=severity'), { sort: false }).has('sort')).toBe(false);
  });

  it('steps over month and year ends', () => {
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
    expect(nextDay('2028-02-28')).toBe('2028-02-29');
    expect(dayStart('2026-03-29')).toBe(new Date(2026, 2, 29).getTime());
  });
});

function row(doc: string, item: string, created_at: number, severity: Severity = 'aandacht', deleted = false): Row {
  return {
    doc_id: doc, doc_kind: 'walk', item_id: item, wijk: null, team: null, doc_title: null, created_at, created_by: null,
    category: 'verkeer', severity, text: item, place: null, location: null, address: null, photos: [], follow_up: {},
    feedback: { needed: null, given_at: null, channel: null, by: null },
    deleted: deleted ? { at: 1, by: null } : null, resident: null, callback: null, invalid: {},
  };
}

describe('live list merge', () => {
  it('adds new rows on top, replaces changed ones and keeps rows of later pages', () => {
    const current = [row('d', 'b', 300), row('d', 'a', 200), row('d', 'old', 100)];
    const changed = { ...row('d', 'b', 300), text: 'edited' };
    const { rows, added } = mergeFresh(current, [row('d', 'new', 400), changed, row('d', 'a', 200)], 'created_at');
    expect(rows.map((r) => r.item_id)).toEqual(['new', 'b', 'a', 'old']);
    expect(rows[1].text).toBe('edited');
    expect(added).toEqual(['d/new']);
  });

  it('orders by severity first when sorted by severity', () => {
    const rows = [row('d', 'x', 500, 'informatief'), row('d', 'y', 100, 'urgent'), row('d', 'z', 300, 'urgent')].sort(compareItems('severity'));
    expect(rows.map((r) => r.item_id)).toEqual(['z', 'y', 'x']);
  });
});

describe('urgent announcements', () => {
  it('announces only unseen, recent, undeleted urgent items', () => {
    const now = 1_000_000;
    const rows = [
      row('d', 'seen', now, 'urgent'),
      row('d', 'new', now - 10, 'urgent'),
      row('d', 'old', now - 2_000, 'urgent'),
      row('d', 'gone', now, 'urgent', true),
      row('d', 'mild', now, 'zorgelijk'),
    ];
    expect(newUrgent(rows, new Set(['d/seen']), now, 1_000).map((r) => r.item_id)).toEqual(['new']);
  });
});

describe('urgent announcements from the server list', () => {
  const opened = 1_000_000;
  const day = 86_400_000;

  it('first read: what was there when the area opened is seen, only what came after is news', () => {
    const w: UrgentWatch = { seen: new Set(), baselined: false, openedAt: opened };
    const first = urgentNews(w, [row('d', 'before', opened - 5_000, 'urgent'), row('d', 'after', opened + 200, 'urgent')], opened + 500, day);
    expect(first.map((r) => r.item_id)).toEqual(['after']);
    expect([...w.seen].sort()).toEqual(['d/after', 'd/before']);
    // Read again: nothing is announced twice.
    expect(urgentNews(w, [row('d', 'before', opened - 5_000, 'urgent'), row('d', 'after', opened + 200, 'urgent')], opened + 30_000, day)).toEqual([]);
  });

  it('later reads: a new urgent item is news once; one that comes in days late is not', () => {
    const w: UrgentWatch = { seen: new Set(), baselined: false, openedAt: opened };
    expect(urgentNews(w, [], opened + 100, day)).toEqual([]);
    const now = opened + 60_000;
    // Created before the area opened, but it reached the server only now: within a day, so news.
    const late = row('e', 'late', opened - 3_600_000, 'urgent');
    const stale = row('e', 'stale', now - 2 * day, 'urgent');
    const news = urgentNews(w, [row('e', 'fresh', now - 1_000, 'urgent'), late, stale, row('e', 'mild', now, 'zorgelijk')], now, day);
    expect(news.map((r) => r.item_id)).toEqual(['fresh', 'late']);
    expect(urgentNews(w, [row('e', 'fresh', now - 1_000, 'urgent'), late], now + 20_000, day)).toEqual([]);
  });
});
