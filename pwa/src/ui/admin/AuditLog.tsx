// The audit log (read-only): filter by actor, action and period, newest
// first, paged with the server's `next_before` cursor. Reading it is itself
// audited by the server (admin.audit.read).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { api, type Account, type AuditEntry } from './api';
import { errorText, when } from './common';

export interface Filter {
  actor: string;
  action: string;
  from: string;
  to: string;
}

const PAGE = 50;

/** The audit request for a filter (dates are local days; `to` includes its whole day). */
export function auditQuery(f: Filter, before: number | null): string {
  const q = new URLSearchParams();
  if (f.actor) q.set('actor', f.actor);
  if (f.action.trim()) q.set('action', f.action.trim());
  // Dates are local days: from the start of `from` up to the end of `to`.
  if (f.from) q.set('from', String(new Date(`${f.from}T00:00`).getTime()));
  if (f.to) q.set('to', String(new Date(`${f.to}T00:00`).getTime() + 86_400_000));
  if (before !== null) q.set('before', String(before));
  q.set('limit', String(PAGE));
  return `/api/v1/admin/audit?${q.toString()}`;
}

export function AuditLog() {
  const [users, setUsers] = useState<Account[]>([]);
  const [draft, setDraft] = useState<Filter>({ actor: '', action: '', from: '', to: '' });
  const [filter, setFilter] = useState<Filter>(draft);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ users: Account[] }>('GET', '/api/v1/admin/users')
      .then((r) => setUsers(r.users))
      .catch(() => setUsers([]));
  }, []);

  // The filter the shown entries were read with. Until the answer for a new filter is in, the
  // old rows stay but are marked as loading (they used to look like the new filter's answer);
  // an answer for a filter that is no longer the current one is dropped, so a slow earlier
  // answer never replaces a later one.
  const [shownFor, setShownFor] = useState<Filter | null>(null);
  const current = useRef(filter);
  current.current = filter;

  async function load(f: Filter, before: number | null) {
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ entries: AuditEntry[]; next_before: number | null }>('GET', auditQuery(f, before));
      if (current.current !== f) return;
      setEntries((old) => (before === null ? r.entries : [...(old ?? []), ...r.entries]));
      setNext(r.next_before);
      setShownFor(f);
    } catch (e) {
      if (current.current === f) setError(errorText(e));
    } finally {
      if (current.current === f) setBusy(false);
    }
  }

  useEffect(() => {
    void load(filter, null);
  }, [filter]);

  const names = new Map(users.map((u) => [u.id, `${u.name} (${u.username})`]));
  const who = (id: string | null) => (id === null ? t('admin.audit.system') : (names.get(id) ?? id));

  return (
    <section class="screen" data-testid="admin-audit-screen" data-state={shownFor === filter ? 'ready' : error ? 'error' : 'loading'}>
      <h1 tabIndex={-1}>{t('admin.audit.title')}</h1>
      <p class="hint">{t('admin.audit.intro')}</p>
      <form
        class="admin-section stack"
        data-testid="admin-audit-filter"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ ...draft });
        }}
      >
        <div class="admin-grid">
          <div>
            <label for="au-actor">{t('admin.audit.actor')}</label>
            <select id="au-actor" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.currentTarget.value })}>
              <option value="">{t('admin.audit.anyone')}</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.username})
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="au-action">{t('admin.audit.action')}</label>
            <input id="au-action" value={draft.action} maxLength={100} onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })} />
          </div>
          <div>
            <label for="au-from">{t('admin.audit.from')}</label>
            <input id="au-from" type="date" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
          </div>
          <div>
            <label for="au-to">{t('admin.audit.to')}</label>
            <input id="au-to" type="date" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
          </div>
        </div>
        <button type="submit" class="btn primary" disabled={busy} data-testid="admin-audit-apply">
          {t('admin.audit.apply')}
        </button>
      </form>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {entries && entries.length === 0 && <p class="hint">{t('admin.audit.none')}</p>}
      {entries && entries.length > 0 && (
        <div class="admin-table-wrap" aria-busy={shownFor !== filter}>
          <table class="admin-table" data-testid="admin-audit">
            <thead>
              <tr>
                <th scope="col">{t('admin.audit.at')}</th>
                <th scope="col">{t('admin.audit.actor')}</th>
                <th scope="col">{t('admin.audit.action')}</th>
                <th scope="col">{t('admin.audit.subject')}</th>
                <th scope="col">{t('admin.audit.detail')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-testid="admin-audit-row" data-action={e.action}>
                  <td>{when(e.at)}</td>
                  <td>{who(e.actor)}</td>
                  <td>{e.action}</td>
                  <td>{e.subject ? (names.get(e.subject) ?? e.subject) : ''}</td>
                  <td class="audit-detail">{e.detail && JSON.stringify(e.detail) !== '{}' ? JSON.stringify(e.detail) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <button type="button" class="btn" disabled={busy} onClick={() => void load(filter, next)} data-testid="admin-audit-more">
          {t('admin.audit.more')}
        </button>
      )}
    </section>
  );
}
