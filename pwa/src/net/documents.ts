// Walks and spreekuur sessions this device does not hold, read from
// GET /api/v1/documents (docs/api.md). Under the sync scope
// (docs/sync-protocol.md §2) a phone holds its own recent documents and its
// team's planned ones, a coordinator's laptop nothing but what it opened: the
// home screen's older documents ("meer laden") and colleagues' running walks
// ("meedoen"), and the planning screen's list, come from here and are merged
// with what the device holds (which may include work not sent yet).

import type { Api } from './api';

export type DocListKind = 'walk' | 'spreekuur';
export type DocListState = 'planned' | 'running' | 'past';

/** The context the server reads from the document (`null`: it does not load). */
export interface DocContext {
  kind?: DocListKind;
  title?: string;
  wijk?: string;
  team?: string;
  route?: string;
  planned_at?: number | null;
  started_at?: number | null;
  ended_at?: number | null;
  participants?: { name: string | null; organisation: string | null }[];
  observation_count?: number;
  location?: string;
  held_on?: number | null;
  staff?: { name: string | null }[];
  note_count?: number;
}

/** One listed document. */
export interface ListedDoc {
  id: string;
  kind: DocListKind;
  team: string | null;
  created_at: number;
  /** The caller created it, wrote to it or staffs it. */
  mine: boolean;
  /** A walk's planned time, a session's day (ms). */
  planned_at: number | null;
  started: boolean;
  running: boolean;
  context: DocContext | null;
}

export interface DocPage {
  documents: ListedDoc[];
  /** `state=past`: where the next page starts (`null`: no more). */
  next_before: string | null;
}

export interface DocQuery {
  kind: DocListKind;
  state: DocListState;
  /** `planned`: from this time on (ms). */
  from?: number;
  /** `past`: the `next_before` of the previous page. */
  before?: string | null;
  /** Coordinators: one team's only. */
  team?: string;
  mine?: boolean;
  /** 1-50 (the server's bound). */
  limit?: number;
}

/** The query string of a request (only the parameters that are set). */
export function docQueryString(q: DocQuery): string {
  const p = new URLSearchParams();
  p.set('kind', q.kind);
  p.set('state', q.state);
  if (q.from !== undefined) p.set('from', String(Math.floor(q.from)));
  if (q.before) p.set('before', q.before);
  if (q.team) p.set('team', q.team);
  if (q.mine !== undefined) p.set('mine', String(q.mine));
  if (q.limit !== undefined) p.set('limit', String(Math.max(1, Math.min(50, Math.floor(q.limit)))));
  return p.toString();
}

/** One page of GET /api/v1/documents (rejects with the ApiError of net/api.ts). */
export function listDocuments(api: Api, q: DocQuery): Promise<DocPage> {
  return api.json<DocPage>('GET', `/api/v1/documents?${docQueryString(q)}`);
}

/** Title of a listed document: a walk's title, a session's location. */
export function listedTitle(d: ListedDoc): string {
  return (d.kind === 'walk' ? d.context?.title : d.context?.location) ?? '';
}

/** When a listed document happens: a walk's start, else its plan; a session's day. */
export function listedWhen(d: ListedDoc): number | null {
  if (d.kind === 'walk') return d.context?.started_at ?? d.context?.planned_at ?? d.planned_at;
  return d.context?.held_on ?? d.planned_at;
}

/** Observations or notes of a listed document (as the server counted them). */
export function listedCount(d: ListedDoc): number {
  return (d.kind === 'walk' ? d.context?.observation_count : d.context?.note_count) ?? 0;
}

/**
 * Append a further page to what is shown: documents already shown (or held
 * on the device, `held`) are not listed twice; the order of the pages stays.
 */
export function appendPage(shown: ListedDoc[], page: ListedDoc[], held: ReadonlySet<string> = new Set()): ListedDoc[] {
  const seen = new Set(shown.map((d) => d.id));
  const out = [...shown];
  for (const d of page) {
    if (seen.has(d.id) || held.has(d.id)) continue;
    seen.add(d.id);
    out.push(d);
  }
  return out;
}
