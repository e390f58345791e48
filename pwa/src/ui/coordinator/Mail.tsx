// Messages in the coordinator's item detail (docs/api.md "Mail"):
// - feedback to the resident by e-mail: pick a template, write what was done,
//   preview, send (POST .../feedback-mail). The server marks the feedback
//   "given by e-mail" in the document once its mail server accepted the mail;
//   this screen never says "verstuurd" before the server says "sent".
// - forwarding to a partner ("doorsturen"): partner, note, optionally the
//   resident's contact details with a reason; preview, send (POST .../forward).
// - the item's messages with their state (GET .../messages), polled while one waits.
// With mail off on the server, the panel says so and offers nothing to send.

import { useEffect, useState } from 'preact/hooks';
import { app } from '../../app';
import { t, tn, type MsgKey } from '../../i18n';
import type { Row } from '../../model/doc';
import { api, ApiError } from '../admin/api';
import { fmtDateTime, labelOf, useCatalog } from './common';

export interface MailMessage {
  id: number;
  kind: 'feedback' | 'forward' | 'digest';
  status: 'queued' | 'sent' | 'failed';
  subject: string;
  partner: string | null;
  template: string | null;
  with_contact: boolean;
  created_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  sent_at: number | null;
  message_id: string;
}

interface Preview {
  to: string;
  subject: string;
  body: string;
}

interface Template {
  category: string;
  subject: string;
  body: string;
}

function why(e: unknown): string {
  const code = e instanceof ApiError ? e.code : 'internal';
  const key = `mail.err.${code}` as MsgKey;
  const known = ['mail_disabled', 'no_consent', 'no_email', 'partner_no_email', 'no_contact', 'invalid_parameter', 'network'];
  return known.includes(code) ? t(key) : t('mail.err.other', { code });
}

function itemPath(docId: string, itemId: string): string {
  return `/api/v1/items/${encodeURIComponent(docId)}/${encodeURIComponent(itemId)}`;
}

/** The whole panel; `resident` is the server's copy of the contact (it is not in the list rows). */
export function MailPanel({ docId, itemId, row, resident }: { docId: string; itemId: string; row: Row; resident: Row['resident'] | null | undefined }) {
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [messages, setMessages] = useState<MailMessage[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function load() {
    try {
      const r = await api<{ email: boolean; messages: MailMessage[] }>('GET', `${itemPath(docId, itemId)}/messages`);
      setEnabled(r.email);
      setMessages(r.messages);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    setMessages(null);
    void load();
  }, [docId, itemId]);
  // Poll while a message waits, so "verstuurd" appears when the server says so.
  const waiting = (messages ?? []).some((m) => m.status === 'queued');
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => void load(), 1500);
    return () => clearInterval(timer);
  }, [waiting, docId, itemId]);

  return (
    <section class="stack mail-panel" data-testid="mail-panel" aria-labelledby="mail-h">
      <h2 id="mail-h">{t('mail.title')}</h2>
      {error !== null && (
        <p class="error-text" role="alert">
          {t('mail.error', { why: why(error) })}
        </p>
      )}
      {enabled === null && error === null && <p class="hint">{t('mail.loading')}</p>}
      {enabled === false && (
        <p class="hint" data-testid="mail-off">
          {t('mail.off')} {t('mail.sms_off')}
        </p>
      )}
      {enabled && (
        <>
          <FeedbackMail docId={docId} itemId={itemId} row={row} resident={resident} onQueued={load} />
          <ForwardMail docId={docId} itemId={itemId} hasContact={!!(resident?.consent && (resident.name || resident.phone || resident.email))} onQueued={load} />
        </>
      )}
      <MessageList messages={messages} />
    </section>
  );
}

function FeedbackMail({ docId, itemId, row, resident, onQueued }: { docId: string; itemId: string; row: Row; resident: Row['resident'] | null | undefined; onQueued: () => Promise<void> }) {
  const [templates, setTemplates] = useState<Template[]>([]);
  const [template, setTemplate] = useState('');
  const [done, setDone] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [queued, setQueued] = useState(false);
  const catalog = useCatalog();
  useEffect(() => {
    api<{ templates: Template[] }>('GET', '/api/v1/mail/templates')
      .then((r) => setTemplates(r.templates))
      .catch(() => setTemplates([]));
  }, []);
  const possible = resident?.consent === true && !!resident.email;
  if (!possible)
    return (
      <div class="card-form stack">
        <h3>{t('mail.fb.title')}</h3>
        <p class="hint" data-testid="mail-fb-impossible">
          {t('mail.fb.needs')}
        </p>
      </div>
    );
  const own = templates.some((x) => x.category === row.category);
  const body = () => ({ done, template: template || undefined });

  async function doPreview(e: Event) {
    e.preventDefault();
    setBusy(true);
    setQueued(false);
    try {
      setPreview(await api<Preview>('POST', `${itemPath(docId, itemId)}/feedback-mail`, { ...body(), preview: true }));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function doSend() {
    setBusy(true);
    try {
      await api('POST', `${itemPath(docId, itemId)}/feedback-mail`, body());
      setError(null);
      setPreview(null);
      setDone('');
      setQueued(true);
      await onQueued();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="card-form stack" data-testid="mail-feedback">
      <h3>{t('mail.fb.title')}</h3>
      {!preview ? (
        <form class="stack" onSubmit={doPreview}>
          <label for="mail-fb-template">{t('mail.fb.template')}</label>
          <select id="mail-fb-template" value={template} onChange={(e) => setTemplate(e.currentTarget.value)} data-testid="mail-fb-template">
            <option value="">{own ? labelOf(catalog?.categories, row.category) : t('mail.fb.template_default')}</option>
            {own && <option value="default">{t('mail.fb.template_default')}</option>}
          </select>
          <label for="mail-fb-done">{t('mail.fb.done')}</label>
          <textarea id="mail-fb-done" rows={4} required maxLength={2000} value={done} aria-describedby="mail-fb-done-hint" onInput={(e) => setDone(e.currentTarget.value)} data-testid="mail-fb-done" />
          <span id="mail-fb-done-hint" class="hint">
            {t('mail.fb.done_hint')}
          </span>
          <button type="submit" class="btn" disabled={busy || !done.trim()} data-testid="mail-fb-preview">
            {t('mail.preview')}
          </button>
        </form>
      ) : (
        <PreviewView preview={preview} busy={busy} onBack={() => setPreview(null)} onSend={doSend} testid="mail-fb" />
      )}
      <p class="hint">{t('mail.fb.marks')}</p>
      {queued && (
        <p class="hint" role="status" data-testid="mail-fb-queued">
          {t('mail.queued_now')}
        </p>
      )}
      {error !== null && (
        <p class="error-text" role="alert" data-testid="mail-fb-error">
          {t('mail.error', { why: why(error) })}
        </p>
      )}
    </div>
  );
}

function PreviewView({ preview, busy, onBack, onSend, testid }: { preview: Preview; busy: boolean; onBack: () => void; onSend: () => void; testid: string }) {
  return (
    <div class="stack" data-testid={`${testid}-preview-box`}>
      <dl class="facts">
        <dt>{t('mail.to')}</dt>
        <dd data-testid={`${testid}-preview-to`}>{preview.to}</dd>
        <dt>{t('mail.subject')}</dt>
        <dd data-testid={`${testid}-preview-subject`}>{preview.subject}</dd>
      </dl>
      <pre class="mail-preview" data-testid={`${testid}-preview-body`}>
        {preview.body}
      </pre>
      <div class="row">
        <button type="button" class="btn" disabled={busy} onClick={onBack}>
          {t('mail.change')}
        </button>
        <button type="button" class="btn primary" disabled={busy} onClick={onSend} data-testid={`${testid}-send`}>
          {t('mail.send')}
        </button>
      </div>
    </div>
  );
}

function ForwardMail({ docId, itemId, hasContact, onQueued }: { docId: string; itemId: string; hasContact: boolean; onQueued: () => Promise<void> }) {
  const catalog = useCatalog();
  const [partners, setPartners] = useState<{ id: string; label: string; email: string | null }[]>([]);
  const [partner, setPartner] = useState('');
  const [note, setNote] = useState('');
  const [withContact, setWithContact] = useState(false);
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [queued, setQueued] = useState(false);
  // The contact fields are not in CatalogInfo: read them from the catalog's view.
  useEffect(() => {
    setPartners((catalog?.partners ?? []).map((p) => ({ id: p.id, label: p.label, email: partnerEmail(p.id) })));
  }, [catalog]);
  const body = () => ({ partner, note: note.trim() || undefined, include_contact: withContact, reason: withContact ? reason : undefined });

  async function doPreview(e: Event) {
    e.preventDefault();
    setBusy(true);
    setQueued(false);
    try {
      setPreview(await api<Preview>('POST', `${itemPath(docId, itemId)}/forward`, { ...body(), preview: true }));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function doSend() {
    setBusy(true);
    try {
      await api('POST', `${itemPath(docId, itemId)}/forward`, body());
      setError(null);
      setPreview(null);
      setNote('');
      setWithContact(false);
      setReason('');
      setQueued(true);
      await onQueued();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="card-form stack" data-testid="mail-forward">
      <h3>{t('mail.fw.title')}</h3>
      {!preview ? (
        <form class="stack" onSubmit={doPreview}>
          <label for="mail-fw-partner">{t('mail.fw.partner')}</label>
          <select id="mail-fw-partner" required value={partner} onChange={(e) => setPartner(e.currentTarget.value)} data-testid="mail-fw-partner">
            <option value="">{t('mail.fw.choose')}</option>
            {partners.map((p) => (
              <option key={p.id} value={p.id} disabled={!p.email}>
                {p.email ? p.label : t('mail.fw.no_address', { label: p.label })}
              </option>
            ))}
          </select>
          <label for="mail-fw-note">{t('mail.fw.note')}</label>
          <textarea id="mail-fw-note" rows={2} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} data-testid="mail-fw-note" />
          {hasContact ? (
            <>
              <label class="check">
                <input type="checkbox" checked={withContact} onChange={(e) => setWithContact(e.currentTarget.checked)} data-testid="mail-fw-contact" />
                <span>{t('mail.fw.contact')}</span>
              </label>
              <span class="hint">{t('mail.fw.contact_hint')}</span>
              {withContact && (
                <>
                  <label for="mail-fw-reason">{t('mail.fw.reason')}</label>
                  <input id="mail-fw-reason" required maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="mail-fw-reason" />
                </>
              )}
            </>
          ) : (
            <p class="hint">{t('mail.fw.without')}</p>
          )}
          <button type="submit" class="btn" disabled={busy || !partner || (withContact && !reason.trim())} data-testid="mail-fw-preview">
            {t('mail.preview')}
          </button>
        </form>
      ) : (
        <PreviewView preview={preview} busy={busy} onBack={() => setPreview(null)} onSend={doSend} testid="mail-fw" />
      )}
      {queued && (
        <p class="hint" role="status" data-testid="mail-fw-queued">
          {t('mail.queued_now')}
        </p>
      )}
      {error !== null && (
        <p class="error-text" role="alert" data-testid="mail-fw-error">
          {t('mail.error', { why: why(error) })}
        </p>
      )}
    </div>
  );
}

/** A partner's e-mail address from the catalog document (null when none). */
function partnerEmail(id: string): string | null {
  let email: unknown;
  try {
    email = app.catalog()?.catalogView()?.partners[id]?.email;
  } catch {
    return null;
  }
  return typeof email === 'string' && email.trim() ? email : null;
}

function MessageList({ messages }: { messages: MailMessage[] | null }) {
  const catalog = useCatalog();
  if (!messages) return null;
  return (
    <div class="stack">
      <h3>{t('mail.list.title')}</h3>
      {messages.length === 0 ? (
        <p class="hint">{t('mail.list.none')}</p>
      ) : (
        <ol class="history" data-testid="mail-list">
          {messages.map((m) => (
            <li key={m.id} data-testid="mail-entry" data-status={m.status} data-kind={m.kind} data-attempts={m.attempts}>
              <strong>{m.kind === 'forward' ? t('mail.kind.forward', { partner: labelOf(catalog?.partners, m.partner) }) : t(`mail.kind.${m.kind}` as MsgKey)}</strong>
              {m.with_contact && <> · {t('mail.with_contact')}</>} · {fmtDateTime(m.created_at, 'detail')}
              <div class={m.status === 'failed' ? 'error-text' : 'item-meta'} data-testid="mail-entry-status">
                {m.status === 'sent'
                  ? t('mail.status.sent', { time: fmtDateTime(m.sent_at, 'detail') })
                  : m.status === 'failed'
                    ? tn('mail.status.failed', m.attempts, { reason: m.last_error ?? '' })
                    : m.attempts > 0
                      ? t('mail.status.retry', { n: m.attempts, time: fmtDateTime(m.next_attempt_at, 'detail'), reason: m.last_error ?? '' })
                      : t('mail.status.queued')}
              </div>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
