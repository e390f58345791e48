// #/coord/feedback: "Terugbellen en terugkoppeling", the one work list of
// residents who wait for us (GET /api/v1/callbacks): call backs requested at a
// spreekuur and feedback that is due, the due date first so that late work
// leads (highlighted). A call back shows the resident's contact as tel: and
// mailto: links (the server audits that read), its attempts, and the forms to
// log an attempt, assign and close it; feedback has "terugkoppeling gegeven".
// The list, the due dates, the contact and the attempts are read over REST;
// the forms need the document on this device: "Bewerken" on an entry brings
// that one document here (a subscribe, ui/openDoc.ts; a laptop holds no
// walk or session otherwise, docs/sync-protocol.md §2). Every change is a
// typed edit of the document (offline-first, merged); a task changed here
// follows the local document at once, the server's list catches up after the
// sync. Filters: who, kind, late only, wijk.

import { useEffect, useState } from 'preact/hooks';
import { t, type MsgKey } from '../../i18n';
import { callbackOpen } from '../../model/doc';
import { useApp } from '../hooks';
import { ApiError, downloadCallbacks, getWorkList, type WorkItem, type WorkList } from './api';
import { ApiErrorLine, colorOf, fmtDate, labelOf, localRow, personName, useCatalog, useLiveRefresh, usePeople } from './common';
import { heldDoc } from '../openDoc';
import { OpenToEdit } from '../OpenToEdit';
import { FeedbackEditor } from './Detail';
import { CallbackTask, DueLine } from '../CallbackTask';
import { itemKey } from './live';
import { FinishButton, FinishingNotice, HeldDocs } from './Finish';

type Who = '' | 'me' | 'team';
type Task = '' | 'callback' | 'feedback';

export function FeedbackScreen() {
  const app = useApp();
  const catalog = useCatalog();
  const people = usePeople();
  const [data, setData] = useState<WorkList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [who, setWho] = useState<Who>('');
  const [task, setTask] = useState<Task>('');
  const [lateOnly, setLateOnly] = useState(false);
  const [wijk, setWijk] = useState('');

  const params = new URLSearchParams();
  if (who === 'me' && app.user) params.set('assignee', app.user.id);
  if (who === 'team') params.set('assignee', 'team');
  if (task) params.set('task', task);
  if (lateOnly) params.set('overdue', 'true');
  if (wijk) params.set('wijk', wijk);
  const query = params.toString();

  async function load() {
    try {
      setData(await getWorkList(new URLSearchParams(query)));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    void load();
  }, [query]);
  useLiveRefresh(() => void load(), 1000);

  // Done locally (perhaps not yet on the server): leave the list now.
  const open = (data?.items ?? []).filter((e) => {
    const l = localRow(e.item.doc_id, e.item.item_id);
    if (!l) return true;
    if (l.deleted) return false;
    if (e.task === 'callback') return callbackOpen(l.callback);
    return !(l.feedback?.given_at || l.feedback?.needed === false);
  });
  const now = data?.now ?? Date.now();
  const late = open.filter((e) => e.due_at !== null && e.due_at < now).length;
  const names = (id: string | null | undefined) => personName(people, id);
  const assignable = people.map((p) => ({ id: p.id, name: p.name || p.id }));

  return (
    <section class="coord-screen">
      <h1 tabIndex={-1}>{t('callbacks.title')}</h1>
      <p class="hint">{t('callbacks.hint')}</p>
      <form class="filters frow" aria-label={t('callbacks.title')} onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="wl-who">{t('callbacks.filter.who')}</label>
          <select id="wl-who" value={who} onChange={(e) => setWho(e.currentTarget.value as Who)} data-testid="wl-who">
            <option value="">{t('callbacks.filter.all')}</option>
            <option value="me">{t('callbacks.filter.me')}</option>
            <option value="team">{t('callbacks.filter.team')}</option>
          </select>
        </div>
        <div class="field">
          <label for="wl-task">{t('callbacks.filter.task')}</label>
          <select id="wl-task" value={task} onChange={(e) => setTask(e.currentTarget.value as Task)} data-testid="wl-task">
            <option value="">{t('callbacks.filter.task.all')}</option>
            <option value="callback">{t('callbacks.task.callback')}</option>
            <option value="feedback">{t('callbacks.task.feedback')}</option>
          </select>
        </div>
        <div class="field">
          <label for="wl-wijk">{t('callbacks.filter.wijk')}</label>
          <select id="wl-wijk" value={wijk} onChange={(e) => setWijk(e.currentTarget.value)}>
            <option value="">{t('callbacks.filter.wijk.all')}</option>
            {(catalog?.wijken ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.label}
              </option>
            ))}
          </select>
        </div>
        <label class="check">
          <input type="checkbox" checked={lateOnly} onChange={(e) => setLateOnly(e.currentTarget.checked)} data-testid="wl-late" />
          {t('callbacks.filter.overdue')}
        </label>
      </form>
      <ApiErrorLine error={error} />
      <p class="hint" role="status" data-testid="feedback-count" data-count={open.length} data-late={late}>
        {data ? (open.length === 0 ? t('callbacks.none') : t('callbacks.count', { n: open.length, late })) : t('coordinator.loading')}
      </p>
      <ol class="cards" data-testid="feedback-list">
        {open.map((e) => (
          <Entry key={`${e.task}:${itemKey(e.item)}`} e={e} now={now} names={names} assignable={assignable} />
        ))}
      </ol>
      <HeldDocs />
      {app.user?.roles.includes('coordinator') && task !== 'feedback' && <CallbackExport query={query} />}
    </section>
  );
}

/**
 * The call-back list as a file, for whoever calls back: the open call backs of
 * the filters above with only the resident's name and phone (no e-mail, no
 * note text). Coordinators only; a reason is asked because it holds personal
 * data, and the server records the export in the audit log.
 */
function CallbackExport({ query }: { query: string }) {
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState<{ kind: 'idle' } | { kind: 'busy' } | { kind: 'done'; bytes: number } | { kind: 'error'; error: unknown }>({ kind: 'idle' });
  async function run(excel: boolean) {
    if (!reason.trim()) return;
    setStatus({ kind: 'busy' });
    try {
      setStatus({ kind: 'done', bytes: await downloadCallbacks(new URLSearchParams(query), reason.trim(), excel) });
    } catch (e) {
      setStatus({ kind: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'network', '') });
    }
  }
  return (
    <section class="card-form export" aria-labelledby="cb-export-h" data-testid="callback-export">
      <h2 id="cb-export-h">{t('callbacks.export.title')}</h2>
      <p class="hint">{t('callbacks.export.hint')}</p>
      <label for="cb-export-reason">{t('coordinator.export.reason')}</label>
      <textarea id="cb-export-reason" rows={2} maxLength={500} required value={reason} aria-describedby="cb-export-reason-hint" onInput={(e) => setReason(e.currentTarget.value)} data-testid="callback-export-reason" />
      <p id="cb-export-reason-hint" class="hint">
        {t('coordinator.export.reason_hint')}
      </p>
      <div class="row">
        <button type="button" class="btn primary" disabled={!reason.trim() || status.kind === 'busy'} onClick={() => void run(true)} data-testid="callback-export-excel">
          {t('callbacks.export.excel')}
        </button>
        <button type="button" class="btn" disabled={!reason.trim() || status.kind === 'busy'} onClick={() => void run(false)} data-testid="callback-export-csv">
          {t('coordinator.export.csv')}
        </button>
      </div>
      <p role="status" class="hint" data-testid="callback-export-status">
        {status.kind === 'busy' ? t('coordinator.loading') : status.kind === 'done' ? t('coordinator.export.done', { kb: Math.max(1, Math.round(status.bytes / 1024)) }) : ''}
      </p>
      {status.kind === 'error' && <ApiErrorLine error={status.error} />}
    </section>
  );
}

function Entry({ e, now, names, assignable }: { e: WorkItem; now: number; names: (id: string | null | undefined) => string; assignable: { id: string; name: string }[] }) {
  const app = useApp();
  const catalog = useCatalog();
  const r = e.item;
  const doc = heldDoc(r.doc_id);
  const local = doc ? localRow(r.doc_id, r.item_id) : null;
  const open = <OpenToEdit docId={r.doc_id} label={t('remote.edit')} />;
  // An entry whose forms are shown keeps its document on the device while the list is open,
  // unless the user said "Klaar": then it may go once every change of it is acked.
  const finished = app.finishedHere(r.doc_id);
  const held = doc !== null && !finished;
  useEffect(() => (held ? app.hold(r.doc_id) : undefined), [r.doc_id, held]);
  const late = e.due_at !== null && e.due_at < now;
  return (
    <li
      class={`item fb-item${late ? ' overdue' : ''}`}
      style={{ borderLeftColor: colorOf(catalog, r.category) }}
      data-testid="feedback-item"
      data-task={e.task}
      data-key={itemKey(r)}
      data-overdue={late ? 'true' : 'false'}
    >
      <div class="item-head">
        <strong>{t(`callbacks.task.${e.task}` as MsgKey)}</strong>
        <span>{labelOf(catalog?.categories, r.category)}</span>
        <span class="hint">
          {t(`coordinator.kind.${r.doc_kind}` as MsgKey)}: {r.doc_title || '–'} · {labelOf(catalog?.wijken, r.wijk)} · {fmtDate(r.created_at, 'list')}
        </span>
      </div>
      <p class="item-text">
        <a href={`#/coord/item/${r.doc_id}/${r.item_id}`}>{r.text?.trim() || t('coordinator.list.no_text')}</a>
      </p>
      {e.task === 'callback' ? (
        doc && local && !finished ? (
          <CallbackTask docId={r.doc_id} row={local} contact={e.contact ?? null} names={names} assignable={assignable} now={now} />
        ) : (
          <>
            <CallbackTask docId={r.doc_id} row={r} contact={e.contact ?? null} names={names} now={now} readOnly />
            {finished ? null : doc ? <p class="hint">{t('callbacks.doc_loading')}</p> : open}
          </>
        )
      ) : (
        <>
          <p class="item-meta">
            <DueLine due={e.due_at} now={now} />
          </p>
          {finished ? null : doc && local ? <FeedbackEditor doc={doc} row={local} compact /> : doc ? <p class="hint">{t('coordinator.detail.doc_loading')}</p> : open}
        </>
      )}
      {finished ? <FinishingNotice docId={r.doc_id} /> : doc && local && <FinishButton docId={r.doc_id} compact />}
    </li>
  );
}
