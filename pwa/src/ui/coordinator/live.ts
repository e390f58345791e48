// Pure helpers for the live parts of the coordinator area: merging a freshly
// fetched first page into an open list, and picking the urgent items that
// arrived while a coordinator view was open.

import type { Row } from '../../model/doc';

export const itemKey = (r: { doc_id: string; item_id: string }): string => `${r.doc_id}/${r.item_id}`;

const SEV_RANK: Record<string, number> = { urgent: 4, zorgelijk: 3, aandacht: 2, informatief: 1 };

/** The list order of the API: newest first, or (sort=severity) most severe first, then newest; ties by doc, item. */
export function compareItems(sort: 'created_at' | 'severity') {
  return (a: Row, b: Row): number => {
    if (sort === 'severity') {
      const s = (SEV_RANK[b.severity ?? ''] ?? 0) - (SEV_RANK[a.severity ?? ''] ?? 0);
      if (s) return s;
    }
    return (b.created_at ?? 0) - (a.created_at ?? 0) || b.doc_id.localeCompare(a.doc_id) || b.item_id.localeCompare(a.item_id);
  };
}

/**
 * Merge a fresh first page into the rows on screen: rows in `fresh` replace
 * their old version, rows not seen before are added, nothing already shown is
 * dropped (a later page stays loaded), and the result is in list order.
 * Returns the merged rows and the keys that are new.
 */
export function mergeFresh<T extends Row>(current: T[], fresh: T[], sort: 'created_at' | 'severity'): { rows: T[]; added: string[] } {
  const byKey = new Map(current.map((r) => [itemKey(r), r] as const));
  const added: string[] = [];
  for (const r of fresh) {
    const k = itemKey(r);
    if (!byKey.has(k)) added.push(k);
    byKey.set(k, r);
  }
  return { rows: [...byKey.values()].sort(compareItems(sort)), added };
}

/**
 * Urgent items among `rows` that are not in `seen` and were created at most
 * `maxAgeMs` before `now` (so that a first sync of old history is not
 * announced as news). Deleted items never count.
 */
export function newUrgent(rows: Row[], seen: Set<string>, now: number, maxAgeMs: number): Row[] {
  return rows.filter((r) => r.severity === 'urgent' && !r.deleted && !seen.has(itemKey(r)) && (r.created_at ?? 0) >= now - maxAgeMs);
}

/** What the urgent announcer knows: the urgent items seen so far, and whether it has read the server once. */
export interface UrgentWatch {
  seen: Set<string>;
  baselined: boolean;
  /** When the coordinator area opened (ms). */
  openedAt: number;
}

/**
 * The urgent items of a fresh read of the server that are news, marked seen:
 * on the first read those created after the area opened (everything older
 * was there already, and counts as seen); on later reads those not seen
 * before and created at most `maxAgeMs` before `now` (an old item that comes
 * in late, e.g. from a phone that was offline for days, is not news).
 */
export function urgentNews(w: UrgentWatch, rows: Row[], now: number, maxAgeMs: number): Row[] {
  const news = newUrgent(rows, w.seen, now, w.baselined ? maxAgeMs : Math.min(maxAgeMs, Math.max(0, now - w.openedAt)));
  if (!w.baselined) {
    for (const r of rows) if (r.severity === 'urgent') w.seen.add(itemKey(r));
    w.baselined = true;
  }
  for (const r of news) w.seen.add(itemKey(r));
  return news;
}
