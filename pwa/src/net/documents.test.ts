import { describe, expect, it } from 'vitest';
import { appendPage, docQueryString, listedCount, listedTitle, listedWhen, type ListedDoc } from './documents';

function doc(id: string, over: Partial<ListedDoc> = {}): ListedDoc {
  return { id, kind: 'walk', team: 't', created_at: 1, mine: false, planned_at: 10, started: true, running: false, context: { title: `W ${id}`, planned_at: 10, started_at: 20, observation_count: 3 }, ...over };
}

describe('GET /api/v1/documents from the app', () => {
  it('writes only the parameters that are set, and keeps limit within 1-50', () => {
    expect(docQueryString({ kind: 'walk', state: 'past' })).toBe('kind=walk&state=past');
    expect(docQueryString({ kind: 'spreekuur', state: 'past', before: '123:abc', limit: 10 })).toBe('kind=spreekuur&state=past&before=123%3Aabc&limit=10');
    expect(docQueryString({ kind: 'walk', state: 'planned', from: 1500.7, team: 'team oost', limit: 500 })).toBe('kind=walk&state=planned&from=1500&team=team+oost&limit=50');
    expect(docQueryString({ kind: 'walk', state: 'running', limit: 0, mine: false })).toBe('kind=walk&state=running&mine=false&limit=1');
  });

  it('reads title, time and count of a walk and of a session', () => {
    expect([listedTitle(doc('a')), listedWhen(doc('a')), listedCount(doc('a'))]).toEqual(['W a', 20, 3]);
    const s = doc('s', { kind: 'spreekuur', context: { location: 'Buurthuis', held_on: 99, note_count: 2 } });
    expect([listedTitle(s), listedWhen(s), listedCount(s)]).toEqual(['Buurthuis', 99, 2]);
    expect([listedTitle(doc('x', { context: null })), listedWhen(doc('x', { context: null })), listedCount(doc('x', { context: null }))]).toEqual(['', 10, 0]);
  });

  it('"meer laden" appends a page without listing a document twice or one on the device', () => {
    const shown = [doc('a'), doc('b')];
    expect(appendPage(shown, [doc('b'), doc('c'), doc('held'), doc('d')], new Set(['held'])).map((d) => d.id)).toEqual(['a', 'b', 'c', 'd']);
  });
});
