// #/admin/mail: the feedback templates (GET /api/v1/mail/templates,
// PUT/DELETE /api/v1/admin/mail/templates/{category}). One default text for
// every category, and optionally a category's own text. The server refuses a
// {placeholder} it does not know, so a typo never reaches a resident.
import { useEffect, useState } from 'preact/hooks';
import { t, type MsgKey } from '../../i18n';
import { useCatalog } from '../coordinator/common';
import { api, ApiError } from './api';

interface Template {
  category: string;
  subject: string;
  body: string;
  updated_at: number;
}

interface Templates {
  templates: Template[];
  placeholders: { name: string; meaning: string }[];
}

function why(e: unknown): string {
  const code = e instanceof ApiError ? e.code : 'internal';
  if (code === 'unknown_placeholder' || code === 'invalid_parameter') return t(`mail.admin.err.${code}` as MsgKey);
  return t('mail.err.other', { code });
}

export function MailTemplates() {
  const catalog = useCatalog();
  const [data, setData] = useState<Templates | null>(null);
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [making, setMaking] = useState<string | null>(null);

  async function load() {
    try {
      setData(await api<Templates>('GET', '/api/v1/mail/templates'));
    } catch (e) {
      setMsg({ ok: false, text: t('mail.admin.error', { why: why(e) }) });
    }
  }
  useEffect(() => {
    void load();
    api<{ email: boolean }>('GET', '/api/v1/mail/status')
      .then((s) => setEnabled(s.email))
      .catch(() => setEnabled(null));
  }, []);

  async function save(category: string, subject: string, body: string): Promise<boolean> {
    setMsg(null);
    try {
      await api('PUT', `/api/v1/admin/mail/templates/${category || 'default'}`, { subject, body });
      setMsg({ ok: true, text: t('mail.admin.saved') });
      setMaking(null);
      await load();
      return true;
    } catch (e) {
      setMsg({ ok: false, text: t('mail.admin.error', { why: why(e) }) });
      return false;
    }
  }
  async function remove(category: string) {
    setMsg(null);
    try {
      await api('DELETE', `/api/v1/admin/mail/templates/${category}`);
      setMsg({ ok: true, text: t('mail.admin.removed') });
      await load();
    } catch (e) {
      setMsg({ ok: false, text: t('mail.admin.error', { why: why(e) }) });
    }
  }

  const def = data?.templates.find((x) => x.category === '');
  return (
    <section class="screen" data-testid="admin-mail">
      <h1 tabIndex={-1}>{t('mail.admin.title')}</h1>
      <p class="hint">{t('mail.admin.intro')}</p>
      {enabled === false && (
        <p class="hint" data-testid="admin-mail-off">
          {t('mail.admin.off')}
        </p>
      )}
      {msg && (
        <p class={msg.ok ? 'done' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="admin-mail-msg">
          {msg.text}
        </p>
      )}
      {data && (
        <>
          <div class="admin-section">
            <h2>{t('mail.admin.placeholders')}</h2>
            <ul class="plain">
              {data.placeholders.map((p) => (
                <li key={p.name}>
                  <code>{`{${p.name}}`}</code> — {p.meaning}
                </li>
              ))}
            </ul>
          </div>
          {def && <TemplateForm key={`default-${def.subject}-${def.body}`} title={t('mail.admin.default')} template={def} onSave={save} />}
          {(catalog?.categories ?? []).map((c) => {
            const own = data.templates.find((x) => x.category === c.id);
            return (
              <div class="admin-section" key={c.id} data-testid="admin-mail-category" data-id={c.id}>
                <h2>{c.label}</h2>
                {own ? (
                  <>
                    <TemplateForm key={`${c.id}-${own.subject}-${own.body}`} title={t('mail.admin.own')} template={own} onSave={save} />
                    <button type="button" class="btn small" onClick={() => void remove(c.id)}>
                      {t('mail.admin.remove_own')}
                    </button>
                  </>
                ) : making === c.id && def ? (
                  <TemplateForm title={t('mail.admin.own')} template={{ ...def, category: c.id }} onSave={save} />
                ) : (
                  <p>
                    <span class="hint">{t('mail.admin.uses_default')}</span>{' '}
                    <button type="button" class="btn small" onClick={() => setMaking(c.id)} data-testid="admin-mail-make-own">
                      {t('mail.admin.make_own')}
                    </button>
                  </p>
                )}
              </div>
            );
          })}
        </>
      )}
    </section>
  );
}

function TemplateForm({ title, template, onSave }: { title: string; template: Template; onSave: (category: string, subject: string, body: string) => Promise<boolean> }) {
  const [subject, setSubject] = useState(template.subject);
  const [body, setBody] = useState(template.body);
  const id = `tpl-${template.category || 'default'}`;
  return (
    <form
      class="stack admin-section"
      data-testid="admin-mail-template"
      data-category={template.category || 'default'}
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(template.category, subject.trim(), body.trim());
      }}
    >
      <h3>{title}</h3>
      <label for={`${id}-subject`}>{t('mail.admin.subject')}</label>
      <input id={`${id}-subject`} required maxLength={200} value={subject} onInput={(e) => setSubject(e.currentTarget.value)} data-testid="admin-mail-subject" />
      <label for={`${id}-body`}>{t('mail.admin.body')}</label>
      <textarea id={`${id}-body`} required rows={10} maxLength={10000} value={body} onInput={(e) => setBody(e.currentTarget.value)} data-testid="admin-mail-body" />
      <button type="submit" class="btn primary" data-testid="admin-mail-save">
        {t('mail.admin.save')}
      </button>
    </form>
  );
}
