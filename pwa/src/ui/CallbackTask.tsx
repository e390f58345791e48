// One call-back task (a spreekuur note whose resident asked to be called
// back): due date (late ones highlighted), who calls, the resident's contact as
// tel:/mailto: links, the attempts so far, and the forms to log an attempt,
// to close the task with an outcome and (coordinators) to assign it. Every
// change is a typed edit of the note's document through app.edit(), so it
// works offline and merges (attempts logged on two devices at once are both
// kept). "opgeslagen" is shown only after app.edit() resolved, i.e. after the
// IndexedDB commit; a refused edit shows the reason and keeps the form filled.
// Used by the coordinators' work list and the field app's "Mijn
// terugbelverzoeken".

import { formatWhen } from '../dates';
import { useState } from 'preact/hooks';
import { t, type MsgKey } from '../i18n';
import { ATTEMPT_OUTCOMES, CALLBACK_OUTCOMES, callbackOpen, type AttemptOutcome, type CallbackOutcome, type Row } from '../model/doc';
import { useApp } from './hooks';

export interface ContactLinks {
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  tel?: string | null;
  mailto?: string | null;
}

/** A `tel:` link for a number as people type it: the first number, digits and a leading +. */
export function telLink(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const first = phone.split(/[/,;]| of /)[0] ?? '';
  let out = '';
  for (const c of first.trim()) {
    if (c === '+' && out === '') out = '+';
    else if (c >= '0' && c <= '9') out += c;
    else if (' -.()'.includes(c)) continue;
    else break;
  }
  const digits = out.replace('+', '').length;
  return digits >= 6 && digits <= 20 ? `tel:${out}` : null;
}

/** Contact links of a local row (the field app has the resident on the device). */
export function contactOf(row: Row): ContactLinks | null {
  const r = row.resident;
  if (!r || !(r.name || r.phone || r.email)) return null;
  // The model's E.164 form of the first number when it derived one, else the digits as typed.
  const e164 = (r.phone_e164 ?? '').split(/\s+/)[0] ?? '';
  const tel = /^\+\d{6,20}$/.test(e164) ? `tel:${e164}` : telLink(r.phone);
  return { name: r.name, phone: r.phone, email: r.email, tel, mailto: r.email ? `mailto:${r.email}` : null };
}

function fmt(ms: number | null | undefined): string {
  return formatWhen(ms, 'list');
}

/** `yyyy-mm-dd` of a time, local. */
function dayInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A due date typed as `yyyy-mm-dd`: 17:00 local time that day (end of the working day). */
function dueFromInput(day: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const ms = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 17, 0, 0).getTime();
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const c = typeof code === 'string' ? code : 'internal';
  const known = ['callback_closed', 'callback_already_done', 'callback_not_requested', 'item_deleted'];
  return known.includes(c) ? t(`callbacks.error.${c}` as MsgKey) : t('callbacks.error.other', { code: c });
}

export function DueLine({ due, now }: { due: number | null | undefined; now: number }) {
  const late = due !== null && due !== undefined && due < now;
  return (
    <span class={late ? 'due overdue' : 'due'} data-testid="cb-due" data-overdue={late ? 'true' : 'false'}>
      {due === null || due === undefined ? t('callbacks.no_due') : t('callbacks.due', { date: fmt(due) })}
      {late && <strong class="late-badge"> {t('callbacks.overdue')}</strong>}
    </span>
  );
}

export function ContactLine({ contact }: { contact: ContactLinks | null }) {
  if (!contact) return <p class="hint">{t('callbacks.no_contact')}</p>;
  return (
    <p class="contact" data-testid="cb-contact">
      {contact.name && <span>{contact.name} </span>}
      {contact.phone &&
        (contact.tel ? (
          <a class="btn small" href={contact.tel} data-testid="cb-tel">
            {t('callbacks.call', { phone: contact.phone })}
          </a>
        ) : (
          <span>{contact.phone} </span>
        ))}{' '}
      {contact.email && contact.mailto && (
        <a class="btn small" href={contact.mailto} data-testid="cb-mailto">
          {t('callbacks.mail', { email: contact.email })}
        </a>
      )}
    </p>
  );
}

/**
 * The task of `row` (a local row of document `docId`). `people` maps user
 * ids to names; `assignable` lists who it can be assigned to (coordinators).
 * `readOnly`: the row comes from the server's list (the document is not on
 * this device), so the task is shown without its forms.
 */
export function CallbackTask({
  docId,
  row,
  contact,
  names,
  assignable,
  now,
  readOnly = false,
}: {
  docId: string;
  row: Row;
  contact: ContactLinks | null;
  names: (id: string | null | undefined) => string;
  assignable?: { id: string; name: string }[];
  now: number;
  readOnly?: boolean;
}) {
  const app = useApp();
  const cb = row.callback;
  const [outcome, setOutcome] = useState<AttemptOutcome | ''>('');
  const [note, setNote] = useState('');
  const [closeOutcome, setCloseOutcome] = useState<CallbackOutcome | ''>('');
  const [assignee, setAssignee] = useState<string>(cb?.assignee ?? '');
  const [dueDay, setDueDay] = useState<string>(cb?.due_at ? dayInput(cb.due_at) : '');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  if (!cb) return null;
  const open = callbackOpen(cb);
  const attempts = Object.entries(cb.attempts ?? {}).sort(([a, x], [b, y]) => (x.at ?? 0) - (y.at ?? 0) || a.localeCompare(b));
  const base = `cb-${row.item_id}`;

  async function run(f: () => Promise<unknown>, ok: string, after?: () => void) {
    setBusy(true);
    setMsg(null);
    try {
      await f();
      setMsg({ ok: true, text: ok });
      after?.();
    } catch (e) {
      setMsg({ ok: false, text: t('callbacks.error', { reason: reason(e) }) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="cb-task" data-testid="cb-task" data-open={open ? 'true' : 'false'} data-editable={readOnly ? 'false' : 'true'}>
      <p class="item-meta">
        <DueLine due={cb.due_at} now={now} /> · {t('callbacks.assignee', { name: cb.assignee ? names(cb.assignee) : t('callbacks.assignee.team') })}
      </p>
      <ContactLine contact={contact} />
      {attempts.length > 0 && (
        <>
          <h4>{t('callbacks.attempts')}</h4>
          <ol class="plain attempts" data-testid="cb-attempts">
            {attempts.map(([id, a]) => (
              <li key={id} data-testid="cb-attempt" data-outcome={a.outcome ?? ''}>
                {t('callbacks.attempt_line', {
                  when: fmt(a.at),
                  who: names(a.by),
                  outcome: a.outcome ? t(`callbacks.outcome.${a.outcome}` as MsgKey) : '?',
                })}
                {a.note ? ` — ${a.note}` : ''}
              </li>
            ))}
          </ol>
        </>
      )}
      {!open && (
        <p class="done" data-testid="cb-closed">
          {t('callbacks.closed', { outcome: cb.outcome ? t(`callbacks.close.${cb.outcome}` as MsgKey) : '–' })}
        </p>
      )}
      {open && !readOnly && (
        <div class="cb-forms">
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (!outcome) return;
              void run(
                () => app.edit(docId, (d) => d.logCallbackAttempt(row.item_id, outcome, note)),
                t('callbacks.log.saved'),
                () => {
                  setOutcome('');
                  setNote('');
                },
              );
            }}
          >
            <h4>{t('callbacks.log.heading')}</h4>
            <label for={`${base}-outcome`}>{t('callbacks.log.outcome')}</label>
            <select id={`${base}-outcome`} required value={outcome} onChange={(e) => setOutcome(e.currentTarget.value as AttemptOutcome)} data-testid="cb-attempt-outcome">
              <option value="" />
              {ATTEMPT_OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {t(`callbacks.outcome.${o}` as MsgKey)}
                </option>
              ))}
            </select>
            <label for={`${base}-note`}>{t('callbacks.log.note')}</label>
            <input id={`${base}-note`} value={note} maxLength={500} onInput={(e) => setNote(e.currentTarget.value)} data-testid="cb-attempt-note" />
            <button type="submit" class="btn small" disabled={busy || !outcome} data-testid="cb-attempt-save">
              {t('callbacks.log.submit')}
            </button>
          </form>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (!closeOutcome) return;
              void run(() => app.edit(docId, (d) => d.closeCallback(row.item_id, closeOutcome)), t('callbacks.saved'));
            }}
          >
            <h4>{t('callbacks.close.heading')}</h4>
            <label for={`${base}-close`}>{t('callbacks.close.outcome')}</label>
            <select id={`${base}-close`} required value={closeOutcome} onChange={(e) => setCloseOutcome(e.currentTarget.value as CallbackOutcome)} data-testid="cb-close-outcome">
              <option value="" />
              {CALLBACK_OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {t(`callbacks.close.${o}` as MsgKey)}
                </option>
              ))}
            </select>
            <button type="submit" class="btn small primary" disabled={busy || !closeOutcome} data-testid="cb-close-save">
              {t('callbacks.close.submit')}
            </button>
          </form>
          {assignable && (
            <form
              class="stack"
              onSubmit={(e) => {
                e.preventDefault();
                const ms = dueFromInput(dueDay);
                if (ms === null) return;
                void run(() => app.edit(docId, (d) => d.setCallbackDue(row.item_id, ms)), t('callbacks.saved'));
              }}
            >
              <label for={`${base}-due`}>{t('callbacks.due_label')}</label>
              <input id={`${base}-due`} type="date" required value={dueDay} onInput={(e) => setDueDay(e.currentTarget.value)} data-testid="cb-due-input" />
              <button type="submit" class="btn small" disabled={busy || dueFromInput(dueDay) === null} data-testid="cb-due-save">
                {t('callbacks.due_submit')}
              </button>
            </form>
          )}
          {assignable && (
            <form
              class="stack"
              onSubmit={(e) => {
                e.preventDefault();
                void run(() => app.edit(docId, (d) => d.assignCallback(row.item_id, assignee || null)), t('callbacks.saved'));
              }}
            >
              <label for={`${base}-assign`}>{t('callbacks.assign.label')}</label>
              <select id={`${base}-assign`} value={assignee} onChange={(e) => setAssignee(e.currentTarget.value)} data-testid="cb-assign">
                <option value="">{t('callbacks.assignee.team')}</option>
                {assignable.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
              <button type="submit" class="btn small" disabled={busy || assignee === (cb.assignee ?? '')} data-testid="cb-assign-save">
                {t('callbacks.assign.submit')}
              </button>
            </form>
          )}
        </div>
      )}
      {msg && (
        <p class={msg.ok ? 'done' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="cb-msg">
          {msg.text}
        </p>
      )}
    </div>
  );
}
