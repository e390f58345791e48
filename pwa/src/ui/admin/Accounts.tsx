// Accounts: the list (role, team, status, devices, last seen) and a form to
// create an account with roles, team, name and an initial password.
import { useEffect, useState } from 'preact/hooks';
import { t, tn } from '../../i18n';
import { teamLabel } from '../../model/doc';
import { useApp } from '../hooks';
import { TeamSelect } from '../TeamSelect';
import { api, type Account } from './api';
import { RoleChecks, errorText, roleLabel, when } from './common';

export function Accounts() {
  const app = useApp();
  const catalog = app.catalog()?.catalog() ?? null;
  const [users, setUsers] = useState<Account[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    api<{ users: Account[] }>('GET', '/api/v1/admin/users')
      .then((r) => live && setUsers(r.users))
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [reload]);

  return (
    <section class="screen">
      <h1 tabIndex={-1}>{t('admin.users.title')}</h1>
      {error && (
        <p class="error-text" role="alert">
          {error}{' '}
          <button type="button" class="btn small" onClick={() => setReload((n) => n + 1)}>
            {t('admin.retry')}
          </button>
        </p>
      )}
      {!users && !error && <p class="hint">{t('admin.loading')}</p>}
      {users && (
        <div class="admin-table-wrap">
          <table class="admin-table" data-testid="admin-users">
            <caption class="hint">{tn('admin.users.count', users.length)}</caption>
            <thead>
              <tr>
                <th scope="col">{t('admin.users.username')}</th>
                <th scope="col">{t('admin.users.name')}</th>
                <th scope="col">{t('admin.users.roles')}</th>
                <th scope="col">{t('admin.users.team')}</th>
                <th scope="col">{t('admin.users.status')}</th>
                <th scope="col">{t('admin.users.devices')}</th>
                <th scope="col">{t('admin.users.last_seen')}</th>
                <th scope="col">
                  <span class="sr-only">{t('admin.users.manage')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id} data-testid="admin-user-row" data-username={u.username}>
                  <td>{u.username}</td>
                  <td>{u.name}</td>
                  <td>{u.roles.map(roleLabel).join(', ')}</td>
                  <td>{u.team ? teamLabel(catalog, u.team) : t('admin.users.no_team')}</td>
                  <td class={u.disabled ? 'status-off' : 'status-ok'}>{u.disabled ? t('admin.users.disabled') : t('admin.users.active')}</td>
                  <td>{u.active_devices}</td>
                  <td>{when(u.last_seen_at)}</td>
                  <td>
                    <a class="btn small" href={`#/admin/user/${u.id}`} aria-label={t('admin.users.manage_label', { username: u.username })} data-testid="admin-user-open">
                      {t('admin.users.manage')}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <NewAccount onCreated={() => setReload((n) => n + 1)} known={(users ?? []).map((u) => u.team ?? '')} />
    </section>
  );
}

function NewAccount({ onCreated, known }: { onCreated: () => void; known: string[] }) {
  const app = useApp();
  const catalog = app.catalog()?.catalog() ?? null;
  const [username, setUsername] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>(['boa']);
  const [team, setTeam] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (roles.length === 0) {
      setMsg({ ok: false, text: t('admin.users.need_role') });
      return;
    }
    setBusy(true);
    setMsg(null);
    try {
      const created = await api<Account>('POST', '/api/v1/admin/users', {
        username: username.trim(),
        name: name.trim(),
        password,
        roles,
        team: team.trim() ? team.trim() : null,
      });
      setMsg({ ok: true, text: t('admin.users.created', { username: created.username }) });
      setUsername('');
      setName('');
      setPassword('');
      setTeam('');
      onCreated();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="admin-section stack" onSubmit={submit} data-testid="admin-new-user">
      <h2>{t('admin.users.new')}</h2>
      <div class="admin-grid">
        <div>
          <label for="nu-username">{t('admin.users.username')}</label>
          <input id="nu-username" required autocomplete="off" autocapitalize="none" spellcheck={false} maxLength={64} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </div>
        <div>
          <label for="nu-name">{t('admin.users.name')}</label>
          <input id="nu-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div>
          <label for="nu-password">{t('admin.users.password')}</label>
          <input id="nu-password" required type="password" autocomplete="new-password" minLength={10} maxLength={256} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </div>
        <div>
          <label for="nu-team">{t('admin.users.team')}</label>
          <TeamSelect id="nu-team" value={team} onChange={setTeam} catalog={catalog} known={known} allowNone describedBy="nu-team-hint" testid="admin-new-user-team" />
          <span id="nu-team-hint" class="hint">
            {t('admin.users.team_hint')}
          </span>
        </div>
      </div>
      <RoleChecks idPrefix="nu" value={roles} onChange={setRoles} />
      {msg && (
        <p class={msg.ok ? 'done' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="admin-new-user-msg">
          {msg.text}
        </p>
      )}
      <button type="submit" class="btn primary" disabled={busy} data-testid="admin-create-user">
        {t('admin.users.create')}
      </button>
    </form>
  );
}
