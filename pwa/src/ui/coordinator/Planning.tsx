// Planning walks and spreekuur sessions ahead. Route: #/coord/plan
// A coordinator creates the document here with the wasm constructors
// (app.newWalk / app.newSession, team chosen by the coordinator; expected
// participants as add_participant edits; a session's staff, picked from the
// team's accounts (GET /api/v1/people), as add_staff), stores it on this device and syncs
// it; the server files it under that team, so the team's phones list it under
// "Vandaag en gepland" after their next sync. Below the form: what is planned,
// from the server (GET /api/v1/documents?state=planned: a laptop holds only
// what it created or opened, the sync scope) merged with what is on this
// device, so a session planned here and not sent yet is listed too (planned.ts).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, tn } from '../../i18n';
import { formatWhen } from '../../dates';
import { StoreError } from '../../store/db';
import { useApp } from '../hooks';
import { TeamSelect } from '../TeamSelect';
import { teamLabel } from '../../model/doc';
import type { App } from '../../app';
import { api, ApiError } from '../admin/api';
import { listDocuments } from '../../net/documents';
import { addPlannedPage, fromListed, mergePlanned, type Kind, type Planned, type PlannedPages } from './planned';

interface Person {
  id: string;
  name: string;
  team: string | null;
}

/** Documents planned per page and kind (the server's bound is 50). */
const PAGE = 50;

function localInputValue(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function tomorrowEvening(): number {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(19, 0, 0, 0);
  return d.getTime();
}

function todayStart(): number {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  return today.getTime();
}

/** Walks and sessions on this device planned from `from` on that have not started. */
function localPlanned(app: App, from: number): Planned[] {
  const out: Planned[] = [];
  for (const [id, doc] of app.docs) {
    const pending = app.pending.get(id) ?? 0;
    try {
      const kind = doc.kind();
      if (kind === 'walk') {
        const w = doc.walk();
        if (w.planned_at !== null && w.planned_at >= from && w.started_at === null)
          out.push({ id, kind, title: w.title, wijk: w.wijk, team: w.team, when: w.planned_at, participants: w.participants.length, pending });
      } else if (kind === 'spreekuur') {
        const s = doc.session();
        if (s.held_on !== null && s.held_on >= from && doc.rows().length === 0)
          out.push({ id, kind, title: s.location, wijk: s.wijk, team: s.team, when: s.held_on, participants: s.staff.length, pending });
      }
    } catch {
      // An unreadable document is not a planned one; the home screen lists it.
    }
  }
  return out;
}

/** Teams of the accounts, of the planned documents and of the documents on this device, plus the coordinator's own. */
function knownTeams(app: App, people: Person[], planned: Planned[]): string[] {
  const teams = new Set<string>(people.map((p) => p.team ?? '').filter(Boolean));
  if (app.user?.team) teams.add(app.user.team);
  for (const p of planned) if (p.team) teams.add(p.team);
  for (const doc of app.docs.values()) {
    try {
      const k = doc.kind();
      const team = k === 'walk' ? doc.walk().team : k === 'spreekuur' ? doc.session().team : '';
      if (team) teams.add(team);
    } catch {
      // skip unreadable documents
    }
  }
  return [...teams].sort();
}

type Remote = { state: 'loading' | 'ready' | 'error'; error: string | null; pages: Record<Kind, PlannedPages> };

const EMPTY: Record<Kind, PlannedPages> = { walk: { docs: [], nextFrom: null }, spreekuur: { docs: [], nextFrom: null } };

/**
 * The server's planned walks and sessions from today on, a page per kind;
 * `more()` reads the next pages, `reload()` starts again (after a plan was
 * made here, or when the screen opens).
 */
function useRemotePlanned(): Remote & { more: () => void; reload: () => void } {
  const app = useApp();
  const [remote, setRemote] = useState<Remote>({ state: 'loading', error: null, pages: EMPTY });
  const [gen, setGen] = useState(0);
  const genRef = useRef(0);
  async function read(pages: Record<Kind, PlannedPages>, first: boolean, g: number) {
    const from = todayStart();
    const next = { ...pages };
    try {
      for (const kind of ['walk', 'spreekuur'] as const) {
        const at = first ? from : pages[kind].nextFrom;
        if (at === null) continue;
        const page = await listDocuments(app.api, { kind, state: 'planned', from: at, limit: PAGE });
        next[kind] = addPlannedPage(first ? { docs: [], nextFrom: null } : pages[kind], page.documents, at, PAGE);
      }
      if (g === genRef.current) setRemote({ state: 'ready', error: null, pages: next });
    } catch (e) {
      if (g === genRef.current) setRemote((r) => ({ ...r, state: 'error', error: e instanceof ApiError ? e.code : 'internal' }));
    }
  }
  useEffect(() => {
    const g = ++genRef.current;
    setRemote((r) => ({ ...r, state: 'loading' }));
    void read(EMPTY, true, g);
  }, [gen]);
  return {
    ...remote,
    more: () => {
      const g = genRef.current;
      setRemote((r) => ({ ...r, state: 'loading' }));
      void read(remote.pages, false, g);
    },
    reload: () => setGen((n) => n + 1),
  };
}

export function Planning() {
  const app = useApp();
  const catalog = app.catalog()?.catalog() ?? null;
  const wijken = catalog?.wijken ?? [];
  const wijkLabel = (id: string) => wijken.find((w) => w.id === id)?.label ?? id;
  const [kind, setKind] = useState<Kind>('walk');
  const [title, setTitle] = useState('');
  const [when, setWhen] = useState(() => localInputValue(tomorrowEvening()));
  const [wijk, setWijk] = useState('');
  const [route, setRoute] = useState('');
  const [team, setTeam] = useState(app.user?.team ?? '');
  const [people, setPeople] = useState<{ name: string; organisation: string }[]>([]);
  const [pName, setPName] = useState('');
  const [pOrg, setPOrg] = useState('');
  // Names of the team's accounts for a session's staff: null until they arrive. Without them
  // the form still works, but it says so (a failed load used to look like a team without
  // accounts, and the session was planned without staff unnoticed).
  const [accounts, setAccounts] = useState<Person[] | null>(null);
  const [accountsError, setAccountsError] = useState<string | null>(null);
  const [accountsAttempt, setAccountsAttempt] = useState(0);
  const [staff, setStaff] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    setAccountsError(null);
    api<{ people: Person[] }>('GET', '/api/v1/people')
      .then((r) => live && setAccounts(r.people))
      .catch((e) => live && setAccountsError(e instanceof ApiError ? e.code : 'internal'));
    return () => {
      live = false;
    };
  }, [accountsAttempt]);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const remote = useRemotePlanned();
  const remotePlanned = [...remote.pages.walk.docs, ...remote.pages.spreekuur.docs].map(fromListed).filter((p): p is Planned => p !== null);
  const list = mergePlanned(localPlanned(app, todayStart()), remotePlanned, new Set(app.docs.keys()));
  const hasMore = remote.pages.walk.nextFrom !== null || remote.pages.spreekuur.nextFrom !== null;
  const teams = knownTeams(app, accounts ?? [], list);
  const teamPeople = (accounts ?? []).filter((p) => p.team !== null && p.team === team.trim());

  if (!catalog) {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('coordinator.plan.title')}</h1>
        <p class="hint">{t('app.loading')}</p>
      </section>
    );
  }

  function addPerson() {
    if (!pName.trim()) return;
    setPeople([...people, { name: pName.trim(), organisation: pOrg.trim() }]);
    setPName('');
    setPOrg('');
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (!team.trim()) {
      setMsg({ ok: false, text: t('coordinator.plan.need_team') });
      return;
    }
    setBusy(true);
    setMsg(null);
    const at = new Date(when).getTime();
    try {
      if (kind === 'walk') {
        const all = pName.trim() ? [...people, { name: pName.trim(), organisation: pOrg.trim() }] : people;
        await app.newWalk({ title: title.trim(), wijk, route: route.trim(), planned_at: at, team: team.trim() }, (doc) => {
          for (const p of all) doc.addParticipant(p.name, p.organisation);
        });
      } else {
        const chosen = teamPeople.filter((p) => staff.includes(p.id));
        await app.newSession({ location: route.trim(), wijk, held_on: at, team: team.trim() }, (doc) => {
          for (const p of chosen) doc.addStaff(p.id, p.name);
        });
      }
      setMsg({ ok: true, text: t('coordinator.plan.created', { team: teamLabel(catalog, team.trim()) }) });
      setTitle('');
      setRoute('');
      setPeople([]);
      setStaff([]);
      setPName('');
      setPOrg('');
    } catch (err) {
      // Storage errors are shown by the app's banner; anything else here.
      if (!(err instanceof StoreError)) setMsg({ ok: false, text: t('coordinator.plan.error', { code: (err as { code?: string }).code ?? 'invalid_argument' }) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="screen">
      <h1 tabIndex={-1}>{t('coordinator.plan.title')}</h1>
      <p class="hint">{t('coordinator.plan.intro')}</p>
      <form class="stack card-form" onSubmit={submit} data-testid="plan-form">
        <fieldset class="seg" style={{ border: 'none', padding: 0 }}>
          <legend>{t('coordinator.plan.kind')}</legend>
          {(['walk', 'spreekuur'] as const).map((k) => (
            <button key={k} type="button" class="seg-btn" aria-pressed={kind === k} onClick={() => setKind(k)} data-testid={`plan-kind-${k}`}>
              {k === 'walk' ? t('coordinator.plan.kind_walk') : t('coordinator.plan.kind_session')}
            </button>
          ))}
        </fieldset>
        {kind === 'walk' && (
          <>
            <label for="pl-title">{t('coordinator.plan.name')}</label>
            <input id="pl-title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </>
        )}
        <label for="pl-when">{t('coordinator.plan.when')}</label>
        <input id="pl-when" type="datetime-local" required value={when} onInput={(e) => setWhen(e.currentTarget.value)} />
        <label for="pl-wijk">{t('coordinator.plan.wijk')}</label>
        <select id="pl-wijk" required value={wijk} onChange={(e) => setWijk(e.currentTarget.value)}>
          <option value="" />
          {wijken.map((w) => (
            <option key={w.id} value={w.id}>
              {w.label}
            </option>
          ))}
        </select>
        <label for="pl-route">{kind === 'walk' ? t('coordinator.plan.route') : t('coordinator.plan.location')}</label>
        <input id="pl-route" required={kind === 'spreekuur'} maxLength={500} value={route} onInput={(e) => setRoute(e.currentTarget.value)} />
        <label for="pl-team">{t('coordinator.plan.team')}</label>
        <TeamSelect id="pl-team" value={team} onChange={setTeam} catalog={catalog} known={teams} required describedBy="pl-team-hint" testid="plan-team" />
        <span id="pl-team-hint" class="hint">
          {t('coordinator.plan.team_hint')}
        </span>
        {kind === 'walk' && (
          <fieldset class="stack">
            <legend>{t('coordinator.plan.participants')}</legend>
            {people.length > 0 && (
              <ul class="plain" data-testid="plan-participants">
                {people.map((p, i) => (
                  <li key={`${i}-${p.name}`} class="row">
                    <span>
                      {p.name}
                      {p.organisation ? ` (${p.organisation})` : ''}
                    </span>
                    <button type="button" class="btn small" onClick={() => setPeople(people.filter((_, j) => j !== i))} aria-label={t('coordinator.plan.remove', { name: p.name })}>
                      {t('coordinator.plan.remove_short')}
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <label for="pl-pname">{t('coordinator.plan.p_name')}</label>
            <input id="pl-pname" maxLength={200} value={pName} onInput={(e) => setPName(e.currentTarget.value)} />
            <label for="pl-porg">{t('coordinator.plan.p_org')}</label>
            <input id="pl-porg" maxLength={200} value={pOrg} onInput={(e) => setPOrg(e.currentTarget.value)} />
            <button type="button" class="btn" onClick={addPerson} disabled={!pName.trim()} data-testid="plan-add-participant">
              {t('coordinator.plan.add_participant')}
            </button>
          </fieldset>
        )}
        {kind === 'spreekuur' && accounts === null && (
          <div class="stack" data-testid="plan-staff-state" data-state={accountsError === null ? 'loading' : 'error'}>
            {accountsError === null ? (
              <p class="hint">{t('coordinator.plan.staff_loading')}</p>
            ) : (
              <>
                <p class="error-text" role="alert" data-testid="plan-staff-error">
                  {t('coordinator.plan.staff_failed', { code: accountsError })}
                </p>
                <button type="button" class="btn small" onClick={() => setAccountsAttempt((n) => n + 1)} data-testid="plan-staff-retry">
                  {t('coordinator.plan.staff_retry')}
                </button>
              </>
            )}
          </div>
        )}
        {kind === 'spreekuur' && teamPeople.length > 0 && (
          <fieldset class="stack" data-testid="plan-staff">
            <legend>{t('coordinator.plan.staff')}</legend>
            {teamPeople.map((p) => (
              <label class="check" key={p.id} for={`pl-staff-${p.id}`}>
                <input
                  id={`pl-staff-${p.id}`}
                  type="checkbox"
                  checked={staff.includes(p.id)}
                  onChange={(e) => setStaff(e.currentTarget.checked ? [...staff, p.id] : staff.filter((x) => x !== p.id))}
                />
                {p.name}
              </label>
            ))}
          </fieldset>
        )}
        {msg && (
          <p class={msg.ok ? 'hint' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="plan-msg">
            {msg.text}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy} data-testid="plan-create">
          {kind === 'walk' ? t('coordinator.plan.create_walk') : t('coordinator.plan.create_session')}
        </button>
      </form>
      <h2>{t('coordinator.plan.upcoming')}</h2>
      {remote.state === 'error' && (
        <p class="error-text" role="alert" data-testid="plan-remote-error">
          {remote.error === 'network' ? t('remote.plan_offline') : t('remote.plan_failed', { code: remote.error ?? 'internal' })}
        </p>
      )}
      <p class="hint" role="status" data-testid="plan-state" data-state={remote.state} data-count={list.length}>
        {remote.state === 'loading' ? t('coordinator.loading') : list.length === 0 ? t('coordinator.plan.none') : ''}
      </p>
      {list.length > 0 && (
        <ul class="cards" data-testid="plan-upcoming">
          {list.map((p) => (
            <li key={p.id} data-testid="plan-item" data-kind={p.kind} data-id={p.id} data-pending={p.pending}>
              <a class="card" href={p.kind === 'walk' ? `#/walk/${p.id}` : `#/session/${p.id}`}>
                <span class="card-kind">{p.kind === 'walk' ? t('coordinator.plan.kind_walk') : t('coordinator.plan.kind_session')}</span>
                <span class="card-title">{p.title || '—'}</span>
                <span class="card-meta">
                  {[
                    formatWhen(p.when, 'list'),
                    wijkLabel(p.wijk),
                    teamLabel(catalog, p.team),
                    p.kind === 'walk' ? tn('coordinator.plan.n_participants', p.participants) : tn('coordinator.plan.n_staff', p.participants),
                    p.pending > 0 ? t('remote.not_sent') : '',
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {hasMore && (
        <button type="button" class="btn" onClick={remote.more} disabled={remote.state === 'loading'} data-testid="plan-more">
          {t('remote.more')}
        </button>
      )}
    </section>
  );
}
