import { useState } from 'preact/hooks';
import { dayLabel, hhmm, t, tn } from '../i18n';
import { useApp, go } from './hooks';
import { StoreError } from '../store/db';
import type { App } from '../app';
import { MyCallbacks } from './MyCallbacks';

interface Entry {
  id: string;
  kind: 'walk' | 'spreekuur';
  title: string;
  wijk: string;
  when: number | null;
  live: boolean;
  ended: boolean;
  count: number;
}

function entries(app: App): Entry[] {
  const out: Entry[] = [];
  for (const [id, doc] of app.docs) {
    const kind = doc.kind();
    try {
      if (kind === 'walk') {
        const w = doc.walk();
        out.push({
          id,
          kind,
          title: w.title,
          wijk: w.wijk,
          when: w.started_at ?? w.planned_at,
          live: w.started_at !== null && w.ended_at === null,
          ended: w.ended_at !== null,
          count: doc.rows().filter((r) => !r.deleted).length,
        });
      } else if (kind === 'spreekuur') {
        const s = doc.session();
        out.push({ id, kind, title: s.location, wijk: s.wijk, when: s.held_on, live: false, ended: false, count: doc.rows().filter((r) => !r.deleted).length });
      }
    } catch {
      // An unreadable document is listed by its id so it is never silently hidden.
      out.push({ id, kind: kind === 'spreekuur' ? 'spreekuur' : 'walk', title: id.slice(0, 8), wijk: '', when: null, live: false, ended: false, count: 0 });
    }
  }
  return out;
}

function wijkLabel(app: App, id: string): string {
  return app.catalog()?.catalog().wijken.find((w) => w.id === id)?.label ?? id;
}

export function Home() {
  const app = useApp();
  const all = entries(app);
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const start = today.getTime();
  const upcoming = all.filter((e) => !e.ended && (e.live || (e.when ?? 0) >= start)).sort((a, b) => (a.when ?? 0) - (b.when ?? 0));
  const recent = all.filter((e) => !upcoming.includes(e)).sort((a, b) => (b.when ?? 0) - (a.when ?? 0)).slice(0, 10);
  const roles = app.user?.roles ?? [];
  const canWalk = roles.includes('boa') || roles.includes('coordinator');
  const canSession = roles.includes('spreekuur') || roles.includes('coordinator');

  return (
    <section class="screen">
      <h1 tabIndex={-1}>{t('home.title')}</h1>
      <p class="hint">{t('home.hello', { name: app.user?.name ?? '' })}</p>
      {app.persistDenied && <p class="hint">{t('store.persist_denied')}</p>}
      <div class="actions">
        {canWalk && (
          <a class="btn primary" href="#/new-walk">
            {t('home.new_walk')}
          </a>
        )}
        {canSession && (
          <a class="btn primary" href="#/new-session">
            {t('home.new_session')}
          </a>
        )}
      </div>
      {roles.includes('spreekuur') && <MyCallbacks />}
      <h2>{t('home.today')}</h2>
      <List items={upcoming} empty={t('home.none')} app={app} />
      <h2>{t('home.recent')}</h2>
      <List items={recent} empty={t('home.none_recent')} app={app} />
    </section>
  );
}

function List({ items, empty, app }: { items: Entry[]; empty: string; app: App }) {
  if (items.length === 0) return <p class="hint">{empty}</p>;
  return (
    <ul class="cards" data-testid="doc-list">
      {items.map((e) => (
        <li key={e.id}>
          <a class="card" href={e.kind === 'walk' ? `#/walk/${e.id}` : `#/session/${e.id}`} data-testid="doc-link">
            <span class="card-kind">{e.kind === 'walk' ? t('home.walk') : t('home.session')}</span>
            <span class="card-title">{e.title || '—'}</span>
            <span class="card-meta">
              {[wijkLabel(app, e.wijk), e.when !== null ? `${dayLabel(e.when)} ${hhmm(e.when)}` : '', e.live ? t('home.started') : e.ended ? t('home.ended') : '',
                e.kind === 'walk' ? tn('home.observations', e.count) : tn('home.notes', e.count)]
                .filter(Boolean)
                .join(' · ')}
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function localInputValue(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function WijkSelect({ value, onChange, id }: { value: string; onChange: (v: string) => void; id: string }) {
  const app = useApp();
  const wijken = app.catalog()?.catalog().wijken ?? [];
  if (wijken.length === 0) return <input id={id} required value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  return (
    <select id={id} required value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      <option value="" />
      {wijken.map((w) => (
        <option key={w.id} value={w.id}>
          {w.label}
        </option>
      ))}
    </select>
  );
}

export function NewWalk() {
  const app = useApp();
  const [title, setTitle] = useState('');
  const [wijk, setWijk] = useState('');
  const [route, setRoute] = useState('');
  const [planned, setPlanned] = useState(() => localInputValue(Date.now()));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!app.catalog()) return <Waiting title={t('new.walk.title')} />;
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      const id = await app.newWalk({ title: title.trim(), wijk, route: route.trim(), planned_at: planned ? new Date(planned).getTime() : null });
      go(`/walk/${id}`);
    } catch (err) {
      // Storage errors are shown by the banner; anything else here.
      if (!(err instanceof StoreError)) setError((err as { code?: string }).code ?? 'invalid_argument');
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="screen narrow">
      <h1 tabIndex={-1}>{t('new.walk.title')}</h1>
      <form class="stack" onSubmit={submit}>
        <label for="w-title">{t('new.walk.name')}</label>
        <input id="w-title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <label for="w-wijk">{t('new.walk.wijk')}</label>
        <WijkSelect id="w-wijk" value={wijk} onChange={setWijk} />
        <label for="w-route">{t('new.walk.route')}</label>
        <input id="w-route" value={route} onInput={(e) => setRoute(e.currentTarget.value)} />
        <label for="w-planned">{t('new.walk.planned')}</label>
        <input id="w-planned" type="datetime-local" value={planned} onInput={(e) => setPlanned(e.currentTarget.value)} />
        {error && (
          <p class="error-text" role="alert">
            {t('error.generic', { code: error })}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {t('new.create')}
        </button>
        <a class="btn" href="#/">
          {t('new.cancel')}
        </a>
      </form>
    </section>
  );
}

export function NewSession() {
  const app = useApp();
  const [location, setLocation] = useState('');
  const [wijk, setWijk] = useState('');
  const [held, setHeld] = useState(() => localInputValue(Date.now()));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!app.catalog()) return <Waiting title={t('new.session.title')} />;
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      const id = await app.newSession({ location: location.trim(), wijk, held_on: held ? new Date(held).getTime() : Date.now() });
      go(`/session/${id}`);
    } catch (err) {
      if (!(err instanceof StoreError)) setError((err as { code?: string }).code ?? 'invalid_argument');
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="screen narrow">
      <h1 tabIndex={-1}>{t('new.session.title')}</h1>
      <form class="stack" onSubmit={submit}>
        <label for="s-loc">{t('new.session.location')}</label>
        <input id="s-loc" required value={location} onInput={(e) => setLocation(e.currentTarget.value)} />
        <label for="s-wijk">{t('new.session.wijk')}</label>
        <WijkSelect id="s-wijk" value={wijk} onChange={setWijk} />
        <label for="s-held">{t('new.session.held_on')}</label>
        <input id="s-held" type="datetime-local" value={held} onInput={(e) => setHeld(e.currentTarget.value)} />
        {error && (
          <p class="error-text" role="alert">
            {t('error.generic', { code: error })}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {t('new.create')}
        </button>
        <a class="btn" href="#/">
          {t('new.cancel')}
        </a>
      </form>
    </section>
  );
}

function Waiting({ title }: { title: string }) {
  return (
    <section class="screen narrow">
      <h1 tabIndex={-1}>{title}</h1>
      <p class="hint">{t('app.loading')}</p>
      <a class="btn" href="#/">
        {t('nav.back')}
      </a>
    </section>
  );
}
