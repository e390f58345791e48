// REST calls of the coordinator area (docs/api.md, "Review"), through the
// app's one REST client (net/api.ts: token, one retry after a 401, one
// ApiError with the server's stable `code`).

import { app } from '../../app';

export { ApiError } from '../../net/api';
import type { Row } from '../../model/doc';

/** A list row: the projection row without `resident`, plus whether it has contact details. */
export type ApiItem = Row & { has_resident_contact?: boolean };

export interface ItemPage {
  items: ApiItem[];
  next_cursor: string | null;
}

export interface Trend {
  current: number;
  previous: number;
}

export interface Stats {
  from: number;
  to: number;
  previous_from: number;
  problems: Trend;
  positive: Trend;
  by_wijk: Record<string, Trend>;
  by_category: Record<string, Trend>;
  by_severity: Record<string, Trend>;
  positive_by_wijk: Record<string, Trend>;
  /** Open and late call backs and feedback now (not bound to the period). */
  work_list?: WorkCounts;
  /** Length of one step of `series` (ms). */
  step_ms?: number;
  /** The period in steps from `from`, each beside the same step of the previous period. */
  series?: { start: number; problems: Trend; positive: Trend }[];
}

export interface WalkContext {
  title?: string;
  wijk?: string;
  team?: string;
  route?: string;
  planned_at?: number | null;
  started_at?: number | null;
  ended_at?: number | null;
  participants?: { name: string; organisation: string }[];
  observation_count?: number;
  location?: string;
  held_on?: number | null;
  staff?: { name: string }[];
  note_count?: number;
}

export interface ItemDetail {
  item: Row;
  context: WalkContext;
}

export interface HistoryEntry {
  hash: string;
  user_id: string | null;
  user_name: string | null;
  received_at: number | null;
  time: number | null;
  message: string | null;
  created: boolean;
  fields: string[];
}

export interface History {
  doc_id: string;
  item_id: string;
  entries: HistoryEntry[];
}

export interface FeedbackOpen {
  items: { kind: string; age_days: number; item: ApiItem }[];
}

/** One entry of the work list (GET /api/v1/callbacks). */
export interface WorkItem {
  task: 'callback' | 'feedback';
  kind: 'walk' | 'spreekuur';
  due_at: number | null;
  overdue: boolean;
  assignee: string | null;
  item: ApiItem;
  /** The resident's contact with links (call backs with contact details; the read is audited). */
  contact?: { name: string | null; phone: string | null; email: string | null; tel: string | null; mailto: string | null };
}

export interface WorkList {
  now: number;
  items: WorkItem[];
}

export interface WorkCounts {
  callbacks_open: number;
  callbacks_overdue: number;
  feedback_open: number;
  feedback_overdue: number;
}

/** A GET through the app's one REST client (net/api.ts): the parsed JSON body. */
export function getJson<T>(path: string): Promise<T> {
  return app.api.json<T>('GET', path);
}

export function listItems(params: URLSearchParams, cursor: string | null, limit = 50): Promise<ItemPage> {
  const p = new URLSearchParams(params);
  p.set('limit', String(limit));
  if (cursor) p.set('cursor', cursor);
  return getJson<ItemPage>(`/api/v1/items?${p}`);
}

/** The overview's counts; `series` limits only the counts over time to one wijk and/or category. */
export function getStats(from: number, to: number, series: { wijk?: string; category?: string } = {}): Promise<Stats> {
  const p = new URLSearchParams({ from: String(from), to: String(to) });
  if (series.wijk) p.set('series_wijk', series.wijk);
  if (series.category) p.set('series_category', series.category);
  return getJson<Stats>(`/api/v1/stats?${p}`);
}

export function getItem(doc: string, id: string): Promise<ItemDetail> {
  return getJson<ItemDetail>(`/api/v1/items/${encodeURIComponent(doc)}/${encodeURIComponent(id)}`);
}

export function getHistory(doc: string, id: string): Promise<History> {
  return getJson<History>(`/api/v1/items/${encodeURIComponent(doc)}/${encodeURIComponent(id)}/history`);
}

export interface Person {
  id: string;
  name: string;
  team: string | null;
}

/** Display name and team of every account (coordinators only). */
export function getPeople(): Promise<{ people: Person[] }> {
  return getJson<{ people: Person[] }>('/api/v1/people');
}

/** An account change by an admin that can open content (GET /api/v1/access-changes). */
export interface AccessChange {
  at: number;
  action: 'admin.user.create' | 'admin.user.update' | 'admin.user.password';
  actor: { id: string; name: string | null } | null;
  subject: { id: string; name: string | null } | null;
  roles?: string[] | null;
  team?: string | null;
}

/** Accounts created, roles or team changed and passwords reset by admins, newest first (coordinators only). */
export function getAccessChanges(limit = 20): Promise<{ changes: AccessChange[] }> {
  return getJson<{ changes: AccessChange[] }>(`/api/v1/access-changes?limit=${limit}`);
}

/** Call backs and feedback due, due date first (the work list). */
export function getWorkList(params: URLSearchParams, limit = 500): Promise<WorkList> {
  const p = new URLSearchParams(params);
  p.set('limit', String(limit));
  return getJson<WorkList>(`/api/v1/callbacks?${p}`);
}

export function getFeedbackOpen(limit = 1000): Promise<FeedbackOpen> {
  return getJson<FeedbackOpen>(`/api/v1/feedback/open?limit=${limit}`);
}

/** The export formats: a workbook and a `;` CSV for people, CSV and GeoJSON for machines. */
export type ExportKind = 'xlsx' | 'excel-csv' | 'csv' | 'geojson';

/** Download an export of the filtered list as a file (named by the server, with the date). */
export async function downloadExport(kind: ExportKind, params: URLSearchParams): Promise<number> {
  const q = new URLSearchParams(params);
  if (kind === 'excel-csv') q.set('dialect', 'excel');
  const ext = kind === 'excel-csv' ? 'csv' : kind;
  return download(`/api/v1/export.${ext}?${q}`, `wijklog-export.${ext}`);
}

/**
 * The call-back list (GET /api/v1/export/callbacks.csv): the work list's
 * filters (`assignee`, `wijk`, `overdue`), a reason (required: name and phone
 * are personal data; the server audits the export), `;` CSV for Excel or RFC 4180.
 */
export async function downloadCallbacks(params: URLSearchParams, reason: string, excel: boolean): Promise<number> {
  const q = new URLSearchParams(params);
  q.delete('task');
  q.set('reason', reason);
  if (excel) q.set('dialect', 'excel');
  return download(`/api/v1/export/callbacks.csv?${q}`, 'wijklog-terugbellen.csv');
}

/** Fetches `path` and saves it under the server's file name (or `fallback`); the size in bytes. */
async function download(path: string, fallback: string): Promise<number> {
  const res = await app.api.fetch(path);
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const name = m?.[1] ?? fallback;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}
