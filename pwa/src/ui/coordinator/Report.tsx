// The printable walk report. Route: #/coord/report/<walk id>
// Reads GET /api/v1/walks/{id}/report and lays it out for the wijk meeting:
// the walk (wijk, route, date, team), participants, observations grouped by
// category with their places, and the action list per partner. "Afdrukken"
// calls the browser's print (and so "save as PDF") once the photos' thumbnails
// are loaded; the print stylesheet (report.css) hides the app's header,
// navigation and buttons and keeps groups together.
import { useEffect, useState } from 'preact/hooks';
import { lang, t, tn } from '../../i18n';
import { formatTime } from '../../dates';
import { useApp } from '../hooks';
import { teamLabel } from '../../model/doc';
import { formatWhen } from '../../dates';
import { api, ApiError } from '../admin/api';
import { photoShas, PhotoStrip } from '../../photo/Thumbs';
import { photoUrl } from '../../photo/urls';
import { ErasedLine } from '../ErasedNotice';
import type { Erasure } from '../erased';
import './report.css';

interface ReportItem {
  id: string;
  created_at: number | null;
  severity: string | null;
  text: string | null;
  place: string | null;
  location: { lat: number; lon: number; accuracy_m: number | null } | null;
  /** The nearest address of the position (instead of the coordinates), when looked up. */
  address?: string | null;
  photo_count: number;
  /** `sha256:<hex>` references, list order. */
  photos?: string[];
  /** The erasure of the observation's content, shown in place of its values. */
  erased?: Erasure;
}

interface ReportAction {
  item_id: string;
  category: string | null;
  place: string | null;
  text: string | null;
  status: string | null;
  note: string | null;
  /** The erasure of the observation's content. */
  erased?: Erasure;
}

export interface WalkReportData {
  id: string;
  title: string | null;
  wijk: string | null;
  wijk_label: string | null;
  team: string | null;
  route: string | null;
  planned_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  summary: string | null;
  /** The accounts that logged the walk's observations, in order of their first one. */
  walkers?: { id: string; name: string | null; observations: number }[];
  participants: { name: string | null; organisation: string | null }[];
  categories: { id: string; label: string; positive: boolean; items: ReportItem[] }[];
  partners: { id: string; label: string; actions: ReportAction[] }[];
  observation_count: number;
}

/** A GPS position in words: "GPS 52,37000° NB, 5,21000° OL (op 8 m nauwkeurig)". */
export function gpsWords(l: { lat: number; lon: number; accuracy_m: number | null }): string {
  const num = (v: number) => new Intl.NumberFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', { minimumFractionDigits: 5, maximumFractionDigits: 5 }).format(Math.abs(v));
  const words = t('coordinator.report.gps', {
    lat: num(l.lat),
    ns: t(l.lat < 0 ? 'coordinator.report.south' : 'coordinator.report.north'),
    lon: num(l.lon),
    eo: t(l.lon < 0 ? 'coordinator.report.west' : 'coordinator.report.east'),
  });
  return l.accuracy_m !== null && l.accuracy_m !== undefined ? `${words} (${t('coordinator.report.gps_accuracy', { m: Math.round(l.accuracy_m) })})` : words;
}

function stamp(ms: number | null): string {
  if (ms === null) return '—';
  return formatWhen(ms, 'report');
}

export function WalkReport({ id }: { id: string }) {
  const app = useApp();
  const [report, setReport] = useState<WalkReportData | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setReport(null);
    setError(null);
    api<WalkReportData>('GET', `/api/v1/walks/${encodeURIComponent(id)}/report`)
      .then((r) => live && setReport(r))
      .catch((e) => live && setError(e instanceof ApiError ? e.code : 'internal'));
    return () => {
      live = false;
    };
  }, [id]);

  const cat = app.catalog()?.catalog() ?? null;
  const sevLabel = (s: string | null) => (s ? (cat?.severities.find((x) => x.id === s)?.label ?? s) : '');
  const catLabel = (c: string | null) => (c ? (report?.categories.find((x) => x.id === c)?.label ?? cat?.categories.find((x) => x.id === c)?.label ?? c) : '');
  const [printing, setPrinting] = useState(false);
  /** Print once every thumbnail is loaded and decoded (a photo that cannot be loaded prints as its placeholder). */
  async function print() {
    setPrinting(true);
    try {
      const shas = (report?.categories ?? []).flatMap((c) => c.items.flatMap((o) => photoShas(o.photos ?? [])));
      await Promise.all(shas.map((sha) => photoUrl(sha, 'thumb')));
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      const imgs = [...document.querySelectorAll<HTMLImageElement>('.report img')];
      await Promise.all(imgs.map((i) => i.decode().catch(() => undefined)));
    } finally {
      setPrinting(false);
    }
    window.print();
  }
  const statusLabel = (s: string | null) =>
    s === 'open' || s === 'in_behandeling' || s === 'afgerond' ? t(`coordinator.status.${s}`) : (s ?? t('coordinator.report.no_status'));

  return (
    <article class="screen report" data-testid="walk-report">
      <h1 tabIndex={-1}>{report?.title ? t('coordinator.report.heading', { title: report.title }) : t('coordinator.report.title')}</h1>
      {error && (
        <p class="error-text" role="alert">
          {error === 'not_found' ? t('coordinator.report.not_found') : error === 'network' ? t('coordinator.error.network') : t('coordinator.error.api', { code: error })}
        </p>
      )}
      {!report && !error && <p class="hint">{t('coordinator.loading')}</p>}
      {report && (
        <>
          <div class="row no-print">
            <button type="button" class="btn primary" disabled={printing} onClick={() => void print()} data-testid="report-print">
              {printing ? t('coordinator.report.print_preparing') : t('coordinator.report.print')}
            </button>
            <a class="btn" href={`#/walk/${report.id}`}>
              {t('coordinator.report.open_walk')}
            </a>
          </div>
          <dl class="report-meta">
            <dt>{t('coordinator.report.wijk')}</dt>
            <dd>{report.wijk_label ?? report.wijk ?? '—'}</dd>
            <dt>{t('coordinator.report.route')}</dt>
            <dd>{report.route || '—'}</dd>
            <dt>{t('coordinator.report.planned')}</dt>
            <dd>{stamp(report.planned_at)}</dd>
            <dt>{t('coordinator.report.walked')}</dt>
            <dd>{report.started_at !== null ? `${stamp(report.started_at)} – ${report.ended_at !== null ? formatTime(report.ended_at) : t('coordinator.report.not_ended')}` : t('coordinator.report.not_started')}</dd>
            <dt>{t('coordinator.report.team')}</dt>
            <dd>{teamLabel(cat, report.team) || '—'}</dd>
            <dt>{t('coordinator.report.count')}</dt>
            <dd>{report.observation_count}</dd>
          </dl>

          <section data-testid="report-participants">
            <h2>{t('coordinator.report.participants')}</h2>
            {(report.walkers ?? []).length > 0 && (
              <ul data-testid="report-walkers">
                {(report.walkers ?? []).map((w) => (
                  <li key={w.id} data-testid="report-walker">
                    {w.name ?? t('coordinator.report.unknown_account')} ({tn('coordinator.report.logged', w.observations)})
                  </li>
                ))}
              </ul>
            )}
            {report.participants.length === 0 ? (
              (report.walkers ?? []).length === 0 && <p class="hint">{t('coordinator.report.none')}</p>
            ) : (
              <ul>
                {report.participants.map((p, i) => (
                  <li key={i} data-testid="report-participant">
                    {p.name ?? '—'}
                    {p.organisation ? ` (${p.organisation})` : ''}
                  </li>
                ))}
              </ul>
            )}
          </section>

          {report.summary && (
            <section>
              <h2>{t('coordinator.report.summary')}</h2>
              <p style={{ whiteSpace: 'pre-wrap' }}>{report.summary}</p>
            </section>
          )}

          <section data-testid="report-categories">
            <h2>{t('coordinator.report.by_category')}</h2>
            {report.categories.length === 0 && <p class="hint">{t('coordinator.report.none')}</p>}
            {report.categories.map((c) => (
              <section key={c.id} data-testid="report-category" data-category={c.id}>
                <h3>
                  {c.label} ({tn('coordinator.report.n_items', c.items.length)}){c.positive && <span class="positive"> · {t('coordinator.report.positive')}</span>}
                </h3>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('coordinator.report.time')}</th>
                      <th scope="col">{t('coordinator.report.severity')}</th>
                      <th scope="col">{t('coordinator.report.text')}</th>
                      <th scope="col">{t('coordinator.report.place')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.items.map((o) => (
                      <tr key={o.id} data-testid="report-item">
                        <td>{o.created_at !== null ? formatTime(o.created_at) : '—'}</td>
                        <td>{sevLabel(o.severity)}</td>
                        <td>
                          {o.erased ? <ErasedLine erasure={o.erased} what="item" /> : o.text || '—'}
                          {(o.photos?.length ?? 0) > 0 ? <PhotoStrip refs={o.photos ?? []} testId="report-photos" /> : o.photo_count > 0 ? ` (${tn('coordinator.report.photos', o.photo_count)})` : ''}
                        </td>
                        <td data-testid="report-where">{[o.place, o.address || (o.location ? gpsWords(o.location) : '')].filter(Boolean).join(' · ') || '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))}
          </section>

          <section data-testid="report-partners">
            <h2>{t('coordinator.report.actions')}</h2>
            {report.partners.length === 0 && <p class="hint">{t('coordinator.report.no_actions')}</p>}
            {report.partners.map((p) => (
              <section key={p.id} data-testid="report-partner" data-partner={p.id}>
                <h3>
                  {p.label} ({tn('coordinator.report.n_actions', p.actions.length)})
                </h3>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('coordinator.report.category')}</th>
                      <th scope="col">{t('coordinator.report.text')}</th>
                      <th scope="col">{t('coordinator.report.place')}</th>
                      <th scope="col">{t('coordinator.report.status')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.actions.map((a) => (
                      <tr key={a.item_id} data-testid="report-action" data-status={a.status ?? ''}>
                        <td>{catLabel(a.category)}</td>
                        <td>
                          {a.erased ? <ErasedLine erasure={a.erased} what="item" /> : a.text || '—'}
                          {a.note ? ` — ${a.note}` : ''}
                        </td>
                        <td>{a.place || '—'}</td>
                        <td>{statusLabel(a.status)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))}
          </section>
          <p class="hint">{t('coordinator.report.printed_at', { time: stamp(Date.now()) })}</p>
        </>
      )}
    </article>
  );
}
