// The overview's charts (Overview.tsx): plain SVG, no chart library.
// Readable without colour: this period is a solid bar or a solid line with
// round points, the previous period a hatched bar or a dashed line with
// square points, and every bar carries its number. Each chart is an image
// with a title and a description that says all its numbers; the tables
// beside them (and the table under the chart over time) hold the same data.
import { t, tn } from '../../i18n';
import { formatDay } from '../../dates';
import type { Trend } from './api';

export interface PairRow {
  id: string;
  label: string;
  trend: Trend;
}

const BAR = 12;
const GAP = 4;
const ROW = BAR * 2 + GAP + 12;
const LABEL_W = 190;
const BAR_W = 330;
const VALUE_W = 40;

/** The hatch of the previous period, one per chart (ids must be unique in the page). */
function Hatch({ id }: { id: string }) {
  return (
    <defs>
      <pattern id={id} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" class="chart-prev-bg" />
        <line x1="0" y1="0" x2="0" y2="6" class="chart-prev-line" stroke-width="2.5" />
      </pattern>
    </defs>
  );
}

/** The legend shared by the charts: what solid and hatched (and the two lines) mean. */
export function ChartLegend() {
  return (
    <ul class="chart-legend" data-testid="chart-legend">
      <li>
        <svg width="34" height="14" aria-hidden="true" focusable="false">
          <rect x="0" y="1" width="34" height="12" class="chart-cur" />
        </svg>
        {t('chart.current')}
      </li>
      <li>
        <svg width="34" height="14" aria-hidden="true" focusable="false">
          <Hatch id="legend-hatch" />
          <rect x="0.5" y="1.5" width="33" height="11" fill="url(#legend-hatch)" class="chart-prev-edge" />
        </svg>
        {t('chart.previous')}
      </li>
    </ul>
  );
}

/** Horizontal bars: per row this period (solid) above the previous one (hatched), each with its number. */
export function PairBarChart({ id, title, rows }: { id: string; title: string; rows: PairRow[] }) {
  const max = Math.max(1, ...rows.map((r) => Math.max(r.trend.current, r.trend.previous)));
  const w = (n: number) => (n / max) * BAR_W;
  const height = Math.max(ROW, rows.length * ROW) + 4;
  const desc = rows.length === 0 ? t('chart.empty') : rows.map((r) => t('chart.row', { label: r.label, n: r.trend.current, prev: r.trend.previous })).join('; ');
  return (
    <figure class="chart" data-testid={id}>
      <svg
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        viewBox={`0 0 ${LABEL_W + BAR_W + VALUE_W + 8} ${height}`}
        width="100%"
        preserveAspectRatio="xMinYMin meet"
        focusable="false"
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        <Hatch id={`${id}-hatch`} />
        {rows.length === 0 && (
          <text x="0" y="20" class="chart-text">
            {t('chart.empty')}
          </text>
        )}
        {rows.map((r, i) => {
          const y = i * ROW + 2;
          return (
            <g key={r.id} data-id={r.id} data-current={r.trend.current} data-previous={r.trend.previous}>
              <text x={LABEL_W - 8} y={y + BAR + 2} text-anchor="end" class="chart-text">
                {r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label}
              </text>
              <rect x={LABEL_W} y={y} width={Math.max(w(r.trend.current), 1)} height={BAR} class="chart-cur" />
              <text x={LABEL_W + w(r.trend.current) + 4} y={y + BAR - 1} class="chart-value">
                {r.trend.current}
              </text>
              <rect x={LABEL_W + 0.5} y={y + BAR + GAP + 0.5} width={Math.max(w(r.trend.previous) - 1, 1)} height={BAR - 1} fill={`url(#${id}-hatch)`} class="chart-prev-edge" />
              <text x={LABEL_W + w(r.trend.previous) + 4} y={y + 2 * BAR + GAP - 1} class="chart-value prev">
                {r.trend.previous}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

export interface SeriesStep {
  start: number;
  problems: Trend;
  positive: Trend;
}

const S_W = 560;
const S_H = 200;
const S_LEFT = 36;
const S_BOTTOM = 28;
const S_TOP = 16;

/**
 * One count over time: this period as a solid line with round points (with
 * their numbers when there are at most 16 steps), the previous period as a
 * dashed line with square points; the table below holds every number.
 */
export function SeriesChart({ id, title, steps, pick, stepMs }: { id: string; title: string; steps: SeriesStep[]; pick: 'problems' | 'positive'; stepMs: number }) {
  const n = steps.length;
  const max = Math.max(1, ...steps.map((s) => Math.max(s[pick].current, s[pick].previous)));
  const x = (i: number) => S_LEFT + (n <= 1 ? (S_W - S_LEFT) / 2 : (i / (n - 1)) * (S_W - S_LEFT - 12));
  const y = (v: number) => S_TOP + (1 - v / max) * (S_H - S_TOP - S_BOTTOM);
  const line = (k: 'current' | 'previous') => steps.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(s[pick][k]).toFixed(1)}`).join(' ');
  const day = (ms: number) => formatDay(ms, 'list').replace(/ \d{4}$/, '');
  const stepName = tn('chart.step_days', Math.round(stepMs / 86_400_000));
  const ticks = [...new Set([0, n > 2 ? Math.floor((n - 1) / 2) : -1, n - 1].filter((i) => i >= 0))];
  const totals = steps.reduce((a, s) => ({ current: a.current + s[pick].current, previous: a.previous + s[pick].previous }), { current: 0, previous: 0 });
  const peak = steps.reduce((best, s, i) => (s[pick].current > steps[best][pick].current ? i : best), 0);
  const desc =
    n === 0
      ? t('chart.empty')
      : t('chart.series_desc', { step: stepName, n: totals.current, prev: totals.previous, peak: steps[peak][pick].current, day: day(steps[peak].start) });
  return (
    <figure class="chart" data-testid={id}>
      <svg role="img" aria-labelledby={`${id}-title ${id}-desc`} viewBox={`0 0 ${S_W} ${S_H}`} width="100%" preserveAspectRatio="xMinYMin meet" focusable="false">
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        <line x1={S_LEFT} y1={y(0)} x2={S_W - 4} y2={y(0)} class="chart-axis" />
        <text x={S_LEFT - 6} y={y(0) + 4} text-anchor="end" class="chart-text">
          0
        </text>
        <line x1={S_LEFT} y1={y(max)} x2={S_W - 4} y2={y(max)} class="chart-gridline" />
        <text x={S_LEFT - 6} y={y(max) + 4} text-anchor="end" class="chart-text">
          {max}
        </text>
        {ticks.map((i) => (
          <text key={i} x={x(i)} y={S_H - 8} text-anchor={n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle'} class="chart-text">
            {day(steps[i].start)}
          </text>
        ))}
        {n > 0 && <path d={line('previous')} class="chart-line prev" />}
        {n > 0 && <path d={line('current')} class="chart-line" />}
        {steps.map((s, i) => (
          <g key={s.start} data-current={s[pick].current} data-previous={s[pick].previous}>
            <rect x={x(i) - 3.5} y={y(s[pick].previous) - 3.5} width="7" height="7" class="chart-point prev" />
            <circle cx={x(i)} cy={y(s[pick].current)} r="4" class="chart-point" />
            {n <= 16 && (
              <text x={x(i)} y={y(s[pick].current) - 8} text-anchor="middle" class="chart-value">
                {s[pick].current}
              </text>
            )}
          </g>
        ))}
      </svg>
      <figcaption>
        {title} <span class="hint">({t('chart.legend_lines')})</span>
      </figcaption>
      <details class="chart-table">
        <summary>{t('chart.as_table')}</summary>
        <table class="coord-table" data-testid={`${id}-table`}>
          <caption>{title}</caption>
          <thead>
            <tr>
              <th scope="col">{t('chart.col.from')}</th>
              <th scope="col">{t('chart.current')}</th>
              <th scope="col">{t('chart.previous')}</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.start}>
                <th scope="row">{formatDay(s.start, 'list')}</th>
                <td>{s[pick].current}</td>
                <td>{s[pick].previous}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
