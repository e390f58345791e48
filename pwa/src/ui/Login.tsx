import { useState } from 'preact/hooks';
import { t, type MsgKey } from '../i18n';
import { AuthError } from '../sync/auth';
import { useApp, go } from './hooks';

export function Login() {
  const app = useApp();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<MsgKey | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await app.login(username.trim(), password);
      setPassword('');
      go('/');
    } catch (err) {
      if (err instanceof AuthError) {
        setError(
          err.code === 'wrong_user'
            ? 'login.wrong_user'
            : err.kind === 'network' || err.kind === 'server'
              ? 'login.offline'
              : err.kind === 'rate_limited'
                ? 'login.rate_limited'
                : 'login.failed',
        );
      } else setError('login.failed');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="screen narrow">
      <h1 tabIndex={-1}>{t('login.title')}</h1>
      {app.authNeeded && <p class="hint">{t('login.again')}</p>}
      <form onSubmit={submit} class="stack">
        <label for="username">{t('login.username')}</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="none" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        <label for="password">{t('login.password')}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {error && (
          <p class="error-text" role="alert">
            {t(error)}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
