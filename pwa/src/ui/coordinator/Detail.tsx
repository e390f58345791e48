// #/coord/item/<doc>/<item>: one observation or note in full, its document's
// context (walk or spreekuur session, GET /api/v1/items/{doc}/{id}), its
// history (GET .../history), and the follow-up and feedback editors.
//
// Reading is REST only: a coordinator's laptop holds no walk or session
// unless it was opened to edit (the sync scope, docs/sync-protocol.md §2).
// The editors work on the document itself: "Bewerken" brings this one
// document onto the device (a subscribe, ui/openDoc.ts), and the follow-up
// and feedback are typed wasm edits of it, synced, so they merge with phone
// edits. A document already on the device shows its editors at once.

import { useEffect, useState } from 'preact/hooks';
import { editError } from '../editError';
import { saveFollowUpAction } from '../actions';
import { t, type MsgKey, tn } from '../../i18n';
import { teamLabel, type Doc, type Row } from '../../model/doc';
import { useApp, useDraft } from '../hooks';
import { getHistory, getItem, type History, type ItemDetail } from './api';
import { ApiErrorLine, colorOf, fmtDate, fmtDateTime, labelOf, localRow, personName, useCatalog, useDocChanges, useListsChanged, usePeople } from './common';
import { lastListHref } from './List';
import { MailPanel } from './Mail';
import { photoShas, PhotoStrip } from '../../photo/Thumbs';
import { fieldWords } from './historyWords';
import { CHANNELS, dayOf, dayStart, STATUSES, type Channel, type Status } from './filters';
import { EraseButton } from './Erase';
import { ErasedLine } from '../ErasedNotice';
import { contactErasure, itemErasure } from '../erased';
import { heldDoc } from '../openDoc';
import { OpenToEdit } from '../OpenToEdit';
import { LeavingNotice } from '../NotOnDevice';
import { FinishButton, FinishingNotice } from './Finish';

export function DetailScreen({ docId, itemId }: { docId: string; itemId: string }) {
  const app = useApp();
  const catalog = useCatalog();
  const people = usePeople();
  const [detail, setDetail] = useState<ItemDetail | null>(null);
  const [history, setHistory] = useState<History | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function loadDetail() {
    try {
      setDetail(await getItem(docId, itemId));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  async function loadHistory() {
    try {
      setHistory(await getHistory(docId, itemId));
    } catch {
      // the detail's error line already says what is wrong with the server
    }
  }
  useEffect(() => {
    setDetail(null);
    setHistory(null);
    void loadDetail();
    void loadHistory();
  }, [docId, itemId]);
  // While this screen is open its document stays on the device (what is typed in the editors stays),
  // unless the user said "Klaar": then it may go once every change of it is acked.
  const finished = app.finishedHere(docId);
  useEffect(() => (finished ? undefined : app.hold(docId)), [docId, finished]);
  // Read again when the server says walks or sessions changed elsewhere
  // (`lists_changed`) and when the connection comes back: the text,
  // context and history of a document this device does not hold are read
  // over REST only.
  useListsChanged(() => {
    void loadDetail();
    void loadHistory();
  });
  // The server's copy (history, context) follows once our edits are acked.
  useDocChanges(
    () => {
      void loadHistory();
    },
    docId,
    1500,
  );
  useEffect(() => {
    const ack = app.pending.get(docId) ?? 0;
    if (ack === 0 && detail) void loadHistory();
  }, [app.pending.get(docId) ?? 0]);

  const doc = heldDoc(docId);
  const local: Row | null = doc ? localRow(docId, itemId) : null;
  // The server's row when it records an erasure this device's copy does not
  // have yet (the copy is replaced once the sync socket announces the new
  // epoch): erased values are never shown again after the server confirmed.
  const serverErased = (!!detail?.item.erased?.item && !local?.erased?.item) || (!!detail?.item.erased?.contact && !local?.erased?.contact);
  const row: Row | null = (serverErased ? detail?.item : local) ?? detail?.item ?? null;
  const ctx = detail?.context;
  const isWalk = (row?.doc_kind ?? doc?.kind()) === 'walk';
  const pending = app.pending.get(docId) ?? 0;

  return (
    <section class="coord-screen detail" data-testid="detail">
      <p>
        <a class="back" href={lastListHref()}>
          ← {t('coordinator.detail.back')}
        </a>
      </p>
      <h1 tabIndex={-1}>
        {row ? `${labelOf(catalog?.categories, row.category)} · ${labelOf(catalog?.severities, row.severity)}` : t('coordinator.detail.title')}
      </h1>
      <ApiErrorLine error={error} />
      {!row && !error && <p class="hint">{t('coordinator.loading')}</p>}
      {row && (
        <div class="detail-grid">
          <div>
            <article class="item" style={{ borderLeftColor: colorOf(catalog, row.category) }} aria-labelledby="detail-text-h">
              <h2 id="detail-text-h" class="sr-only">
                {t('coordinator.detail.text')}
              </h2>
              <p class="item-text" data-testid="detail-text">
                {itemErasure(row) ? <ErasedLine erasure={itemErasure(row)} what="item" /> : row.text?.trim() ? row.text : t('coordinator.list.no_text')}
              </p>
              <dl class="facts">
                <dt>{t('coordinator.col.date')}</dt>
                <dd data-testid="detail-date">{fmtDateTime(row.created_at, 'detail')}</dd>
                <dt>{t('coordinator.detail.author')}</dt>
                <dd>{people.some((p) => p.id === row.created_by) ? personName(people, row.created_by) : authorName(history, row.created_by)}</dd>
                <dt>{t('coordinator.col.wijk')}</dt>
                <dd>{labelOf(catalog?.wijken, row.wijk)}</dd>
                <dt>{t('coordinator.detail.team')}</dt>
                <dd>{teamLabel(catalog, row.team) || '–'}</dd>
                {row.place && (
                  <>
                    <dt>{t('coordinator.detail.place')}</dt>
                    <dd>{row.place}</dd>
                  </>
                )}
                {row.location && row.address && (
                  <>
                    <dt>{t('coordinator.detail.address')}</dt>
                    <dd data-testid="detail-address" title={`${row.location.lat.toFixed(5)}, ${row.location.lon.toFixed(5)}`}>
                      {row.address}
                    </dd>
                  </>
                )}
                {row.location && !row.address && (
                  <>
                    <dt>{t('coordinator.detail.gps')}</dt>
                    <dd>
                      {row.location.lat.toFixed(5)}, {row.location.lon.toFixed(5)} (± {Math.round(row.location.accuracy_m ?? 0)} m)
                    </dd>
                  </>
                )}
                {(detail?.item.resident || (row.doc_kind === 'spreekuur' && contactErasure(row))) && (
                  <>
                    <dt>{t('coordinator.detail.resident')}</dt>
                    <dd data-testid="detail-resident">
                      {contactErasure(row) ? <ErasedLine erasure={contactErasure(row)} what="contact" /> : [detail?.item.resident?.name, detail?.item.resident?.phone, detail?.item.resident?.email].filter(Boolean).join(', ') || '–'}
                    </dd>
                  </>
                )}
                {row.callback?.requested && (
                  <>
                    <dt>{t('coordinator.detail.callback')}</dt>
                    <dd>{row.callback.done_at ? t('coordinator.detail.callback_done', { date: fmtDateTime(row.callback.done_at, 'detail') }) : t('coordinator.detail.callback_open')}</dd>
                  </>
                )}
              </dl>
              {photoShas(row.photos).length > 0 && (
                <section class="gallery" aria-labelledby="detail-photos-h" data-testid="detail-gallery">
                  <h3 id="detail-photos-h">
                    {t('coordinator.detail.photos')} ({photoShas(row.photos).length})
                  </h3>
                  <p class="hint">{t('photos.full_hint')}</p>
                  <PhotoStrip refs={row.photos} large />
                </section>
              )}
              {Object.keys(row.invalid ?? {}).length > 0 && <p class="warn-text">{t('coordinator.detail.invalid', { fields: Object.keys(row.invalid).join(', ') })}</p>}
              {app.user?.roles.includes('coordinator') && (
                <div class="row">
                  <EraseButton
                    docId={docId}
                    row={row}
                    onErased={() => {
                      void loadDetail();
                      void loadHistory();
                    }}
                  />
                </div>
              )}
            </article>

            <h2>{t('coordinator.followup.title')}</h2>
            {doc && finished ? (
              <FinishingNotice docId={docId} />
            ) : doc && local && catalog ? (
              <>
                <LeavingNotice docId={docId} />
                <FollowUpEditor doc={doc} row={local} />
                <FeedbackEditor doc={doc} row={local} />
                <p class="hint" role="status" data-testid="doc-pending" data-pending={pending}>
                  {pending > 0 ? tn('coordinator.detail.pending', pending) : t('coordinator.detail.synced')}
                </p>
                <FinishButton docId={docId} />
              </>
            ) : doc && !local ? (
              <p class="hint" data-testid="doc-loading">
                {t('coordinator.detail.doc_loading')}
              </p>
            ) : (
              <>
                {app.wasEvicted(docId) && (
                  <p class="hint" data-testid="evicted">
                    {t('coordinator.detail.evicted')}
                  </p>
                )}
                <OpenToEdit docId={docId} label={t('remote.edit_followup')} hint={t('remote.edit_hint')} />
              </>
            )}
            {app.user?.roles.includes('coordinator') && <MailPanel docId={docId} itemId={itemId} row={row} resident={detail?.item.resident} />}
          </div>
          <div>
            <h2>{isWalk ? t('coordinator.kind.walk') : t('coordinator.kind.spreekuur')}</h2>
            {ctx ? <Context ctx={ctx} isWalk={isWalk} docId={docId} /> : <p class="hint">{t('coordinator.loading')}</p>}
            <h2>{t('coordinator.history.title')}</h2>
            <HistoryList history={history} />
          </div>
        </div>
      )}
    </section>
  );
}

function authorName(h: History | null, id: string | null): string {
  if (!id) return '–';
  const e = h?.entries.find((x) => x.user_id === id && x.user_name);
  return e?.user_name ?? id;
}

function Context({ ctx, isWalk, docId }: { ctx: NonNullable<ItemDetail['context']>; isWalk: boolean; docId: string }) {
  const catalog = useCatalog();
  if (isWalk)
    return (
      <div data-testid="detail-context">
        <p>
          <strong>{ctx.title || '–'}</strong>
        </p>
        <dl class="facts">
          <dt>{t('coordinator.col.wijk')}</dt>
          <dd>{labelOf(catalog?.wijken, ctx.wijk)}</dd>
          {ctx.route && (
            <>
              <dt>{t('coordinator.ctx.route')}</dt>
              <dd>{ctx.route}</dd>
            </>
          )}
          <dt>{t('coordinator.ctx.when')}</dt>
          <dd>{fmtDateTime(ctx.started_at ?? ctx.planned_at ?? null, 'detail')}</dd>
          <dt>{t('coordinator.ctx.observations')}</dt>
          <dd>{ctx.observation_count ?? '–'}</dd>
          <dt>{t('coordinator.ctx.participants')}</dt>
          <dd>{(ctx.participants ?? []).map((p) => (p.organisation ? `${p.name} (${p.organisation})` : p.name)).join(', ') || '–'}</dd>
        </dl>
        <a class="btn small" href={`#/coord/report/${docId}`} data-testid="report-link">
          {t('coordinator.report_link')}
        </a>
      </div>
    );
  return (
    <div data-testid="detail-context">
      <p>
        <strong>{ctx.location || '–'}</strong>
      </p>
      <dl class="facts">
        <dt>{t('coordinator.col.wijk')}</dt>
        <dd>{labelOf(catalog?.wijken, ctx.wijk)}</dd>
        <dt>{t('coordinator.ctx.held_on')}</dt>
        <dd>{fmtDate(ctx.held_on ?? null, 'detail')}</dd>
        <dt>{t('coordinator.ctx.notes')}</dt>
        <dd>{ctx.note_count ?? '–'}</dd>
        <dt>{t('coordinator.ctx.staff')}</dt>
        <dd>{(ctx.staff ?? []).map((s) => s.name).join(', ') || '–'}</dd>
      </dl>
    </div>
  );
}

const KNOWN_EDITS = new Set(['add_observation', 'add_note', 'add_staff', 'withdraw_resident_consent', 'add_photo', 'complete_callback', 'delete_item', 'undelete_item', 'record_feedback_given', 'request_callback', 'set_category', 'set_feedback_needed', 'set_follow_up', 'set_location', 'set_address', 'set_place', 'set_resident_contact', 'set_severity', 'splice_follow_up_note', 'splice_text']);

/** A readable name for a typed edit ("set_follow_up" -> "opvolging gewijzigd"); unknown ones as they are. */
function historyMessage(m: string | null): string {
  if (!m) return '';
  // One user action is one change; its message names every edit, joined by ','.
  return m
    .split(',')
    .map((x) => (KNOWN_EDITS.has(x) ? t(`coordinator.history.msg.${x}` as MsgKey) : x))
    .join(', ');
}

function HistoryList({ history }: { history: History | null }) {
  const catalog = useCatalog();
  if (!history) return <p class="hint">{t('coordinator.loading')}</p>;
  if (history.entries.length === 0) return <p class="hint">{t('coordinator.history.empty')}</p>;
  return (
    <ol class="history" data-testid="history">
      {history.entries.map((e) => (
        <li key={e.hash} data-testid="history-entry" data-message={e.message ?? ''}>
          <span class="nowrap" data-testid="history-when">{fmtDateTime(e.received_at ?? e.time, 'history')}</span> · <strong>{e.user_name ?? e.user_id ?? t('coordinator.history.unknown')}</strong> · {e.created ? t('coordinator.history.created') : historyMessage(e.message)}
          {e.fields.length > 0 && !e.created && (
            <div class="item-meta" data-testid="history-fields">
              {fieldWords(e.fields, (p) => labelOf(catalog?.partners, p)).join(', ')}
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}

/** The partners assigned to the item, each with status and note; add another partner from the catalog. */
export function FollowUpEditor({ doc, row }: { doc: Doc; row: Row }) {
  const app = useApp();
  const catalog = useCatalog();
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState({ partner: '', status: 'open' as Status, note: '' });
  const entries = Object.entries(row.follow_up ?? {});
  const assigned = new Set(entries.map(([p]) => p));
  const free = (catalog?.partners ?? []).filter((p) => !assigned.has(p.id));

  async function edit(f: (d: Doc, cat: Doc) => void): Promise<boolean> {
    const cat = app.catalog();
    if (!cat) return false;
    try {
      await app.edit(doc.id, (d) => f(d, cat));
      setError(null);
      return true;
    } catch (e) {
      setError(editFailure(e));
      return false;
    }
  }

  return (
    <div class="stack" data-testid="followup-editor">
      {entries.length === 0 && <p class="hint">{t('coordinator.followup.none')}</p>}
      {entries.map(([p, fu]) => (
        <FollowUpRow key={p} partner={p} status={(fu.status ?? 'open') as Status} note={fu.note ?? ''} updated={fu.updated_at} onSave={(status, prevNote, note) => edit((d, cat) => saveFollowUpAction(cat, row.item_id, p, { status: fu.status, note: prevNote }, { status, note })(d))} />
      ))}
      {free.length > 0 && (
        <form
          class="card-form stack"
          onSubmit={async (e) => {
            e.preventDefault();
            if (!adding.partner) return;
            if (await edit((d, cat) => d.setFollowUp(cat, row.item_id, adding.partner, adding.status, adding.note.trim() ? adding.note : null))) setAdding({ partner: '', status: 'open', note: '' });
          }}
          aria-labelledby="fu-add-h"
        >
          <h3 id="fu-add-h">{t('coordinator.followup.add')}</h3>
          <label for="fu-partner">{t('coordinator.followup.partner')}</label>
          <select id="fu-partner" value={adding.partner} required onChange={(e) => setAdding({ ...adding, partner: e.currentTarget.value })} data-testid="fu-partner">
            <option value="">{t('coordinator.followup.choose')}</option>
            {free.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
          <label for="fu-status">{t('coordinator.followup.status')}</label>
          <select id="fu-status" value={adding.status} onChange={(e) => setAdding({ ...adding, status: e.currentTarget.value as Status })} data-testid="fu-status">
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`coordinator.status.${s}` as MsgKey)}
              </option>
            ))}
          </select>
          <label for="fu-note">{t('coordinator.followup.note')}</label>
          <textarea id="fu-note" rows={2} value={adding.note} onInput={(e) => setAdding({ ...adding, note: e.currentTarget.value })} data-testid="fu-note" />
          <button type="submit" class="btn primary" data-testid="fu-add">
            {t('coordinator.followup.assign')}
          </button>
        </form>
      )}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function FollowUpRow({ partner, status, note, updated, onSave }: { partner: string; status: Status; note: string; updated: number | null; onSave: (status: Status, prevNote: string, note: string) => Promise<boolean> }) {
  const catalog = useCatalog();
  // A remote change of the status or the note while not editing it: take it over. A status
  // chosen but not saved yet stays (it used to be overwritten by any change of the status).
  const [s, setS] = useDraft<Status>(status);
  const [n, setN] = useDraft(note);
  const dirty = s !== status || n !== note;
  const id = `fu-${partner}`;
  return (
    <form
      class="card-form stack"
      data-testid="fu-entry"
      data-partner={partner}
      data-status={status}
      aria-labelledby={`${id}-h`}
      onSubmit={async (e) => {
        e.preventDefault();
        await onSave(s, note, n);
      }}
    >
      <h3 id={`${id}-h`}>{labelOf(catalog?.partners, partner)}</h3>
      {updated !== null && <p class="hint">{t('coordinator.followup.updated', { date: fmtDateTime(updated, 'detail') })}</p>}
      <label for={`${id}-status`}>{t('coordinator.followup.status')}</label>
      <select id={`${id}-status`} value={s} onChange={(e) => setS(e.currentTarget.value as Status)} data-testid="fu-entry-status">
        {STATUSES.map((x) => (
          <option key={x} value={x}>
            {t(`coordinator.status.${x}` as MsgKey)}
          </option>
        ))}
      </select>
      <label for={`${id}-note`}>{t('coordinator.followup.note')}</label>
      <textarea id={`${id}-note`} rows={2} value={n} onInput={(e) => setN(e.currentTarget.value)} data-testid="fu-entry-note" />
      <button type="submit" class="btn" disabled={!dirty} data-testid="fu-entry-save">
        {t('coordinator.save')}
      </button>
    </form>
  );
}

/** Feedback to the resident: needed or not, and given (channel, date). */
export function FeedbackEditor({ doc, row, compact = false, onGiven }: { doc: Doc; row: Row; compact?: boolean; onGiven?: () => void }) {
  const app = useApp();
  const [channel, setChannel] = useState<Channel>('telefoon');
  const [day, setDay] = useState(dayOf(Date.now()));
  const [error, setError] = useState<string | null>(null);
  const fb = row.feedback;
  const id = `fb-${row.item_id}`;

  async function edit(f: (d: Doc) => void): Promise<boolean> {
    try {
      await app.edit(doc.id, f);
      setError(null);
      return true;
    } catch (e) {
      setError(editFailure(e));
      return false;
    }
  }

  async function give(e: Event) {
    e.preventDefault();
    const today = dayOf(Date.now());
    // Today: now; another day: noon of that day (local time).
    const at = day === today || !day ? Date.now() : dayStart(day) + 12 * 3600_000;
    if (await edit((d) => d.recordFeedbackGiven(row.item_id, channel, at))) onGiven?.();
  }

  return (
    <div class="stack" data-testid="feedback-editor">
      {!compact && <h3>{t('coordinator.feedback.title')}</h3>}
      {!compact && (
        <label class="check">
          <input type="checkbox" checked={fb?.needed === true} onChange={(e) => void edit((d) => d.setFeedbackNeeded(row.item_id, e.currentTarget.checked))} data-testid="fb-needed" />
          <span>{t('coordinator.feedback.needed')}</span>
        </label>
      )}
      {fb?.given_at ? (
        <p data-testid="fb-given">{t('coordinator.feedback.given', { date: fmtDate(fb.given_at, 'detail'), channel: t(`coordinator.channel.${fb.channel ?? 'telefoon'}` as MsgKey) })}</p>
      ) : (
        (fb?.needed || compact) && (
          <form class="row fb-form" onSubmit={give} aria-label={t('coordinator.feedback.mark')}>
            <div class="field">
              <label for={`${id}-ch`}>{t('coordinator.feedback.channel')}</label>
              <select id={`${id}-ch`} value={channel} onChange={(e) => setChannel(e.currentTarget.value as Channel)} data-testid="fb-channel">
                {CHANNELS.map((c) => (
                  <option key={c} value={c}>
                    {t(`coordinator.channel.${c}` as MsgKey)}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for={`${id}-day`}>{t('coordinator.feedback.date')}</label>
              <input id={`${id}-day`} type="date" value={day} max={dayOf(Date.now())} required onInput={(e) => setDay(e.currentTarget.value)} />
            </div>
            <button type="submit" class="btn primary" data-testid="fb-give">
              {t('coordinator.feedback.mark')}
            </button>
          </form>
        )
      )}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** What a failed edit shows: a refused edit in plain words (nothing of the action was applied); a storage failure by its code. */
function editFailure(e: unknown): string {
  return editError(e)?.text ?? t('coordinator.edit_error', { code: (e as { code?: string }).code ?? 'internal' });
}
