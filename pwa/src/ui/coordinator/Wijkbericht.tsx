// The wijkbericht ("u meldde, wij deden", docs/user-guide-coordinator.md):
//   #/coord/berichten      the list, and a form for a new draft (wijk, from, to)
//   #/coord/bericht/<id>   one: edit the text, preview, print, copy, publish, withdraw
// The server writes the draft from counts only (POST /api/v1/wijkberichten);
// the coordinator reads and edits it here. Nothing typed is lost: the text in
// the box is kept on this device until it is saved, a refused save leaves it in
// the box with the reason, and a save on an older version (someone else saved
// in between) asks whose text to keep.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { app } from '../../app';
import { t, type MsgKey } from '../../i18n';
import { formatDay, formatWhen } from '../../dates';
import { go } from '../hooks';
import { ApiError } from './api';
import { labelOf, useCatalog } from './common';
import { dayOf, dayStart } from './filters';
import { blocks, looksPersonal } from './berichtText';
import './report.css';
import './bericht.css';

export interface Wijkbericht {
  id: number;
  wijk: string;
  from: string;
  to: string;
  status: 'concept' | 'gepubliceerd';
  version: number;
  text: string;
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
  published_at: number | null;
  published_by: string | null;
}

const api = app.api;

function errorKey(e: unknown): { key: MsgKey; code: string } {
  const code = e instanceof ApiError ? e.code : 'internal';
  const known: Record<string, MsgKey> = {
    stale_version: 'wijkbericht.error.stale',
    personal_data: 'wijkbericht.error.personal_data',
    wijkbericht_published: 'wijkbericht.error.published',
    sqlite_only: 'wijkbericht.error.sqlite_only',
    not_found: 'wijkbericht.error.not_found',
    network: 'wijkbericht.error.network',
  };
  return { key: known[code] ?? 'wijkbericht.error.other', code };
}

function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const { key, code } = errorKey(error);
  return (
    <p class="error-text" role="alert" data-testid="bericht-error" data-code={code}>
      {t(key, { code })}
    </p>
  );
}

function period(w: { from: string; to: string }): string {
  const d = (s: string) => formatDay(dayStart(s), 'list');
  return w.from === w.to ? d(w.from) : t('wijkbericht.period', { from: d(w.from), to: d(w.to) });
}

/** The first and last day of the month before today's. */
function lastMonth(): { from: string; to: string } {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  const last = new Date(now.getFullYear(), now.getMonth(), 0);
  return { from: dayOf(first.getTime()), to: dayOf(last.getTime()) };
}

export function WijkberichtenScreen() {
  const catalog = useCatalog();
  const [list, setList] = useState<Wijkbericht[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [wijk, setWijk] = useState('');
  const [from, setFrom] = useState(lastMonth().from);
  const [to, setTo] = useState(lastMonth().to);
  const [busy, setBusy] = useState(false);
  const [makeError, setMakeError] = useState<unknown>(null);
  const wijken = (catalog?.wijken ?? []).filter((w) => !w.retired);

  useEffect(() => {
    api.json<{ wijkberichten: Wijkbericht[] }>('GET', '/api/v1/wijkberichten?limit=100').then(
      (r) => setList(r.wijkberichten),
      (e) => setError(e),
    );
  }, []);

  async function make(e: Event) {
    e.preventDefault();
    setBusy(true);
    setMakeError(null);
    try {
      const r = await api.json<{ wijkbericht: Wijkbericht }>('POST', '/api/v1/wijkberichten', { wijk: wijk || wijken[0]?.id, from, to });
      go(`/coord/bericht/${r.wijkbericht.id}`);
    } catch (err) {
      setMakeError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="coord-screen" data-testid="berichten">
      <h1 tabIndex={-1}>{t('wijkbericht.list.title')}</h1>
      <p class="hint">{t('wijkbericht.list.intro')}</p>
      <h2 id="bericht-new">{t('wijkbericht.new')}</h2>
      <form class="filters frow" aria-labelledby="bericht-new" onSubmit={(e) => void make(e)}>
        <div class="field">
          <label for="wb-wijk">{t('wijkbericht.wijk')}</label>
          <select id="wb-wijk" value={wijk || wijken[0]?.id} onChange={(e) => setWijk(e.currentTarget.value)}>
            {wijken.map((w) => (
              <option key={w.id} value={w.id}>
                {w.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="wb-from">{t('wijkbericht.from')}</label>
          <input id="wb-from" type="date" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="wb-to">{t('wijkbericht.to')}</label>
          <input id="wb-to" type="date" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="row end">
          <button type="submit" class="btn primary" disabled={busy || wijken.length === 0} data-testid="bericht-make">
            {busy ? t('wijkbericht.making') : t('wijkbericht.make')}
          </button>
        </div>
      </form>
      <ErrorLine error={makeError} />
      <ErrorLine error={error} />
      {list && list.length === 0 && <p class="hint">{t('wijkbericht.list.none')}</p>}
      {list && list.length > 0 && (
        <table class="coord-table" data-testid="bericht-list">
          <thead>
            <tr>
              <th scope="col">{t('wijkbericht.col.wijk')}</th>
              <th scope="col">{t('wijkbericht.col.period')}</th>
              <th scope="col">{t('wijkbericht.col.status')}</th>
              <th scope="col">{t('wijkbericht.col.changed')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((w) => (
              <tr key={w.id} data-status={w.status}>
                <th scope="row">
                  <a href={`#/coord/bericht/${w.id}`}>{labelOf(catalog?.wijken, w.wijk)}</a>
                </th>
                <td>{period(w)}</td>
                <td>{t(`wijkbericht.status.${w.status}`)}</td>
                <td>{formatWhen(w.updated_at, 'list')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const keep = (id: string) => `wijklog.wijkbericht.${id}`;

/** What was typed and not saved yet, kept on this device (per wijkbericht). */
function kept(id: string): { version: number; text: string } | null {
  try {
    const v = JSON.parse(localStorage.getItem(keep(id)) ?? 'null') as { version: number; text: string } | null;
    return v && typeof v.text === 'string' && typeof v.version === 'number' ? v : null;
  } catch {
    return null;
  }
}

export function WijkberichtScreen({ id }: { id: string }) {
  const catalog = useCatalog();
  const [w, setW] = useState<Wijkbericht | null>(null);
  const [text, setText] = useState('');
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<MsgKey | null>(null);

  async function load(keepTyped: boolean) {
    try {
      const r = await api.json<{ wijkbericht: Wijkbericht }>('GET', `/api/v1/wijkberichten/${encodeURIComponent(id)}`);
      setW(r.wijkbericht);
      setLoadError(null);
      const mine = kept(id);
      if (keepTyped && mine && mine.text !== r.wijkbericht.text && r.wijkbericht.status === 'concept') {
        setText(mine.text);
        setNote('wijkbericht.restored');
      } else {
        setText(r.wijkbericht.text);
        localStorage.removeItem(keep(id));
      }
    } catch (e) {
      setLoadError(e);
    }
  }
  useEffect(() => {
    setW(null);
    void load(true);
  }, [id]);

  const dirty = w !== null && text !== w.text;
  useEffect(() => {
    if (!w) return;
    if (dirty) localStorage.setItem(keep(id), JSON.stringify({ version: w.version, text }));
    else localStorage.removeItem(keep(id));
  }, [text, w?.version]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  async function run(f: () => Promise<{ wijkbericht: Wijkbericht }>, done: MsgKey) {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const r = await f();
      setW(r.wijkbericht);
      if (r.wijkbericht.text === text) localStorage.removeItem(keep(id));
      setNote(done);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const path = `/api/v1/wijkberichten/${encodeURIComponent(id)}`;
  const put = (version: number) => api.json<{ wijkbericht: Wijkbericht }>('PUT', path, { text, version });
  const save = () => void run(() => put(w!.version), 'wijkbericht.saved');
  const publish = () =>
    void run(async () => {
      let version = w!.version;
      if (dirty) version = (await put(version)).wijkbericht.version;
      return api.json<{ wijkbericht: Wijkbericht }>('POST', `${path}/publish`, { version });
    }, 'wijkbericht.published');
  const withdraw = () => void run(() => api.json<{ wijkbericht: Wijkbericht }>('POST', `${path}/withdraw`, { version: w!.version }), 'wijkbericht.withdrawn');
  /** Keep my text over a newer version: save it on the version the server has now. */
  const keepMine = () =>
    void run(async () => {
      const now = await api.json<{ wijkbericht: Wijkbericht }>('GET', path);
      return put(now.wijkbericht.version);
    }, 'wijkbericht.saved');
  const loadTheirs = () => {
    setError(null);
    localStorage.removeItem(keep(id));
    void load(false);
  };

  async function copy() {
    const plain = w?.status === 'gepubliceerd' ? w.text : text;
    try {
      await navigator.clipboard.writeText(plain);
      setNote('wijkbericht.copied');
    } catch {
      setNote('wijkbericht.copy_failed');
    }
  }

  const stale = error instanceof ApiError && error.code === 'stale_version';
  const published = w?.status === 'gepubliceerd';
  const shown = published ? (w?.text ?? '') : text;

  return (
    <article class="screen report bericht" data-testid="bericht">
      <p class="no-print">
        <a href="#/coord/berichten">{t('wijkbericht.back')}</a>
      </p>
      <h1 tabIndex={-1}>{w ? t('wijkbericht.title', { wijk: labelOf(catalog?.wijken, w.wijk) }) : t('wijkbericht.list.title')}</h1>
      <ErrorLine error={loadError} />
      {w && (
        <>
          <p class="bericht-period" data-testid="bericht-period">
            {period(w)}
          </p>
          <p class="hint no-print" data-testid="bericht-status" data-status={w.status}>
            {published ? t('wijkbericht.published_at', { time: formatWhen(w.published_at, 'detail') }) : t('wijkbericht.draft_hint')}
          </p>
          {!published && (
            <div class="field no-print">
              <label for="wb-text">{t('wijkbericht.text')}</label>
              <p class="hint" id="wb-text-hint">
                {t('wijkbericht.text_hint')}
              </p>
              <textarea
                id="wb-text"
                rows={18}
                class="bericht-text"
                aria-describedby="wb-text-hint"
                value={text}
                onInput={(e) => setText(e.currentTarget.value)}
                data-testid="bericht-text"
              />
            </div>
          )}
          {!published && looksPersonal(text) && (
            <p class="banner warn no-print" role="alert" data-testid="bericht-personal">
              {t('wijkbericht.personal_warning')}
            </p>
          )}
          <ErrorLine error={error} />
          {stale && (
            <div class="row no-print">
              <button type="button" class="btn" disabled={busy} onClick={keepMine} data-testid="bericht-keep-mine">
                {t('wijkbericht.keep_mine')}
              </button>
              <button type="button" class="btn" disabled={busy} onClick={loadTheirs} data-testid="bericht-load-theirs">
                {t('wijkbericht.load_theirs')}
              </button>
            </div>
          )}
          <div class="row no-print">
            {!published && (
              <>
                <button type="button" class="btn" disabled={busy || !dirty} onClick={save} data-testid="bericht-save">
                  {busy ? t('wijkbericht.saving') : t('wijkbericht.save')}
                </button>
                <button type="button" class="btn primary" disabled={busy || looksPersonal(text) || text.trim() === ''} onClick={publish} data-testid="bericht-publish">
                  {t('wijkbericht.publish')}
                </button>
              </>
            )}
            {published && (
              <button type="button" class="btn" disabled={busy} onClick={withdraw} data-testid="bericht-withdraw">
                {t('wijkbericht.withdraw')}
              </button>
            )}
            <button type="button" class="btn" onClick={() => void copy()} data-testid="bericht-copy">
              {t('wijkbericht.copy')}
            </button>
            <button type="button" class="btn" onClick={() => window.print()} data-testid="bericht-print">
              {t('wijkbericht.print')}
            </button>
            {published && (
              <a class="btn" href={`/bewoners/${encodeURIComponent(w.wijk)}`} target="_blank" rel="noopener">
                {t('wijkbericht.public_page')}
              </a>
            )}
          </div>
          <p class="hint no-print" role="status" data-testid="bericht-note">
            {dirty ? t('wijkbericht.unsaved') : ''} {note ? t(note) : ''}
          </p>
          <section class="bericht-preview" aria-labelledby="wb-preview" data-testid="bericht-preview">
            <h2 id="wb-preview" class="no-print">
              {t('wijkbericht.preview')}
            </h2>
            <BerichtBlocks text={shown} />
          </section>
        </>
      )}
    </article>
  );
}

/** The text as residents see it (the server's rules: headings, paragraphs, lists). */
export function BerichtBlocks({ text }: { text: string }) {
  return (
    <div class="bericht-blocks">
      {blocks(text).map((b, i) =>
        b.kind === 'heading' ? (
          <h3 key={i}>{b.text}</h3>
        ) : b.kind === 'list' ? (
          <ul key={i}>
            {b.items.map((x, j) => (
              <li key={j}>{x}</li>
            ))}
          </ul>
        ) : (
          <p key={i}>
            {b.lines.map((l, j) => (
              <Fragment key={j}>
                {j > 0 && <br />}
                {l}
              </Fragment>
            ))}
          </p>
        ),
      )}
    </div>
  );
}
