import { useEffect, useRef, useState } from 'preact/hooks';
import { useRegisterSW } from 'virtual:pwa-register/preact';
import { lang, setLang, t, tn } from '../i18n';
import { formatTime } from '../dates';
import { useApp, useRoute, go } from './hooks';
import { Login } from './Login';
import { Home, NewSession, NewWalk } from './Home';
import { QuickEntry, WalkScreen } from './Walk';
import { SessionScreen } from './Session';
import { CoordinatorArea } from './coordinator';
import { AdminArea } from './admin';
import { Settings } from './Settings';
import { onThemeChange, theme } from '../theme';

/** The app's name (and the municipality's logo) from the server's theme. */
function Brand() {
  const [, setV] = useState(0);
  useEffect(() => onThemeChange(() => setV((v) => v + 1)), []);
  const th = theme();
  return (
    <a class="brand" href="#/" data-testid="brand">
      {th.logoUrl && <img class="brand-logo" src={th.logoUrl} alt={th.municipality || ''} data-testid="brand-logo" />}
      <span>{th.name}</span>
      {th.municipality && <span class="brand-sub">{th.municipality}</span>}
    </a>
  );
}

export function Root() {
  const app = useApp();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    // Move focus to the new screen's heading so screen readers announce it.
    window.scrollTo(0, 0);
    const h = main.current?.querySelector<HTMLElement>('h1');
    h?.focus({ preventScroll: true });
  }, [route.name, (route as { id?: string }).id, !!app.session]);

  const loggedIn = !!app.session;
  let screen;
  if (!loggedIn || route.name === 'login') screen = <Login />;
  else if (route.name === 'walk') screen = <WalkScreen id={route.id} />;
  else if (route.name === 'entry') screen = <QuickEntry id={route.id} point={route.point} />;
  else if (route.name === 'session') screen = <SessionScreen id={route.id} />;
  else if (route.name === 'new-walk') screen = <NewWalk />;
  else if (route.name === 'new-session') screen = <NewSession />;
  else if (route.name === 'settings') screen = <Settings />;
  else if (route.name === 'coord') screen = <CoordinatorArea path={route.path} />;
  else if (route.name === 'admin') screen = <AdminArea path={route.path} />;
  else screen = <Home />;

  return (
    <div class="shell" data-catalog={app.catalog() ? 'ready' : 'missing'}>
      <header class="top">
        <Brand />
        {loggedIn && <SyncIndicator />}
        <div class="top-actions">
          {loggedIn && app.user?.roles.includes('coordinator') && (
            <a class="btn small ghost" href="#/coord" data-testid="nav-coord">
              {t('coordinator.nav')}
            </a>
          )}
          {loggedIn && app.user?.roles.includes('admin') && (
            <a class="btn small ghost" href="#/admin" data-testid="nav-admin">
              {t('admin.nav')}
            </a>
          )}
          {loggedIn && (
            <button type="button" class="btn small ghost" onClick={() => app.requestLogout()} data-testid="logout">
              {t('nav.logout')}
            </button>
          )}
        </div>
      </header>
      <UpdateBanner />
      {app.storeError && (
        <div class="banner error" role="alert" data-testid="store-error">
          {app.storeError.code === 'quota' ? t('store.quota') : t('store.error', { code: app.storeError.code })}
        </div>
      )}
      {loggedIn && app.authNeeded && route.name !== 'login' && (
        <div class="banner warn" role="alert">
          <span>{t('login.again')}</span>
          <button type="button" class="btn small" onClick={() => go('/login')}>
            {t('login.submit')}
          </button>
        </div>
      )}
      {app.notice && !loggedIn && (
        <div class="banner info" role="status" data-testid="notice">
          {t(app.notice)}
        </div>
      )}
      <main ref={main} id="main">
        {screen}
      </main>
      <footer class="foot">
        {loggedIn && (
          <a class="btn small ghost" href="#/settings" data-testid="nav-settings">
            {t('settings.nav')}
          </a>
        )}
        <button type="button" class="btn small ghost" lang={lang() === 'nl' ? 'en' : 'nl'} onClick={() => setLang(lang() === 'nl' ? 'en' : 'nl')}>
          {t('lang.switch')}
        </button>
      </footer>
      <Dialogs />
    </div>
  );
}

export function SyncIndicator() {
  const app = useApp();
  const n = app.totalPending();
  const photos = app.photos.length;
  const since = app.pendingSince();
  // "alles verstuurd" only when every change is acked AND every photo uploaded.
  const text =
    n === 0 && photos === 0
      ? t('sync.all_sent')
      : [
          n === 0 ? '' : tn('sync.waiting', n, { time: formatTime(since ?? Date.now()) }),
          photos === 0 ? '' : tn('photos.waiting', photos),
        ]
          .filter(Boolean)
          .join(' · ');
  const conn =
    app.conn === 'online'
      ? t('sync.online')
      : app.conn === 'connecting'
        ? t('sync.connecting')
        : app.conn === 'auth_needed'
          ? t('sync.auth_needed')
          : t('sync.offline');
  return (
    <div class={`sync ${n === 0 && photos === 0 ? 'ok' : 'wait'}`} role="status" aria-live="polite" aria-label={t('sync.status_label')}>
      <span data-testid="sync-indicator" data-pending={n} data-photos={photos}>
        {text}
      </span>
      <span class="conn">
        <span data-testid="conn" data-conn={app.conn}>
          {conn}
        </span>
        <SaveState />
      </span>
    </div>
  );
}

/** How long "opgeslagen" stays in the header after a save. */
const SAVED_VISIBLE_MS = 4_000;

function SaveState() {
  const app = useApp();
  const s = app.saveState;
  const savedAt = s.kind === 'saved' ? s.at : 0;
  // "opgeslagen" is news about the last tap, not a state: it fades after a few
  // seconds (the attributes stay for tests and the benchmark).
  const [faded, setFaded] = useState(false);
  useEffect(() => {
    setFaded(false);
    if (!savedAt) return;
    const timer = setTimeout(() => setFaded(true), Math.max(0, savedAt + SAVED_VISIBLE_MS - Date.now()));
    return () => clearTimeout(timer);
  }, [savedAt]);
  return (
    <span class={`save ${s.kind}`} data-testid="save-state" data-state={s.kind} data-at={savedAt || ''}>
      {s.kind === 'saving' ? ` · ${t('store.saving')}` : s.kind === 'saved' && !faded ? ` · ${t('store.saved')}` : ''}
    </span>
  );
}

function UpdateBanner() {
  const {
    needRefresh: [needRefresh],
    updateServiceWorker,
  } = useRegisterSW({ immediate: true });
  if (!needRefresh) return null;
  return (
    <div class="banner info" role="status">
      <span>{t('app.update.hint')}</span>
      <button type="button" class="btn small" onClick={() => void updateServiceWorker(true)}>
        {t('app.update')}
      </button>
    </div>
  );
}

function Dialogs() {
  const app = useApp();
  const d = app.dialog;
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    first.current?.focus();
  }, [d?.type]);
  if (!d) return null;
  if (d.type === 'logout')
    return (
      <div class="dialog-backdrop">
        <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="dlg-title" aria-describedby="dlg-text" data-testid="logout-warning">
          <h2 id="dlg-title">{t('logout.title')}</h2>
          <p id="dlg-text">
            {[d.pending === 0 ? '' : tn('logout.unsent', d.pending), d.photos > 0 ? tn('photos.logout_unsent', d.photos) : '']
              .filter(Boolean)
              .join(' ')}
          </p>
          <button ref={first} type="button" class="btn primary" onClick={() => app.waitThenLogout()} data-testid="logout-wait">
            {t('logout.wait')}
          </button>
          <button type="button" class="btn danger" onClick={() => void app.logoutNow()} data-testid="logout-anyway">
            {t('logout.anyway')}
          </button>
          <button type="button" class="btn" onClick={() => app.cancelDialog()}>
            {t('logout.cancel')}
          </button>
        </div>
      </div>
    );
  if (d.type === 'logout-waiting')
    return (
      <div class="dialog-backdrop">
        <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="dlg-title">
          <h2 id="dlg-title">{t('logout.title')}</h2>
          <p>{t('logout.waiting')}</p>
          <SyncIndicatorInline />
          <button ref={first} type="button" class="btn" onClick={() => app.cancelDialog()}>
            {t('logout.cancel')}
          </button>
        </div>
      </div>
    );
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="dlg-title" data-testid="revoked">
        <h2 id="dlg-title">{t('revoked.title')}</h2>
        <p>{t('revoked.text')}</p>
        {d.pending > 0 && <p>{tn('revoked.unsent', d.pending)}</p>}
        {d.photos > 0 && <p>{tn('photos.logout_unsent', d.photos)}</p>}
        <button ref={first} type="button" class="btn primary" onClick={() => app.cancelDialog()}>
          {t('revoked.ok')}
        </button>
      </div>
    </div>
  );
}

function SyncIndicatorInline() {
  const app = useApp();
  const n = app.unsentWork();
  return <p>{n === 0 ? t('sync.all_sent') : tn('sync.waiting', n, { time: formatTime(app.pendingSince() ?? Date.now()) })}</p>;
}
