// The home screen of the field app: what is on this device (today and
// planned, recent), and — when online — what is not: a colleague's running
// walk to join ("meedoen") and the team's older walks and sessions, a page
// at a time ("meer laden"), from GET /api/v1/documents. Under the sync scope
// (docs/sync-protocol.md §2) a phone holds its own recent documents and the
// team's planned ones; opening one from these lists, or joining, brings that
// one document onto the phone (ui/openDoc.ts).

import { useEffect, useRef, useState } from 'preact/hooks';
import { t, tn } from '../i18n';
import { formatWhen } from '../dates';
import { useApp, go } from './hooks';
import { StoreError } from '../store/db';
import type { App } from '../app';
import { MyCallbacks } from './MyCallbacks';
import { ApiError } from '../net/api';
import { appendPage, listDocuments, listedCount, listedTitle, listedWhen, type DocListKind, type ListedDoc } from '../net/documents';
import { heldDoc, openState, startOpen } from './openDoc';
import { openFailureText } from './OpenToEdit';
import { joinWalkAction, participantIdFor } from './actions';

/** Documents per page of the team's older ones. */
const OLDER_PAGE = 10;
/** Running walks listed at most (a team rarely has more than a few at once). */
const RUNNING_MAX = 20;

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
      {roles.includes('boa') && <RunningWalks />}
      <h2>{t('home.recent')}</h2>
      <List items={recent} empty={t('home.none_recent')} app={app} />
      {roles.includes('boa') && <OlderDocs kind="walk" />}
      {roles.includes('spreekuur') && <OlderDocs kind="spreekuur" />}
    </section>
  );
}

function listedMeta(app: App, d: ListedDoc, extra: string): string {
  const when = listedWhen(d);
  const n = listedCount(d);
  return [wijkLabel(app, d.context?.wijk ?? ''), when !== null ? formatWhen(when, 'list') : '', extra, d.kind === 'walk' ? tn('home.observations', n) : tn('home.notes', n)]
    .filter(Boolean)
    .join(' · ');
}

/**
 * Colleagues' walks that are running and not on this phone (the server does
 * not push a running walk to the whole team): "meedoen" brings it onto the
 * phone, adds the user as a participant (one action, so the phone keeps the
 * walk as one it wrote to) and opens it. Read when the screen opens and when
 * the connection comes back.
 */
function RunningWalks() {
  const app = useApp();
  const [docs, setDocs] = useState<ListedDoc[] | null>(null);
  const online = app.conn === 'online';
  useEffect(() => {
    if (!online) return;
    let live = true;
    listDocuments(app.api, { kind: 'walk', state: 'running', limit: RUNNING_MAX })
      .then((p) => live && setDocs(p.documents))
      .catch(() => live && setDocs(null));
    return () => {
      live = false;
    };
  }, [online]);
  const shown = (docs ?? []).filter((d) => !heldDoc(d.id));
  if (shown.length === 0) return null;
  const join = (d: ListedDoc) => {
    const user = app.user;
    if (!user) return;
    startOpen(d.id, async (doc) => {
      const pid = await participantIdFor(user.id, doc.id);
      await app.edit(doc.id, joinWalkAction(user, pid));
      go(`/walk/${doc.id}`);
    });
  };
  return (
    <>
      <h2>{t('remote.running')}</h2>
      <ul class="cards" data-testid="running-list">
        {shown.map((d) => {
          const st = openState(d.id);
          return (
            <li key={d.id} data-testid="running-walk" data-id={d.id}>
              <div class="card">
                <span class="card-kind">{t('home.walk')}</span>
                <span class="card-title">{listedTitle(d) || '—'}</span>
                <span class="card-meta">{listedMeta(app, d, t('home.started'))}</span>
                <button type="button" class="btn primary" onClick={() => join(d)} disabled={st.kind === 'opening'} data-testid="join-walk">
                  {st.kind === 'opening' ? t('remote.joining') : t('remote.join')}
                </button>
                {st.kind === 'error' && (
                  <span class="error-text" role="alert" data-testid="open-error" data-code={st.code}>
                    {openFailureText(st.code)}
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </>
  );
}

/**
 * The team's older walks or sessions that are not on this phone, newest
 * first, a page at a time ("meer laden"); opening one brings it onto the
 * phone (the walk or session screen asks the server for it). Only online:
 * offline the screen says where they are.
 */
function OlderDocs({ kind }: { kind: DocListKind }) {
  const app = useApp();
  const [docs, setDocs] = useState<ListedDoc[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [state, setState] = useState<'idle' | 'loading' | 'ready' | 'error'>('idle');
  const [error, setError] = useState<string | null>(null);
  const online = app.conn === 'online';
  const gen = useRef(0);
  async function load(before: string | null) {
    const g = gen.current;
    setState('loading');
    try {
      const page = await listDocuments(app.api, { kind, state: 'past', before, limit: OLDER_PAGE });
      if (g !== gen.current) return;
      setDocs((cur) => appendPage(before ? cur : [], page.documents));
      setNext(page.next_before);
      setState('ready');
      setError(null);
    } catch (e) {
      if (g !== gen.current) return;
      setState('error');
      setError(e instanceof ApiError ? e.code : 'internal');
    }
  }
  useEffect(() => {
    if (!online || state === 'ready') return;
    gen.current++;
    void load(null);
  }, [online]);
  const shown = docs.filter((d) => !app.docs.has(d.id));
  const title = kind === 'walk' ? t('remote.older_walks') : t('remote.older_sessions');
  return (
    <section aria-labelledby={`older-${kind}`} data-testid="older" data-kind={kind} data-state={state} data-count={shown.length}>
      <h2 id={`older-${kind}`}>{title}</h2>
      {state !== 'ready' && !online && <p class="hint">{t('remote.older_offline')}</p>}
      {state === 'error' && online && (
        <p class="error-text" role="alert">
          {t('remote.older_failed', { code: error ?? 'internal' })}
        </p>
      )}
      {state === 'ready' && shown.length === 0 && !next && <p class="hint">{t('home.none_recent')}</p>}
      {shown.length > 0 && (
        <ul class="cards" data-testid="older-list">
          {shown.map((d) => (
            <li key={d.id}>
              <a class="card" href={d.kind === 'walk' ? `#/walk/${d.id}` : `#/session/${d.id}`} data-testid="older-link" data-id={d.id}>
                <span class="card-kind">{d.kind === 'walk' ? t('home.walk') : t('home.session')}</span>
                <span class="card-title">{listedTitle(d) || '—'}</span>
                <span class="card-meta">{listedMeta(app, d, d.kind === 'walk' && d.context?.ended_at ? t('home.ended') : '')}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {next && online && (
        <button type="button" class="btn" onClick={() => void load(next)} disabled={state === 'loading'} data-testid="older-more">
          {state === 'loading' ? t('remote.loading') : t('remote.more')}
        </button>
      )}
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
              {[wijkLabel(app, e.wijk), e.when !== null ? formatWhen(e.when, 'list') : '', e.live ? t('home.started') : e.ended ? t('home.ended') : '',
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
