// The coordinators' queue of residents' points (#/coord/points): the open
// points per wijk (GET /api/v1/resident-points), and per point: onto the
// agenda of a planned walk of its wijk (the walks from GET
// /api/v1/documents?kind=walk&state=planned), merge into another point,
// answer (a partner picks it up, or done), decline with one of the fixed
// reasons (GET /api/v1/resident-point-reasons), and the contact details on
// request (an audited read). Every change is POST /api/v1/resident-points/{id}
// (docs/api.md, "Residents' points"); a refused or failed change keeps the
// form as it was and says why. The queue is on the server only: offline it
// says so.

import { useEffect, useRef, useState } from 'preact/hooks';
import { app } from '../../app';
import { t, tn } from '../../i18n';
import { listDocuments, type ListedDoc } from '../../net/documents';
import { ApiError } from './api';
import { fmtDate, labelOf, useCatalog, useLiveRefresh } from './common';
import type { CatalogInfo } from '../../model/doc';

/** A point as the queue lists it (no contact details). */
export interface Point {
  id: number;
  receipt: string;
  wijk: string;
  text: string;
  category: string | null;
  place: string | null;
  location: { lat: number; lon: number } | null;
  has_contact: boolean;
  status: 'ontvangen' | 'op_agenda' | 'bekeken' | 'opgepakt' | 'afgerond' | 'afgewezen';
  walk: string | null;
  walk_date: number | null;
  observation: string | null;
  partner: string | null;
  decline_reason: string | null;
  merged_into: number | null;
  duplicates: number;
  created_at: number;
  updated_at: number;
}

interface Reason {
  code: string;
  sentence: string;
}

type Contact = { name: string | null; email: string | null; phone: string | null } | null;

/** The change a coordinator asks for (the body of POST /api/v1/resident-points/{id}). */
export type PointAction =
  | { action: 'agenda'; walk: string; text?: string }
  | { action: 'merge'; into: number }
  | { action: 'picked_up'; partner: string }
  | { action: 'done' }
  | { action: 'decline'; reason: string };

/** Planned walks (not started) from the start of today on: the server's list, a page of at most 50. */
async function plannedWalks(): Promise<ListedDoc[]> {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const page = await listDocuments(app.api, { kind: 'walk', state: 'planned', from: today.getTime(), limit: 50 });
  return page.documents.filter((d) => !d.started);
}

/** The sentence shown for a refused or failed change. */
function refusal(e: unknown): string {
  const code = e instanceof ApiError ? e.code : 'internal';
  if (code === 'network') return t('points.error.network');
  if (code === 'wrong_status' || code === 'point_merged' || code === 'invalid_parameter') return t(`points.error.${code}`);
  return t('points.error.other', { code });
}

export function statusLabel(p: Point, catalog: CatalogInfo | null): string {
  switch (p.status) {
    case 'op_agenda':
      return t('points.status.op_agenda', { date: fmtDate(p.walk_date, 'list') });
    case 'opgepakt':
      return t('points.status.opgepakt', { partner: labelOf(catalog?.partners, p.partner) });
    default:
      return t(`points.status.${p.status}`);
  }
}

export function PointsScreen() {
  const catalog = useCatalog();
  const [wijk, setWijk] = useState('');
  const [points, setPoints] = useState<Point[] | null>(null);
  const [walks, setWalks] = useState<ListedDoc[]>([]);
  const [reasons, setReasons] = useState<Reason[]>([]);
  const [failed, setFailed] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const wijkRef = useRef(wijk);
  wijkRef.current = wijk;

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: '500' });
    if (wijkRef.current) q.set('wijk', wijkRef.current);
    try {
      const [list, planned] = await Promise.all([app.api.json<{ points: Point[] }>('GET', `/api/v1/resident-points?${q}`), plannedWalks()]);
      setPoints(list.points);
      setWalks(planned);
      setFailed(null);
    } catch (e) {
      setFailed(e instanceof ApiError && e.code === 'network' ? t('points.offline') : refusal(e));
    }
  }

  useEffect(() => {
    void load();
  }, [wijk]);
  useEffect(() => {
    app.api
      .json<{ reasons: Reason[] }>('GET', '/api/v1/resident-point-reasons')
      .then((r) => setReasons(r.reasons))
      .catch(() => setReasons([]));
  }, []);
  useLiveRefresh(() => void load());

  async function act(p: Point, body: PointAction): Promise<string | null> {
    try {
      const r = await app.api.json<{ point: Point; mails_queued: number }>('POST', `/api/v1/resident-points/${p.id}`, body);
      setNotice(r.mails_queued > 0 ? tn('points.mailed', r.mails_queued) : t('points.saved'));
      await load();
      return null;
    } catch (e) {
      // The status changed meanwhile: show the list as it is now.
      if (e instanceof ApiError && (e.code === 'wrong_status' || e.code === 'point_merged' || e.code === 'invalid_parameter')) void load();
      return refusal(e);
    }
  }

  return (
    <section class="points">
      <h1 tabIndex={-1}>{t('points.title')}</h1>
      <p class="hint">{t('points.intro')}</p>
      <label for="points-wijk">{t('points.wijk')}</label>
      <select id="points-wijk" value={wijk} onChange={(e) => setWijk(e.currentTarget.value)} data-testid="points-wijk">
        <option value="">{t('points.all_wijken')}</option>
        {(catalog?.wijken ?? []).map((w) => (
          <option key={w.id} value={w.id}>
            {w.label}
          </option>
        ))}
      </select>
      <p role="status" data-testid="points-notice">
        {notice ?? ''}
      </p>
      {failed && (
        <p class="error-text" role="alert" data-testid="points-error">
          {failed}
        </p>
      )}
      {points === null && !failed && <p class="hint">{t('points.loading')}</p>}
      {points !== null && points.length === 0 && <p data-testid="points-none">{t('points.none')}</p>}
      <ul class="plain">
        {(points ?? []).map((p) => (
          <PointCard key={p.id} point={p} catalog={catalog} walks={walks.filter((w) => w.context?.wijk === p.wijk)} others={(points ?? []).filter((o) => o.id !== p.id && o.wijk === p.wijk)} reasons={reasons} act={(b) => act(p, b)} />
        ))}
      </ul>
    </section>
  );
}

type Open = null | 'agenda' | 'merge' | 'answer' | 'decline';

function PointCard(props: { point: Point; catalog: CatalogInfo | null; walks: ListedDoc[]; others: Point[]; reasons: Reason[]; act: (b: PointAction) => Promise<string | null> }) {
  const { point: p, catalog } = props;
  const [open, setOpen] = useState<Open>(null);
  const [walk, setWalk] = useState('');
  const [text, setText] = useState(p.text);
  const [into, setInto] = useState('');
  const [how, setHow] = useState<'picked_up' | 'done'>('picked_up');
  const [partner, setPartner] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [contact, setContact] = useState<Contact | undefined>(undefined);
  const canAgenda = p.status === 'ontvangen' || p.status === 'op_agenda';
  const canDecline = canAgenda || p.status === 'bekeken';
  const chosenWalk = walk || (props.walks.length === 1 ? props.walks[0].id : '');

  async function submit(e: Event, body: PointAction | null) {
    e.preventDefault();
    if (!body) return;
    setBusy(true);
    const err = await props.act(body);
    setBusy(false);
    setError(err);
    if (!err) setOpen(null);
  }

  async function showContact() {
    try {
      const r = await app.api.json<{ contact: Contact }>('GET', `/api/v1/resident-points/${p.id}`);
      setContact(r.contact);
      setError(null);
    } catch (e) {
      setError(refusal(e));
    }
  }

  const toggle = (o: Exclude<Open, null>) => {
    setError(null);
    setOpen(open === o ? null : o);
  };
  const walkLabel = (d: ListedDoc) => `${fmtDate(d.context?.planned_at ?? d.planned_at, 'list')} · ${d.context?.title ?? ''}`;

  return (
    <li class="point-card" data-testid="point" data-point={p.id} data-status={p.status}>
      <p class="agenda-text">{p.text}</p>
      <p class="point-meta">
        {[labelOf(catalog?.categories, p.category), p.place, labelOf(catalog?.wijken, p.wijk)].filter((x) => x && x !== '–').join(' · ')}
      </p>
      <p class="point-meta">
        <strong data-testid="point-status">{statusLabel(p, catalog)}</strong> · {t('points.handed_in', { date: fmtDate(p.created_at, 'list') })} · {t('points.code', { code: p.receipt })}
        {p.has_contact ? ` · ${t('points.has_contact')}` : ''}
        {p.duplicates > 0 ? ` · ${tn('points.duplicates', p.duplicates)}` : ''}
      </p>
      <div class="actions">
        {canAgenda && (
          <button type="button" class="btn small" aria-expanded={open === 'agenda'} onClick={() => toggle('agenda')} data-testid="point-agenda">
            {t('points.agenda')}
          </button>
        )}
        <button type="button" class="btn small" aria-expanded={open === 'merge'} onClick={() => toggle('merge')} data-testid="point-merge">
          {t('points.merge')}
        </button>
        <button type="button" class="btn small" aria-expanded={open === 'answer'} onClick={() => toggle('answer')} data-testid="point-answer">
          {t('points.answer')}
        </button>
        {canDecline && (
          <button type="button" class="btn small" aria-expanded={open === 'decline'} onClick={() => toggle('decline')} data-testid="point-decline">
            {t('points.decline')}
          </button>
        )}
        {p.has_contact && contact === undefined && (
          <button type="button" class="btn small" onClick={() => void showContact()} data-testid="point-contact">
            {t('points.contact_show')}
          </button>
        )}
      </div>
      {p.has_contact && contact === undefined && <p class="hint">{t('points.contact_logged')}</p>}
      {contact !== undefined && (
        <p data-testid="point-contact-details">{contact ? [contact.name, contact.email, contact.phone].filter(Boolean).join(' · ') : t('points.contact_none')}</p>
      )}

      {open === 'agenda' && (
        <form class="stack" onSubmit={(e) => void submit(e, chosenWalk ? { action: 'agenda', walk: chosenWalk, ...(text.trim() !== p.text ? { text: text.trim() } : {}) } : null)}>
          {props.walks.length === 0 ? (
            <p data-testid="point-no-walks">{t('points.no_walks')}</p>
          ) : (
            <>
              <label for={`walk-${p.id}`}>{t('points.agenda_walk')}</label>
              <select id={`walk-${p.id}`} value={chosenWalk} onChange={(e) => setWalk(e.currentTarget.value)} data-testid="point-walk">
                {props.walks.length > 1 && <option value="">–</option>}
                {props.walks.map((d) => (
                  <option key={d.id} value={d.id}>
                    {walkLabel(d)}
                  </option>
                ))}
              </select>
              <label for={`text-${p.id}`}>{t('points.agenda_text')}</label>
              <textarea id={`text-${p.id}`} rows={3} maxLength={2000} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="point-text" />
              <button type="submit" class="btn primary" disabled={busy || !chosenWalk || !text.trim()} data-testid="point-agenda-save">
                {t('points.agenda_save')}
              </button>
            </>
          )}
        </form>
      )}

      {open === 'merge' && (
        <form class="stack" onSubmit={(e) => void submit(e, into ? { action: 'merge', into: Number(into) } : null)}>
          {props.others.length === 0 ? (
            <p>{t('points.merge_none')}</p>
          ) : (
            <>
              <label for={`into-${p.id}`}>{t('points.merge_into')}</label>
              <select id={`into-${p.id}`} value={into} onChange={(e) => setInto(e.currentTarget.value)} data-testid="point-into">
                <option value="">–</option>
                {props.others.map((o) => (
                  <option key={o.id} value={String(o.id)}>
                    {`${o.receipt} · ${o.text.length > 60 ? `${o.text.slice(0, 60)}…` : o.text}`}
                  </option>
                ))}
              </select>
              <button type="submit" class="btn primary" disabled={busy || !into} data-testid="point-merge-save">
                {t('points.merge_save')}
              </button>
            </>
          )}
        </form>
      )}

      {open === 'answer' && (
        <form class="stack" onSubmit={(e) => void submit(e, how === 'done' ? { action: 'done' } : partner ? { action: 'picked_up', partner } : null)}>
          <fieldset>
            <legend>{t('points.answer_how')}</legend>
            <label>
              <input type="radio" name={`how-${p.id}`} checked={how === 'picked_up'} onChange={() => setHow('picked_up')} /> {t('points.answer_partner')}
            </label>
            <label>
              <input type="radio" name={`how-${p.id}`} checked={how === 'done'} onChange={() => setHow('done')} data-testid="point-answer-done" /> {t('points.answer_done')}
            </label>
          </fieldset>
          {how === 'picked_up' && (
            <>
              <label for={`partner-${p.id}`}>{t('points.partner')}</label>
              <select id={`partner-${p.id}`} value={partner} onChange={(e) => setPartner(e.currentTarget.value)} data-testid="point-partner">
                <option value="">–</option>
                {(catalog?.partners ?? []).map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.label}
                  </option>
                ))}
              </select>
            </>
          )}
          <button type="submit" class="btn primary" disabled={busy || (how === 'picked_up' && !partner)} data-testid="point-answer-save">
            {t('points.answer_save')}
          </button>
        </form>
      )}

      {open === 'decline' && (
        <form class="stack" onSubmit={(e) => void submit(e, reason ? { action: 'decline', reason } : null)}>
          <fieldset>
            <legend>{t('points.reason')}</legend>
            {props.reasons.map((r) => (
              <label key={r.code}>
                <input type="radio" name={`reason-${p.id}`} value={r.code} checked={reason === r.code} onChange={() => setReason(r.code)} data-testid={`point-reason-${r.code}`} /> {r.sentence}
              </label>
            ))}
          </fieldset>
          <button type="submit" class="btn danger" disabled={busy || !reason} data-testid="point-decline-save">
            {t('points.decline_save')}
          </button>
        </form>
      )}
      {error && (
        <p class="error-text" role="alert" data-testid="point-error">
          {error}
        </p>
      )}
    </li>
  );
}
