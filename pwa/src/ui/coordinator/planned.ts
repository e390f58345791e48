// The planning screen's list of what is planned: walks and sessions on this
// device (perhaps not sent yet) merged with the server's list
// (GET /api/v1/documents?state=planned), read a page per kind at a time.

import type { ListedDoc } from '../../net/documents';

export type Kind = 'walk' | 'spreekuur';

export interface Planned {
  id: string;
  kind: Kind;
  title: string;
  wijk: string;
  team: string;
  when: number;
  /** Participants (walk) or staff (session). */
  participants: number;
  /** Changes of it on this device that the server has not confirmed (0 for the server's entries). */
  pending: number;
}

/** A planned entry from the server's list; null for one that is not planned (no date, started). */
export function fromListed(d: ListedDoc): Planned | null {
  const c = d.context;
  if (d.started || d.running) return null;
  const when = d.kind === 'walk' ? (c?.planned_at ?? d.planned_at) : (c?.held_on ?? d.planned_at);
  if (when === null || when === undefined) return null;
  return {
    id: d.id,
    kind: d.kind,
    title: (d.kind === 'walk' ? c?.title : c?.location) ?? '',
    wijk: c?.wijk ?? '',
    team: c?.team ?? d.team ?? '',
    when,
    participants: (d.kind === 'walk' ? c?.participants?.length : c?.staff?.length) ?? 0,
    pending: 0,
  };
}

/**
 * What the screen lists: every planned document on this device (`local`;
 * its copy is newer than the server's when it has unsent changes) and the
 * server's entries for documents this device does not hold (`held`: every
 * document on the device, planned or not, so that one started here but not
 * sent yet is not listed as planned from the server's older answer). Soonest
 * first; ties by id.
 */
export function mergePlanned(local: Planned[], remote: Planned[], held: ReadonlySet<string>): Planned[] {
  const out = [...local];
  const seen = new Set(local.map((p) => p.id));
  for (const p of remote) {
    if (held.has(p.id) || seen.has(p.id)) continue;
    seen.add(p.id);
    out.push(p);
  }
  return out.sort((a, b) => a.when - b.when || a.id.localeCompare(b.id));
}

/** Where a kind's list stands: the entries read so far, and where the next page starts (null: no more). */
export interface PlannedPages {
  docs: ListedDoc[];
  nextFrom: number | null;
}

/**
 * Add a page of `state=planned` (soonest first, `limit` asked, read from
 * `from`) to `pages`: the next page starts at the last entry's planned time
 * (entries at that very time come again and are not listed twice). A page
 * shorter than `limit` is the last; so is a full page that ends where it
 * started (more than `limit` documents planned at one moment).
 */
export function addPlannedPage(pages: PlannedPages, page: ListedDoc[], from: number, limit: number): PlannedPages {
  const ids = new Set(pages.docs.map((d) => d.id));
  const docs = [...pages.docs, ...page.filter((d) => !ids.has(d.id))];
  const last = page.length > 0 ? page[page.length - 1].planned_at : null;
  const nextFrom = page.length >= limit && last !== null && last > from ? last : null;
  return { docs, nextFrom };
}
