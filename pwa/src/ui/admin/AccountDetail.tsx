// One account: name, roles and team; password reset; disable/enable; the
// account's devices (last contact, state) with revoke. A new password or a
// new role/team signs every device out (log in again, unsent work kept);
// disabling and revoking make devices wipe at their next contact.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { useApp, useDraft } from '../hooks';
import { TeamSelect } from '../TeamSelect';
import { api, type Account, type DeviceRow } from './api';
import { ConfirmButton, RoleChecks, errorText, when } from './common';

type Msg = { ok: boolean; text: string } | null;

export function AccountDetail({ id }: { id: string }) {
  const app = useApp();
  const [account, setAccount] = useState<Account | null>(null);
  const [devices, setDevices] = useState<DeviceRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [msg, setMsg] = useState<Msg>(null);

  useEffect(() => {
    let live = true;
    Promise.all([api<{ users: Account[] }>('GET', '/api/v1/admin/users'), api<{ devices: DeviceRow[] }>('GET', `/api/v1/admin/users/${encodeURIComponent(id)}/devices`)])
      .then(([u, d]) => {
        if (!live) return;
        setAccount(u.users.find((x) => x.id === id) ?? null);
        setDevices(d.devices);
        setError(null);
      })
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [id, reload]);

  const refresh = () => setReload((n) => n + 1);
  const title = account ? t('admin.user.title', { username: account.username }) : t('admin.users.title');
  return (
    <section class="screen">
      <a class="back" href="#/admin">
        {t('admin.user.back')}
      </a>
      <h1 tabIndex={-1}>{title}</h1>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {!account && !error && <p class="hint">{t('admin.loading')}</p>}
      {msg && (
        <p class={msg.ok ? 'done' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="admin-user-msg">
          {msg.text}
        </p>
      )}
      {account && (
        <>
          <Details key={account.id} account={account} onSaved={(m) => (setMsg(m), refresh())} />
          <Password account={account} onDone={(m) => (setMsg(m), refresh())} />
          <Access account={account} self={app.user?.id === account.id} onDone={(m) => (setMsg(m), refresh())} />
          <DigestAddress key={`mail-${account.id}`} account={account} onDone={(m) => setMsg(m)} />
        </>
      )}
      {devices && <Devices devices={devices} onDone={(m) => (setMsg(m), refresh())} />}
    </section>
  );
}

/**
 * Name, roles and team. Each field follows the stored account until it is edited, and keeps
 * what is typed when the account is read again (after this form's save, another section's,
 * or a slow answer). The form used to be keyed by a reload counter: a save started it over at
 * once from the values before the save (it showed the old name, and a second save wrote it
 * back), and a password reset further down threw away what was being typed here.
 */
function Details({ account, onSaved }: { account: Account; onSaved: (m: Msg) => void }) {
  const app = useApp();
  const catalog = app.catalog()?.catalog() ?? null;
  const [name, setName] = useDraft(account.name);
  const [roleList, setRoleList] = useDraft([...account.roles].sort().join(','));
  const roles = roleList ? roleList.split(',') : [];
  const setRoles = (r: string[]) => setRoleList([...r].sort().join(','));
  const [team, setTeam] = useDraft(account.team ?? '');
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    if (roles.length === 0) return onSaved({ ok: false, text: t('admin.users.need_role') });
    setBusy(true);
    const newTeam = team.trim() ? team.trim() : null;
    const body: Record<string, unknown> = {};
    if (name.trim() !== account.name) body.name = name.trim();
    const sameRoles = roles.length === account.roles.length && roles.every((r) => account.roles.includes(r));
    if (!sameRoles) body.roles = roles;
    if (newTeam !== account.team) body.team = newTeam;
    try {
      if (Object.keys(body).length > 0) await api('PATCH', `/api/v1/admin/users/${encodeURIComponent(account.id)}`, body);
      onSaved({ ok: true, text: body.roles !== undefined || body.team !== undefined ? t('admin.user.saved_signed_out') : t('admin.user.saved') });
    } catch (err) {
      onSaved({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="admin-section stack" onSubmit={submit} data-testid="admin-user-details">
      <h2>{t('admin.user.details')}</h2>
      <div class="admin-grid">
        <div>
          <label for="ud-name">{t('admin.users.name')}</label>
          <input id="ud-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div>
          <label for="ud-team">{t('admin.users.team')}</label>
          <TeamSelect id="ud-team" value={team} onChange={setTeam} catalog={catalog} allowNone describedBy="ud-team-hint" testid="admin-user-team" />
          <span id="ud-team-hint" class="hint">
            {t('admin.users.team_hint')}
          </span>
        </div>
      </div>
      <RoleChecks idPrefix="ud" value={roles} onChange={setRoles} />
      <p class="hint">{t('admin.user.roles_note')}</p>
      <button type="submit" class="btn primary" disabled={busy} data-testid="admin-user-save">
        {t('admin.user.save')}
      </button>
    </form>
  );
}

/**
 * The address the daily digest goes to (coordinators only get one). The field
 * appears only once the stored address is known: an answer arriving after the
 * admin started typing must not overwrite what they typed, and a failed load
 * must not show an empty field that would clear the address when saved.
 */
function DigestAddress({ account, onDone }: { account: Account; onDone: (m: Msg) => void }) {
  const [email, setEmail] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [busy, setBusy] = useState(false);
  const path = `/api/v1/admin/users/${encodeURIComponent(account.id)}/mail-address`;
  useEffect(() => {
    let live = true;
    setEmail(null);
    setLoadError(null);
    api<{ email: string | null }>('GET', path)
      .then((r) => live && setEmail(r.email ?? ''))
      .catch((e) => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
  }, [account.id, attempt]);
  async function submit(e: Event) {
    e.preventDefault();
    if (email === null) return;
    setBusy(true);
    try {
      await api('PUT', path, { email: email.trim() || null });
      onDone({ ok: true, text: t('mail.digest.saved') });
    } catch (err) {
      onDone({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="admin-section stack" onSubmit={submit} data-testid="admin-user-digest" data-state={email === null ? (loadError ? 'error' : 'loading') : 'ready'}>
      <h2>{t('mail.digest.title')}</h2>
      <p class="hint">{t('mail.digest.hint')}</p>
      {email === null && !loadError && <p class="hint">{t('admin.loading')}</p>}
      {loadError && (
        <>
          <p class="error-text" role="alert" data-testid="admin-user-digest-error">
            {t('mail.digest.load_failed', { why: loadError })}
          </p>
          <button type="button" class="btn" onClick={() => setAttempt((n) => n + 1)} data-testid="admin-user-digest-retry">
            {t('mail.digest.retry')}
          </button>
        </>
      )}
      {email !== null && (
        <>
          <label for="ud-digest">{t('mail.partner.email')}</label>
          <input id="ud-digest" type="email" maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} data-testid="admin-user-digest-email" />
          <button type="submit" class="btn" disabled={busy} data-testid="admin-user-digest-save">
            {t('mail.digest.save')}
          </button>
        </>
      )}
    </form>
  );
}

function Password({ account, onDone }: { account: Account; onDone: (m: Msg) => void }) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      await api('POST', `/api/v1/admin/users/${encodeURIComponent(account.id)}/password`, { password });
      setPassword('');
      onDone({ ok: true, text: t('admin.user.reset_done') });
    } catch (err) {
      onDone({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="admin-section stack" onSubmit={submit}>
      <h2>{t('admin.user.password')}</h2>
      <label for="ud-password">{t('admin.user.new_password')}</label>
      <input id="ud-password" type="password" required minLength={10} maxLength={256} autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="admin-user-password" />
      <button type="submit" class="btn" disabled={busy} data-testid="admin-user-reset">
        {t('admin.user.reset')}
      </button>
    </form>
  );
}

function Access({ account, self, onDone }: { account: Account; self: boolean; onDone: (m: Msg) => void }) {
  async function setDisabled(disabled: boolean) {
    try {
      await api('PATCH', `/api/v1/admin/users/${encodeURIComponent(account.id)}`, { disabled });
      onDone({ ok: true, text: disabled ? t('admin.user.disabled_now') : t('admin.user.enabled_now') });
    } catch (err) {
      onDone({ ok: false, text: errorText(err) });
    }
  }
  return (
    <div class="admin-section">
      <h2>{t('admin.user.access')}</h2>
      <p>
        {t('admin.users.status')}:{' '}
        <span class={account.disabled ? 'status-off' : 'status-ok'} data-testid="admin-user-status">
          {account.disabled ? t('admin.users.disabled') : t('admin.users.active')}
        </span>
      </p>
      {account.disabled ? (
        <button type="button" class="btn" onClick={() => void setDisabled(false)} data-testid="admin-user-enable">
          {t('admin.user.enable')}
        </button>
      ) : (
        !self && (
          <>
            <p class="hint">{t('admin.user.disable_hint')}</p>
            <ConfirmButton
              label={t('admin.user.disable')}
              question={t('admin.user.confirm_disable', { username: account.username })}
              onConfirm={() => setDisabled(true)}
              testid="admin-user-disable"
            />
          </>
        )
      )}
    </div>
  );
}

function Devices({ devices, onDone }: { devices: DeviceRow[]; onDone: (m: Msg) => void }) {
  async function revoke(d: DeviceRow) {
    try {
      await api('POST', `/api/v1/admin/devices/${encodeURIComponent(d.id)}/revoke`, {});
      onDone({ ok: true, text: t('admin.devices.revoked_now') });
    } catch (err) {
      onDone({ ok: false, text: errorText(err) });
    }
  }
  return (
    <div class="admin-section">
      <h2>{t('admin.devices.title')}</h2>
      {devices.length === 0 ? (
        <p class="hint">{t('admin.devices.none')}</p>
      ) : (
        <div class="admin-table-wrap">
          <table class="admin-table" data-testid="admin-devices">
            <thead>
              <tr>
                <th scope="col">{t('admin.devices.name')}</th>
                <th scope="col">{t('admin.devices.created')}</th>
                <th scope="col">{t('admin.devices.last_sync')}</th>
                <th scope="col">{t('admin.devices.state')}</th>
                <th scope="col">
                  <span class="sr-only">{t('admin.devices.revoke')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => {
                const state = d.revoked_at !== null ? 'revoked' : d.signed_out_at !== null ? 'signed_out' : 'active';
                return (
                  <tr key={d.id} data-testid="admin-device-row" data-device={d.id} data-state={state}>
                    <td>{d.name}</td>
                    <td>{when(d.created_at)}</td>
                    <td>{when(d.last_seen_at)}</td>
                    <td class={state === 'active' ? 'status-ok' : 'status-off'}>{t(`admin.devices.${state}`)}</td>
                    <td>
                      {state !== 'revoked' && (
                        <ConfirmButton
                          label={t('admin.devices.revoke')}
                          ariaLabel={t('admin.devices.revoke_label', { name: d.name, date: when(d.created_at) })}
                          question={t('admin.devices.confirm_revoke')}
                          onConfirm={() => revoke(d)}
                          testid="admin-device-revoke"
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
