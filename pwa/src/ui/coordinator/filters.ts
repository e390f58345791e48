// The coordinator's list filters: one value type, read from and written to
// the URL hash (so a view can be shared and survives a reload), and turned
// into the query string of GET /api/v1/items and the exports (docs/api.md).
//
// In the hash, dates are calendar days (yyyy-mm-dd, inclusive on both ends);
// the API gets milliseconds: `from` = local midnight of the first day, `to` =
// local midnight of the day after the last day (the API's `to` is exclusive).

export const SEVERITIES = ['informatief', 'aandacht', 'zorgelijk', 'urgent'] as const;
export const STATUSES = ['open', 'in_behandeling', 'afgerond'] as const;
export const CHANNELS = ['telefoon', 'e-mail', 'persoonlijk', 'brief'] as const;
export type Status = (typeof STATUSES)[number];
export type Channel = (typeof CHANNELS)[number];

export interface Filters {
  wijk: string[];
  category: string[];
  severity: string[];
  team: string[];
  author: string[];
  status: string[];
  partner: string[];
  /** '' = any, 'true' = feedback needed and not given, 'false' = every other item. */
  feedback: '' | 'true' | 'false';
  kind: '' | 'walk' | 'spreekuur';
  /** yyyy-mm-dd or ''. */
  from: string;
  /** yyyy-mm-dd (inclusive) or ''. */
  to: string;
  q: string;
  sort: 'created_at' | 'severity';
  /** Rows per page of the list (1-500; the API's `limit`); not a filter. */
  n: number;
}

export const DEFAULT_PAGE = 50;

const LISTS = ['wijk', 'category', 'severity', 'team', 'author', 'status', 'partner'] as const;
type ListKey = (typeof LISTS)[number];

export function emptyFilters(): Filters {
  return { wijk: [], category: [], severity: [], team: [], author: [], status: [], partner: [], feedback: '', kind: '', from: '', to: '', q: '', sort: 'created_at', n: DEFAULT_PAGE };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function splitList(v: string | null): string[] {
  if (!v) return [];
  return [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** Filters from a query string (the part of the hash after '?'); unknown or malformed values are dropped. */
export function parseFilters(qs: string): Filters {
  const p = new URLSearchParams(qs.replace(/^\?/, ''));
  const f = emptyFilters();
  for (const k of LISTS) f[k] = splitList(p.get(k));
  f.severity = f.severity.filter((s) => (SEVERITIES as readonly string[]).includes(s));
  f.status = f.status.filter((s) => (STATUSES as readonly string[]).includes(s));
  const fb = p.get('feedback');
  f.feedback = fb === 'true' || fb === 'false' ? fb : '';
  const kind = p.get('kind');
  f.kind = kind === 'walk' || kind === 'spreekuur' ? kind : '';
  const from = p.get('from') ?? '';
  const to = p.get('to') ?? '';
  f.from = DAY.test(from) ? from : '';
  f.to = DAY.test(to) ? to : '';
  f.q = (p.get('q') ?? '').slice(0, 500);
  f.sort = p.get('sort') === 'severity' ? 'severity' : 'created_at';
  const n = Number(p.get('n'));
  f.n = Number.isInteger(n) && n >= 1 && n <= 500 ? n : DEFAULT_PAGE;
  return f;
}

/** The query string for the hash ('' when no filter is set); stable key order. */
export function filtersToQuery(f: Filters): string {
  const p = new URLSearchParams();
  for (const k of LISTS) if (f[k].length) p.set(k, f[k].join(','));
  if (f.feedback) p.set('feedback', f.feedback);
  if (f.kind) p.set('kind', f.kind);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.sort !== 'created_at') p.set('sort', f.sort);
  if (f.n !== DEFAULT_PAGE) p.set('n', String(f.n));
  // Commas are fine in a URL fragment and keep a shared link readable.
  return p.toString().replace(/%2C/gi, ',');
}

/** Local midnight of a yyyy-mm-dd day, in ms since the epoch. */
export function dayStart(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d).getTime();
}

/** The yyyy-mm-dd of a moment, in local time. */
export function dayOf(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The day after a yyyy-mm-dd day, as yyyy-mm-dd (handles month ends and DST). */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return dayOf(new Date(y, m - 1, d + 1).getTime());
}

/** Query parameters of the review API for these filters (list and exports). `sort` only when asked. */
export function filtersToApi(f: Filters, { sort = true }: { sort?: boolean } = {}): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of LISTS) if (f[k].length) p.set(k satisfies ListKey, f[k].join(','));
  if (f.feedback) p.set('feedback_outstanding', f.feedback);
  if (f.kind) p.set('kind', f.kind);
  if (f.from) p.set('from', String(dayStart(f.from)));
  if (f.to) p.set('to', String(dayStart(nextDay(f.to))));
  if (f.q.trim()) p.set('q', f.q.trim());
  if (sort && f.sort !== 'created_at') p.set('sort', f.sort);
  return p;
}

/** The query part of a location hash like '#/coord/list?wijk=a'. */
export function hashQuery(hash: string): string {
  const i = hash.indexOf('?');
  return i < 0 ? '' : hash.slice(i + 1);
}

/** How many filters are set (for the "n filters" hint). */
export function activeCount(f: Filters): number {
  let n = 0;
  for (const k of LISTS) if (f[k].length) n++;
  for (const v of [f.feedback, f.kind, f.from, f.to, f.q.trim()]) if (v) n++;
  return n;
}
