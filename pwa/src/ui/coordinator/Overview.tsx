// #/coord/overview?from=&to=: counts per wijk, category and severity for a
// period, each beside the previous period of equal length (GET
// /api/v1/stats), with "positief signaal" counted beside the problems. The
// totals and every row name link to the list with the same period and filter.
// Charts (Charts.tsx) show the same counts per category and per wijk, and
// over time, each beside the previous period.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t, type MsgKey, tn } from '../../i18n';
import { getAccessChanges, getStats, type AccessChange, type Stats, type Trend } from './api';
import { ApiErrorLine, fmtDateTime, labelOf, LIVE_POLL_MS, useCatalog, useLiveRefresh } from './common';
import { dayOf, dayStart, emptyFilters, filtersToQuery, hashQuery, nextDay, type Filters } from './filters';
import { go } from '../hooks';
import { ChartLegend, PairBarChart, SeriesChart } from './Charts';

const DAY_MS = 86_400_000;

function defaultPeriod(): { from: string; to: string } {
  const today = dayOf(Date.now());
  return { from: dayOf(dayStart(today) - 29 * DAY_MS), to: today };
}

export function OverviewScreen() {
  const catalog = useCatalog();
  const qs = hashQuery(location.hash);
  const period = useMemo(() => {
    const p = new URLSearchParams(qs);
    const d = defaultPeriod();
    const ok = (v: string | null) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : null);
    return { from: ok(p.get('from')) ?? d.from, to: ok(p.get('to')) ?? d.to };
  }, [qs]);
  const [from, setFrom] = useState(period.from);
  const [to, setTo] = useState(period.to);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [seriesWijk, setSeriesWijk] = useState('');
  const [seriesCat, setSeriesCat] = useState('');
  const asked = useRef(0);
  /** The wijk and category the shown series counts (set with the answer, so the titles always match the lines). */
  const [shown, setShown] = useState({ wijk: '', category: '' });

  async function load() {
    const n = ++asked.current;
    try {
      const s = await getStats(dayStart(period.from), dayStart(nextDay(period.to)), { wijk: seriesWijk, category: seriesCat });
      if (n !== asked.current) return;
      setStats(s);
      setShown({ wijk: seriesWijk, category: seriesCat });
      setError(null);
    } catch (e) {
      if (n === asked.current) setError(e);
    }
  }
  useEffect(() => {
    setFrom(period.from);
    setTo(period.to);
    void load();
  }, [period.from, period.to, seriesWijk, seriesCat]);
  useLiveRefresh(() => void load(), 2000, 2 * LIVE_POLL_MS);

  const listHref = (extra: Partial<Filters>) => `#/coord/list?${filtersToQuery({ ...emptyFilters(), from: period.from, to: period.to, ...extra })}`;
  const preset = (days: number) => {
    const today = dayOf(Date.now());
    go(`/coord/overview?from=${dayOf(dayStart(today) - (days - 1) * DAY_MS)}&to=${today}`);
  };
  const positiveIds = new Set(catalog?.categories.filter((c) => c.positive).map((c) => c.id));
  const sorted = (m: Record<string, Trend> | undefined, order: { id: string }[] | undefined) => {
    const ids = Object.keys(m ?? {});
    const pos = (id: string) => {
      const i = order?.findIndex((x) => x.id === id) ?? -1;
      return i < 0 ? 1e6 : i;
    };
    return ids.sort((a, b) => pos(a) - pos(b) || a.localeCompare(b));
  };
  const seriesLabels = [shown.wijk && labelOf(catalog?.wijken, shown.wijk), shown.category && labelOf(catalog?.categories, shown.category)].filter(Boolean);
  const seriesSuffix = seriesLabels.length ? `: ${seriesLabels.join(', ')}` : '';
  const wijkIds = [...new Set([...sorted(stats?.by_wijk, catalog?.wijken), ...sorted(stats?.positive_by_wijk, catalog?.wijken)])];

  return (
    <section class="coord-screen">
      <h1 tabIndex={-1}>{t('coordinator.overview.title')}</h1>
      <form
        class="filters frow"
        aria-label={t('coordinator.overview.period')}
        onSubmit={(e) => {
          e.preventDefault();
          go(`/coord/overview?from=${from}&to=${to}`);
        }}
      >
        <div class="field">
          <label for="ov-from">{t('coordinator.f.from')}</label>
          <input id="ov-from" type="date" value={from} required onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="ov-to">{t('coordinator.f.to')}</label>
          <input id="ov-to" type="date" value={to} required onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="row end">
          <button type="submit" class="btn primary">
            {t('coordinator.f.apply')}
          </button>
          {[7, 30, 90].map((d) => (
            <button key={d} type="button" class="btn small" onClick={() => preset(d)}>
              {tn('coordinator.overview.last_days', d)}
            </button>
          ))}
        </div>
      </form>
      <ApiErrorLine error={error} />
      {!stats && !error && <p class="hint">{t('coordinator.loading')}</p>}
      {stats && (
        <>
          <p class="hint">{tn('coordinator.overview.compared', Math.round((stats.from - stats.previous_from) / DAY_MS))}</p>
          {stats.work_list && (
            <p>
              <a class="btn" href="#/coord/feedback" data-testid="overview-worklist" data-late={stats.work_list.callbacks_overdue + stats.work_list.feedback_overdue}>
                {t('callbacks.overview.link', {
                  open: stats.work_list.callbacks_open,
                  late: stats.work_list.callbacks_overdue,
                  fopen: stats.work_list.feedback_open,
                  flate: stats.work_list.feedback_overdue,
                })}
              </a>
            </p>
          )}
          <div class="totals">
            <a class="card total" href={listHref({ category: catalog?.categories.filter((c) => !c.positive).map((c) => c.id) ?? [] })} data-testid="total-problems">
              <span class="card-kind">{t('coordinator.overview.problems')}</span>
              <span class="big-num">{stats.problems.current}</span>
              <TrendText trend={stats.problems} />
            </a>
            <a class="card total positive" href={listHref({ category: [...positiveIds] })} data-testid="total-positive">
              <span class="card-kind">{t('coordinator.overview.positive')}</span>
              <span class="big-num">{stats.positive.current}</span>
              <TrendText trend={stats.positive} />
            </a>
          </div>
          <section class="charts" aria-labelledby="charts-title" data-testid="charts">
            <h2 id="charts-title">{t('chart.title')}</h2>
            <ChartLegend />
            <div class="chart-grid">
              <PairBarChart
                id="chart-category"
                title={t('chart.by_category')}
                rows={sorted(stats.by_category, catalog?.categories).map((id) => ({
                  id,
                  label: labelOf(catalog?.categories, id) + (positiveIds.has(id) ? ` (${t('coordinator.overview.positive_short')})` : ''),
                  trend: stats.by_category[id],
                }))}
              />
              <PairBarChart
                id="chart-wijk"
                title={t('chart.by_wijk')}
                rows={sorted(stats.by_wijk, catalog?.wijken).map((id) => ({ id, label: labelOf(catalog?.wijken, id), trend: stats.by_wijk[id] }))}
              />
            </div>
            <h3>{t('chart.over_time')}</h3>
            <div class="frow" data-testid="series-filter">
              <div class="field">
                <label for="series-wijk">{t('coordinator.col.wijk')}</label>
                <select id="series-wijk" value={seriesWijk} onChange={(e) => setSeriesWijk(e.currentTarget.value)}>
                  <option value="">{t('chart.all_wijken')}</option>
                  {(catalog?.wijken ?? []).map((w) => (
                    <option key={w.id} value={w.id}>
                      {w.label}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="series-category">{t('coordinator.col.category')}</label>
                <select id="series-category" value={seriesCat} onChange={(e) => setSeriesCat(e.currentTarget.value)}>
                  <option value="">{t('chart.all_categories')}</option>
                  {(catalog?.categories ?? []).map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.label}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <div class="chart-grid">
              {stats.series && (
                <SeriesChart id="chart-problems-time" title={t('chart.problems_time') + seriesSuffix} steps={stats.series} pick="problems" stepMs={stats.step_ms ?? DAY_MS} />
              )}
              {stats.series && (
                <SeriesChart id="chart-positive-time" title={t('chart.positive_time') + seriesSuffix} steps={stats.series} pick="positive" stepMs={stats.step_ms ?? DAY_MS} />
              )}
            </div>
          </section>
          <div class="stat-grid">
            <StatTable
              testid="by-wijk"
              caption={t('coordinator.overview.by_wijk')}
              head={[t('coordinator.col.wijk'), t('coordinator.overview.problems'), t('coordinator.overview.positive')]}
              rows={wijkIds.map((id) => ({
                id,
                label: labelOf(catalog?.wijken, id),
                href: listHref({ wijk: [id] }),
                cells: [stats.by_wijk[id] ?? { current: 0, previous: 0 }, stats.positive_by_wijk[id] ?? { current: 0, previous: 0 }],
              }))}
            />
            <StatTable
              testid="by-category"
              caption={t('coordinator.overview.by_category')}
              head={[t('coordinator.col.category'), t('coordinator.overview.count')]}
              rows={sorted(stats.by_category, catalog?.categories).map((id) => ({
                id,
                label: labelOf(catalog?.categories, id) + (positiveIds.has(id) ? ` (${t('coordinator.overview.positive_short')})` : ''),
                href: listHref({ category: [id] }),
                cells: [stats.by_category[id]],
              }))}
            />
            <StatTable
              testid="by-severity"
              caption={t('coordinator.overview.by_severity')}
              head={[t('coordinator.col.severity'), t('coordinator.overview.problems')]}
              rows={sorted(stats.by_severity, catalog?.severities).map((id) => ({
                id,
                label: labelOf(catalog?.severities, id),
                href: listHref({ severity: [id] }),
                cells: [stats.by_severity[id]],
              }))}
            />
          </div>
        </>
      )}
      <AccessChanges />
    </section>
  );
}

/**
 * Account changes by admins that can open content to someone (new accounts,
 * roles or team changed, passwords reset): admins cannot read content
 * themselves, and this shows the coordinators every step that could change that.
 */
function AccessChanges() {
  const [changes, setChanges] = useState<AccessChange[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    getAccessChanges(20).then(
      (r) => setChanges(r.changes),
      (e) => setError(e),
    );
  }, []);
  const who = (w: AccessChange['actor']) => w?.name ?? t('coordinator.access.server');
  const what = (c: AccessChange): string => {
    const subject = c.subject?.name ?? '?';
    if (c.action === 'admin.user.password') return t('coordinator.access.password', { subject });
    const roles = (c.roles ?? []).join(', ');
    if (c.action === 'admin.user.create') return t('coordinator.access.create', { subject, roles });
    if (c.roles) return t('coordinator.access.roles', { subject, roles });
    return t('coordinator.access.team', { subject, team: c.team ?? t('coordinator.access.no_team') });
  };
  return (
    <section class="access-changes" aria-labelledby="access-title" data-testid="access-changes">
      <h2 id="access-title">{t('coordinator.access.title')}</h2>
      <p class="hint">{t('coordinator.access.intro')}</p>
      <ApiErrorLine error={error} />
      {changes && changes.length === 0 && <p class="hint">{t('coordinator.access.none')}</p>}
      {changes && changes.length > 0 && (
        <ul>
          {changes.map((c, i) => (
            <li key={i} data-action={c.action}>
              <time dateTime={new Date(c.at).toISOString()}>{fmtDateTime(c.at, 'list')}</time> — {t('coordinator.access.by', { actor: who(c.actor) })} {what(c)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TrendText({ trend }: { trend: Trend }) {
  const d = trend.current - trend.previous;
  const key: MsgKey = d > 0 ? 'coordinator.trend.up' : d < 0 ? 'coordinator.trend.down' : 'coordinator.trend.same';
  return (
    <span class={`trend ${d > 0 ? 'up' : d < 0 ? 'down' : 'same'}`} data-delta={d}>
      <span aria-hidden="true">{d > 0 ? '▲' : d < 0 ? '▼' : '='} </span>
      {t(key, { n: Math.abs(d), prev: trend.previous })}
    </span>
  );
}

function StatTable({ caption, head, rows, testid }: { caption: string; head: string[]; rows: { id: string; label: string; href: string; cells: Trend[] }[]; testid: string }) {
  return (
    <table class="coord-table stat" data-testid={testid}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col" key={h}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={head.length}>{t('coordinator.list.empty')}</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={r.id} data-id={r.id}>
            <th scope="row">
              <a href={r.href}>{r.label}</a>
            </th>
            {r.cells.map((c, i) => (
              <td key={i} data-count={c.current}>
                <strong>{c.current}</strong> <TrendText trend={c} />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
