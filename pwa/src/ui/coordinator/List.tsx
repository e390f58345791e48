// #/coord/list?<filters>: every observation and note the coordinator may see,
// filtered (GET /api/v1/items), sorted, paged by cursor ("meer laden"), with
// export of the filtered list. Live: the first page is fetched again and
// merged in, so new observations appear without a reload, when the server
// says the lists changed (`lists_changed`), when a document on this device
// changes and every LIVE_POLL_MS while the tab is visible (useLiveRefresh: a
// laptop holds only the documents it opened, so the server's pushes of
// documents cover only those).

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t, type MsgKey } from '../../i18n';
import { ApiError, downloadExport, listItems, type ApiItem, type ExportKind } from './api';
import { ApiErrorLine, colorOf, fmtDateTime, labelOf, personName, useCatalog, useLiveRefresh, usePeople } from './common';
import { FilterForm } from './FilterForm';
import { filtersToApi, filtersToQuery, hashQuery, parseFilters, type Filters } from './filters';
import { itemKey, mergeFresh } from './live';
import { PhotoCell } from '../../photo/Thumbs';
import { ErasedLine } from '../ErasedNotice';
import { itemErasure } from '../erased';

export function useHashFilters(): Filters {
  const qs = hashQuery(location.hash);
  return useMemo(() => parseFilters(qs), [qs]);
}

/** The list's last filters, so that "back to the list" returns to the same view. */
let lastListQuery = '';
export function lastListHref(): string {
  return `#/coord/list${lastListQuery ? `?${lastListQuery}` : ''}`;
}

export function ListScreen() {
  const filters = useHashFilters();
  const key = filtersToQuery(filters);
  lastListQuery = key;
  const [rows, setRows] = useState<ApiItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'more'>('loading');
  const [error, setError] = useState<unknown>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  /** The filters (hash query) the rows on screen were loaded for. */
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const gen = useRef(0);

  const params = () => filtersToApi(filters);

  async function loadFirst() {
    const g = ++gen.current;
    setState('loading');
    setError(null);
    try {
      const page = await listItems(params(), null, filters.n);
      if (g !== gen.current) return;
      setRows(page.items);
      setCursor(page.next_cursor);
      setFresh(new Set());
      setLoadedKey(key);
    } catch (e) {
      if (g === gen.current) setError(e);
    }
    if (g === gen.current) setState('ready');
  }

  async function loadMore() {
    if (!cursor) return;
    const g = gen.current;
    setState('more');
    try {
      const page = await listItems(params(), cursor, filters.n);
      if (g !== gen.current) return;
      setRows((cur) => mergeFresh(cur, page.items, filters.sort).rows);
      setCursor(page.next_cursor);
    } catch (e) {
      if (g === gen.current) setError(e);
    }
    if (g === gen.current) setState('ready');
  }

  /** Fetch the first page again and merge it in (live update); the loaded later pages stay. */
  async function refresh() {
    const g = gen.current;
    try {
      const page = await listItems(params(), null, filters.n);
      if (g !== gen.current) return;
      setRows((cur) => {
        const m = mergeFresh(cur, page.items, filters.sort);
        if (m.added.length) setFresh((s) => new Set([...s, ...m.added]));
        return m.rows;
      });
    } catch {
      // a failed background refresh is retried at the next change or poll
    }
  }

  useEffect(() => {
    void loadFirst();
  }, [key]);
  useLiveRefresh(() => void refresh());

  const authors = [...new Set(rows.map((r) => r.created_by).filter((x): x is string => !!x))].sort();
  const teams = [...new Set(rows.map((r) => r.team).filter((x): x is string => !!x))].sort();

  return (
    <section class="coord-screen">
      <h1 tabIndex={-1}>{t('coordinator.list.title')}</h1>
      <FilterForm screen="list" filters={filters} authors={authors} teams={teams} />
      <p class="row">
        <a class="btn small" href={`#/coord/map${key ? `?${key}` : ''}`} data-testid="to-map">
          {t('coordinator.list.on_map')}
        </a>
      </p>
      <ApiErrorLine error={error} />
      <p class="hint" role="status" data-testid="list-count" data-count={rows.length} data-state={state} data-query={loadedKey ?? ''}>
        {state === 'loading' ? t('coordinator.loading') : cursor ? t('coordinator.list.count_more', { n: rows.length }) : t('coordinator.list.count', { n: rows.length })}
      </p>
      <ItemTable rows={rows} fresh={fresh} />
      {cursor && (
        <button type="button" class="btn" onClick={() => void loadMore()} disabled={state !== 'ready'} data-testid="load-more">
          {state === 'more' ? t('coordinator.loading') : t('coordinator.list.more')}
        </button>
      )}
      <ExportPanel filters={filters} />
    </section>
  );
}

export function ItemTable({ rows, fresh }: { rows: ApiItem[]; fresh?: Set<string> }) {
  const catalog = useCatalog();
  const people = usePeople();
  if (rows.length === 0) return <p class="hint">{t('coordinator.list.empty')}</p>;
  return (
    <div class="table-wrap">
      <table class="coord-table" data-testid="coord-table">
        <caption class="sr-only">{t('coordinator.list.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('coordinator.col.date')}</th>
            <th scope="col">{t('photos.col')}</th>
            <th scope="col">{t('coordinator.col.category')}</th>
            <th scope="col">{t('coordinator.col.severity')}</th>
            <th scope="col">{t('coordinator.col.text')}</th>
            <th scope="col">{t('coordinator.col.wijk')}</th>
            <th scope="col">{t('coordinator.col.followup')}</th>
            <th scope="col">{t('coordinator.col.feedback')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const k = itemKey(r);
            const partners = Object.entries(r.follow_up ?? {});
            return (
              <tr key={k} class={fresh?.has(k) ? 'fresh' : ''} data-testid="coord-row" data-key={k} data-severity={r.severity ?? ''}>
                <td class="nowrap" data-testid="row-date">{fmtDateTime(r.created_at, 'list')}</td>
                <td>
                  <PhotoCell refs={r.photos ?? []} href={`#/coord/item/${r.doc_id}/${r.item_id}`} />
                </td>
                <td>
                  <span class="swatch" style={{ background: colorOf(catalog, r.category) }} aria-hidden="true" /> {labelOf(catalog?.categories, r.category)}
                </td>
                <td>
                  <span class={`sev sev-${r.severity ?? ''}`}>{labelOf(catalog?.severities, r.severity)}</span>
                </td>
                <td class="text-cell">
                  <a href={`#/coord/item/${r.doc_id}/${r.item_id}`} data-testid="row-link">
                    {itemErasure(r) ? <ErasedLine erasure={itemErasure(r)} what="item" /> : r.text?.trim() ? r.text : t('coordinator.list.no_text')}
                  </a>
                  <div class="item-meta">
                    {t(`coordinator.kind.${r.doc_kind}` as MsgKey)}: {r.doc_title || '–'}
                    {r.doc_kind === 'walk' && (
                      <>
                        {' · '}
                        <a href={`#/coord/report/${r.doc_id}`} data-testid="row-report">
                          {t('coordinator.list.report')}
                        </a>
                      </>
                    )}
                    {r.place ? ` · ${r.place}` : ''}
                    {r.address ? <span data-testid="row-address">{` · ${r.address}`}</span> : ''}
                    {r.created_by ? ` · ${t('coordinator.list.by', { name: personName(people, r.created_by) })}` : ''}
                    {r.has_resident_contact ? ` · ${t('coordinator.list.has_contact')}` : ''}
                    {r.erased?.contact && !itemErasure(r) && (
                      <>
                        {' · '}
                        <ErasedLine erasure={r.erased.contact} what="contact" />
                      </>
                    )}
                  </div>
                </td>
                <td>{labelOf(catalog?.wijken, r.wijk)}</td>
                <td data-testid="row-followup">
                  {partners.length === 0
                    ? '–'
                    : partners.map(([p, fu]) => (
                        <div key={p}>
                          {labelOf(catalog?.partners, p)}: {fu.status ? t(`coordinator.status.${fu.status}` as MsgKey) : '?'}
                        </div>
                      ))}
                </td>
                <td data-testid="row-feedback">
                  {r.feedback?.given_at ? t('coordinator.feedback.given_short', { date: fmtDateTime(r.feedback.given_at, 'list') }) : r.feedback?.needed ? t('coordinator.feedback.outstanding') : '–'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function ExportPanel({ filters }: { filters: Filters }) {
  const [personal, setPersonal] = useState(false);
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState<{ kind: 'idle' } | { kind: 'busy' } | { kind: 'done'; bytes: number } | { kind: 'error'; error: unknown }>({ kind: 'idle' });
  const needReason = personal && !reason.trim();

  async function run(kind: ExportKind) {
    const p = filtersToApi(filters, { sort: false });
    if (kind !== 'geojson' && personal) {
      if (needReason) return;
      p.set('include_personal', 'true');
      p.set('reason', reason.trim());
    }
    setStatus({ kind: 'busy' });
    try {
      const bytes = await downloadExport(kind, p);
      setStatus({ kind: 'done', bytes });
    } catch (e) {
      setStatus({ kind: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'network', '') });
    }
  }

  return (
    <section class="card-form export" aria-labelledby="export-h" data-testid="export">
      <h2 id="export-h">{t('coordinator.export.title')}</h2>
      <p class="hint">{t('coordinator.export.hint')}</p>
      <label class="check">
        <input type="checkbox" checked={personal} onChange={(e) => setPersonal(e.currentTarget.checked)} data-testid="export-personal" />
        <span>{t('coordinator.export.personal')}</span>
      </label>
      {personal && (
        <div class="stack">
          <label for="export-reason">{t('coordinator.export.reason')}</label>
          <textarea id="export-reason" rows={2} maxLength={500} value={reason} required aria-describedby="export-reason-hint" onInput={(e) => setReason(e.currentTarget.value)} data-testid="export-reason" />
          <p id="export-reason-hint" class="hint">
            {t('coordinator.export.reason_hint')}
          </p>
        </div>
      )}
      <div class="row">
        <button type="button" class="btn primary" disabled={needReason || status.kind === 'busy'} onClick={() => void run('xlsx')} data-testid="export-xlsx">
          {t('coordinator.export.xlsx')}
        </button>
        <button type="button" class="btn" disabled={needReason || status.kind === 'busy'} onClick={() => void run('excel-csv')} data-testid="export-excel-csv">
          {t('coordinator.export.excel_csv')}
        </button>
        <button type="button" class="btn" disabled={needReason || status.kind === 'busy'} onClick={() => void run('csv')} data-testid="export-csv">
          {t('coordinator.export.csv')}
        </button>
        <button type="button" class="btn" disabled={status.kind === 'busy'} onClick={() => void run('geojson')} data-testid="export-geojson">
          {t('coordinator.export.geojson')}
        </button>
      </div>
      <p role="status" class="hint" data-testid="export-status">
        {status.kind === 'busy' ? t('coordinator.loading') : status.kind === 'done' ? t('coordinator.export.done', { kb: Math.max(1, Math.round(status.bytes / 1024)) }) : ''}
      </p>
      {status.kind === 'error' && <ApiErrorLine error={status.error} />}
    </section>
  );
}
