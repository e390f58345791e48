import { describe, expect, it } from 'vitest';
import type { ListedDoc } from '../../net/documents';
import { addPlannedPage, fromListed, mergePlanned, type Planned } from './planned';

function listed(id: string, planned_at: number | null, over: Partial<ListedDoc> = {}): ListedDoc {
  return {
    id,
    kind: 'walk',
    team: 'team-oost',
    created_at: 1,
    mine: false,
    planned_at,
    started: false,
    running: false,
    context: { kind: 'walk', title: `Ronde ${id}`, wijk: 'centrum', team: 'team-oost', planned_at, started_at: null, ended_at: null, participants: [{ name: 'Bo', organisation: '' }], observation_count: 0 },
    ...over,
  };
}

function local(id: string, when: number, pending = 0): Planned {
  return { id, kind: 'spreekuur', title: `Buurthuis ${id}`, wijk: 'centrum', team: 'team-oost', when, participants: 0, pending };
}

describe('the planning list', () => {
  it('reads a planned entry from the server list: title, team, time, participant count', () => {
    expect(fromListed(listed('a', 500))).toEqual({ id: 'a', kind: 'walk', title: 'Ronde a', wijk: 'centrum', team: 'team-oost', when: 500, participants: 1, pending: 0 });
    const session = listed('s', 700, { kind: 'spreekuur', context: { kind: 'spreekuur', location: 'Buurthuis', wijk: 'noord', team: 'team-noord', held_on: 700, staff: [{ name: 'A' }, { name: 'B' }], note_count: 0 } });
    expect(fromListed(session)).toMatchObject({ kind: 'spreekuur', title: 'Buurthuis', team: 'team-noord', when: 700, participants: 2 });
    expect(fromListed(listed('r', 500, { started: true }))).toBeNull();
    expect(fromListed(listed('n', null, { context: null }))).toBeNull();
  });

  it('a session planned on this device and not sent yet is listed; the server does not list it twice', () => {
    const unsent = local('mine', 300, 2);
    const remote = [fromListed(listed('mine', 300))!, fromListed(listed('other', 200))!];
    const out = mergePlanned([unsent], remote, new Set(['mine']));
    expect(out.map((p) => [p.id, p.pending])).toEqual([
      ['other', 0],
      ['mine', 2],
    ]);
  });

  it('a document on this device that is no longer planned (started here, not sent) is not listed from the server', () => {
    const out = mergePlanned([], [fromListed(listed('started-here', 300))!], new Set(['started-here']));
    expect(out).toEqual([]);
  });

  it('pages: the next page starts at the last time read, repeats are dropped, a short page is the last', () => {
    let pages = addPlannedPage({ docs: [], nextFrom: null }, [listed('a', 100), listed('b', 200)], 0, 2);
    expect(pages.nextFrom).toBe(200);
    pages = addPlannedPage(pages, [listed('b', 200), listed('c', 300)], 200, 2);
    expect(pages.docs.map((d) => d.id)).toEqual(['a', 'b', 'c']);
    expect(pages.nextFrom).toBe(300);
    pages = addPlannedPage(pages, [listed('c', 300)], 300, 2);
    expect(pages.nextFrom).toBeNull();
  });

  it('pages: a full page that does not move on (all at one moment) ends the list instead of asking forever', () => {
    const pages = addPlannedPage({ docs: [listed('a', 100)], nextFrom: 100 }, [listed('a', 100), listed('b', 100)], 100, 2);
    expect(pages.docs.map((d) => d.id)).toEqual(['a', 'b']);
    expect(pages.nextFrom).toBeNull();
  });
});
