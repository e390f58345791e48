import { useEffect, useRef, useState } from 'preact/hooks';
import { t, tn } from '../i18n';
import { formatTime, formatWhen } from '../dates';
import { useApp, go } from './hooks';
import { CategoryButtons, ItemList, SeverityButtons, UndoToast, type UndoState } from './Items';
import { PhotoPicker } from '../photo/PhotoPicker';
import { NewPhotos } from '../photo/Thumbs';
import type { ProcessedPhoto } from '../photo/process';
import { editError, type EditError } from './editError';
import { addObservationAction } from './actions';
import { AddressFill } from './AddressFill';
import { PinMap, type Pin } from './PinMap';
import { ErasedNotice } from './ErasedNotice';
import { LeavingNotice, NotOnDevice } from './NotOnDevice';
import type { Severity } from '../model/doc';

function ErrorLine({ error, testid = 'form-error' }: { error: EditError | null; testid?: string }) {
  return error ? (
    <p class="error-text" role="alert" data-testid={testid} data-code={error.code}>
      {error.text}
    </p>
  ) : null;
}

const GPS_WARN_M = 50;
/** Where the form's map starts without a GPS fix: the centre of Huizen. */
const MAP_START: Pin = { lat: 52.2995, lon: 5.2435 };

/** Where a refused edit of the walk screen is shown. */
type Where = 'state' | 'participant' | 'summary' | 'agenda';

export function WalkScreen({ id }: { id: string }) {
  const app = useApp();
  const doc = app.docs.get(id);
  const [undo, setUndo] = useState<UndoState | null>(null);
  const [pName, setPName] = useState('');
  const [pOrg, setPOrg] = useState('');
  const [summary, setSummary] = useState<string | null>(null);
  const [error, setError] = useState<{ where: Where; e: EditError } | null>(null);
  const [confirming, setConfirming] = useState<'end' | 'reopen' | null>(null);
  // A document this device does not hold (a link, a coordinator opening
  // it): ask the server for it, which subscribes this device to it. One
  // that left the device is opened again only by the user (NotOnDevice).
  useEffect(() => {
    if (!app.docs.has(id) && !app.wasEvicted(id)) app.requestDoc(id);
  }, [id, app.version]);
  // Not evicted while on screen.
  useEffect(() => app.hold(id), [id]);
  if (!doc && (app.wasEvicted(id) || app.conn !== 'online' || app.subscribeErrors.has(id))) return <NotOnDevice id={id} title={t('walk.title')} />;
  if (!doc || doc.kind() !== 'walk') {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('walk.title')}</h1>
        <p class="hint">{t('app.loading')}</p>
        <a class="btn" href="#/">
          {t('nav.back')}
        </a>
      </section>
    );
  }
  const w = doc.walk();
  const rows = doc.rows();
  const catalog = app.catalog()?.catalog() ?? null;
  const live = rows.filter((r) => !r.deleted);
  const positive = new Set(catalog?.categories.filter((c) => c.positive).map((c) => c.id));
  const wijk = catalog?.wijken.find((x) => x.id === w.wijk)?.label ?? w.wijk;
  const err = app.docErrors.get(id);
  // Observations saved while GPS was searching whose fix never came (and that still have none).
  const missingLoc = (app.locationMissing.get(id) ?? []).filter((x) => live.some((r) => r.item_id === x && !r.location));
  // Who walks (boa) and coordinators may reopen an ended walk; the server only
  // gives the walk to its team and to coordinators.
  const canReopen = !!app.user && (app.user.roles.includes('boa') || app.user.roles.includes('coordinator'));

  /** One action; true when it was stored. A refusal is shown at `where`, a storage failure by the header. */
  const edit = async (where: Where, f: Parameters<typeof app.edit>[1]): Promise<boolean> => {
    try {
      await app.edit(id, f);
      setError(null);
      return true;
    } catch (e) {
      const er = editError(e);
      setError(er ? { where, e: er } : null);
      return false;
    }
  };
  const errorAt = (where: Where) => (error?.where === where ? error.e : null);

  return (
    <section class="screen">
      <a class="back" href="#/">
        ← {t('nav.back')}
      </a>
      <h1 tabIndex={-1}>{w.title || t('walk.title')}</h1>
      <p class="hint">
        {wijk}
        {w.route ? ` · ${w.route}` : ''}
      </p>
      {app.user?.roles.includes('coordinator') && (
        <p>
          <a class="btn small" href={`#/coord/report/${id}`} data-testid="walk-report-link">
            {t('coordinator.report_link')}
          </a>
        </p>
      )}
      {err && (
        <p class="banner error" role="alert">
          {t('sync.doc_error', { title: w.title, code: err })}
        </p>
      )}
      <ErasedNotice docId={id} />
      <LeavingNotice docId={id} />
      <p data-testid="walk-state">
        {w.ended_at !== null ? t('walk.ended_at', { time: formatTime(w.ended_at) }) : w.started_at !== null ? t('walk.started_at', { time: formatTime(w.started_at) }) : t('walk.not_started')}
      </p>
      {w.reopened_at !== null && (
        <p class="hint" data-testid="walk-reopened">
          {/* The document holds the user id; only our own name is known here (the server's history names everyone). */}
          {app.user && w.reopened_by === app.user.id
            ? t('walk.reopened', { time: formatWhen(w.reopened_at, 'detail'), name: app.user.name })
            : t('walk.reopened_other', { time: formatWhen(w.reopened_at, 'detail') })}
        </p>
      )}
      <div class="actions">
        {w.started_at === null && (
          <button type="button" class="btn primary" onClick={() => void edit('state', (d) => d.startWalk())} data-testid="walk-start">
            {t('walk.start')}
          </button>
        )}
        {w.ended_at === null && (
          <a class="btn primary big" href={`#/walk/${id}/new`} data-testid="add-observation">
            + {t('walk.add')}
          </a>
        )}
      </div>

      <ErrorLine error={errorAt('state')} testid="walk-error" />
      {missingLoc.length > 0 && (
        <div class="banner warn" role="alert" data-testid="location-missing">
          <p>{tn('walk.location_missing', missingLoc.length)}</p>
          <button type="button" class="btn small" onClick={() => app.dismissLocationMissing(id)} data-testid="location-missing-dismiss">
            {t('walk.location_missing.dismiss')}
          </button>
        </div>
      )}

      {w.agenda.length > 0 && (
        <section class="agenda" data-testid="agenda" aria-labelledby="agenda-heading">
          <h2 id="agenda-heading">{t('agenda.heading')}</h2>
          <p class="hint">{t('agenda.hint')}</p>
          <ul class="plain agenda-list">
            {w.agenda.map((p) => {
              const obs = p.looked_at?.observation ?? null;
              const madeObservation = obs !== null && live.some((r) => r.item_id === obs);
              const where = [catalog?.categories.find((c) => c.id === p.category)?.label ?? p.category, p.place].filter(Boolean).join(' · ');
              return (
                <li key={p.point} class="agenda-point" data-testid="agenda-point" data-point={p.point}>
                  <p class="agenda-text">{p.text}</p>
                  <p class="hint">{where || t('agenda.no_place')}</p>
                  <div class="actions">
                    <button
                      type="button"
                      class="chip"
                      aria-pressed={p.looked_at !== null}
                      data-testid="agenda-looked"
                      onClick={() => void edit('agenda', (d) => (p.looked_at ? d.unmarkAgendaLookedAt(p.point) : d.markAgendaLookedAt(p.point, null)))}
                    >
                      {p.looked_at?.at ? t('agenda.looked_at', { time: formatTime(p.looked_at.at) }) : t('agenda.looked')}
                    </button>
                    {madeObservation ? (
                      <span class="hint" data-testid="agenda-observation">{t('agenda.observation_made')}</span>
                    ) : (
                      w.ended_at === null && (
                        <a class="btn small" href={`#/walk/${id}/new/point/${p.point}`} data-testid="agenda-observe">
                          {t('agenda.observe')}
                        </a>
                      )
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
          <ErrorLine error={errorAt('agenda')} testid="agenda-error" />
        </section>
      )}

      <h2>{t('walk.observations', { n: live.length })}</h2>
      {live.length === 0 && <p class="hint">{t('walk.no_observations')}</p>}
      <ItemList docId={id} rows={rows} catalog={catalog} onDeleted={setUndo} />
      <AddressFill docId={id} rows={live} />
      <UndoToast undo={undo} onDone={() => setUndo(null)} />

      <h2>{t('walk.participants')}</h2>
      <ul class="plain">
        {w.participants.map((p) => (
          <li key={p.id}>
            {p.name}
            {p.organisation ? ` (${p.organisation})` : ''}
          </li>
        ))}
      </ul>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!pName.trim()) return;
          if (!(await edit('participant', (d) => d.addParticipant(pName.trim(), pOrg.trim())))) return;
          setPName('');
          setPOrg('');
        }}
      >
        <label for="p-name">{t('walk.participant.name')}</label>
        <input id="p-name" value={pName} onInput={(e) => setPName(e.currentTarget.value)} />
        <label for="p-org">{t('walk.participant.org')}</label>
        <input id="p-org" value={pOrg} onInput={(e) => setPOrg(e.currentTarget.value)} />
        <ErrorLine error={errorAt('participant')} />
        <button type="submit" class="btn">
          {t('walk.participant.add')}
        </button>
      </form>

      <h2>{t('walk.closing')}</h2>
      <p data-testid="closing-counts">
        {tn('walk.closing.counts', live.length, {
          urgent: live.filter((r) => r.severity === 'urgent').length,
          positive: live.filter((r) => r.category && positive.has(r.category)).length,
          followups: live.filter((r) => Object.keys(r.follow_up ?? {}).length > 0).length,
        })}
      </p>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          if (summary === null) return;
          if (!(await edit('summary', (d) => d.setSummary(w.summary, summary)))) return;
          setSummary(null);
        }}
      >
        <label for="summary">{t('walk.summary')}</label>
        <textarea id="summary" rows={3} value={summary ?? w.summary} onInput={(e) => setSummary(e.currentTarget.value)} />
        <ErrorLine error={errorAt('summary')} />
        <button type="submit" class="btn">
          {t('walk.summary.save')}
        </button>
      </form>
      {w.started_at !== null && w.ended_at === null && (
        <button type="button" class="btn danger" onClick={() => setConfirming('end')} data-testid="walk-end">
          {t('walk.end')}
        </button>
      )}
      {w.ended_at !== null && canReopen && (
        <button type="button" class="btn" onClick={() => setConfirming('reopen')} data-testid="walk-reopen">
          {t('walk.reopen')}
        </button>
      )}
      {confirming && (
        <ConfirmDialog
          title={t(confirming === 'end' ? 'walk.end.confirm_title' : 'walk.reopen.confirm_title')}
          text={t(confirming === 'end' ? 'walk.end.confirm_text' : 'walk.reopen.confirm_text')}
          yes={t(confirming === 'end' ? 'walk.end.confirm_yes' : 'walk.reopen.confirm_yes')}
          no={t(confirming === 'end' ? 'walk.end.confirm_no' : 'obs.cancel')}
          danger={confirming === 'end'}
          onYes={() => {
            const what = confirming;
            setConfirming(null);
            void edit('state', (d) => (what === 'end' ? d.endWalk() : d.reopenWalk()));
          }}
          onNo={() => setConfirming(null)}
        />
      )}
    </section>
  );
}

/** A modal confirmation (not window.confirm): focus starts on the safe choice; Escape says no. */
function ConfirmDialog(props: { title: string; text: string; yes: string; no: string; danger: boolean; onYes: () => void; onNo: () => void }) {
  const safe = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    safe.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onNo();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-text" data-testid="confirm-dialog">
        <h2 id="confirm-title">{props.title}</h2>
        <p id="confirm-text">{props.text}</p>
        <button type="button" class={`btn ${props.danger ? 'danger' : 'primary'}`} onClick={props.onYes} data-testid="confirm-yes">
          {props.yes}
        </button>
        <button ref={safe} type="button" class="btn" onClick={props.onNo} data-testid="confirm-no">
          {props.no}
        </button>
      </div>
    </div>
  );
}

type Gps = { state: 'waiting' } | { state: 'ok'; lat: number; lon: number; accuracy: number } | { state: 'unavailable' };

function useGps(): Gps {
  const [gps, setGps] = useState<Gps>({ state: 'waiting' });
  useEffect(() => {
    if (!('geolocation' in navigator)) {
      setGps({ state: 'unavailable' });
      return;
    }
    const watch = navigator.geolocation.watchPosition(
      (p) => setGps({ state: 'ok', lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }),
      () => setGps((g) => (g.state === 'ok' ? g : { state: 'unavailable' })),
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 20_000 },
    );
    return () => navigator.geolocation.clearWatch(watch);
  }, []);
  return gps;
}

export function QuickEntry({ id, point }: { id: string; point?: number }) {
  const app = useApp();
  const doc = app.docs.get(id);
  const catalogDoc = app.catalog();
  const catalog = catalogDoc?.catalog() ?? null;
  const gps = useGps();
  // Made from a resident's point on the agenda: its words, category and place to start from.
  const agendaPoint = point !== undefined && doc?.kind() === 'walk' ? (doc.walk().agenda.find((p) => p.point === point) ?? null) : null;
  const [category, setCategory] = useState(() => (agendaPoint?.category && catalog?.categories.some((c) => c.id === agendaPoint.category) ? agendaPoint.category : ''));
  const [severity, setSeverity] = useState('');
  const [text, setText] = useState(() => agendaPoint?.text ?? '');
  const [place, setPlace] = useState(() => agendaPoint?.place ?? '');
  // The document or catalog may arrive after the first render: start from the point once they are there.
  const prefilled = useRef(agendaPoint !== null && catalog !== null);
  useEffect(() => {
    if (prefilled.current || !agendaPoint || !catalog) return;
    prefilled.current = true;
    setText((x) => x || agendaPoint.text);
    setPlace((x) => x || (agendaPoint.place ?? ''));
    if (agendaPoint.category && catalog.categories.some((c) => c.id === agendaPoint.category)) setCategory((x) => x || agendaPoint.category!);
  });
  const [partners, setPartners] = useState<string[]>([]);
  const [photos, setPhotos] = useState<ProcessedPhoto[]>([]);
  const [busy, setBusy] = useState(false);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<EditError | null>(null);
  // The position chosen on the map (it replaces the GPS fix), and whether the map is open.
  const [pin, setPin] = useState<Pin | null>(null);
  const [mapOpen, setMapOpen] = useState(false);
  // Not evicted while on screen: what is typed here stays.
  useEffect(() => app.hold(id), [id]);

  if (!doc && app.wasEvicted(id)) return <NotOnDevice id={id} title={t('entry.title')} />;
  if (!doc || !catalogDoc || !catalog) {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('entry.title')}</h1>
        <p class="hint">{t('app.loading')}</p>
      </section>
    );
  }
  // The catalog's severity ids are the model's severities.
  const sev = (severity || catalog.severities[0]?.id || 'informatief') as Severity;

  async function save(e: Event) {
    e.preventDefault();
    if (!category) {
      setMissing(true);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // One action: the observation, its follow-up partners and photos (stored
      // in the outbox in the same IndexedDB transaction), all or nothing.
      const searching = gps.state === 'waiting' && !pin;
      const itemId = await app.edit(
        id,
        addObservationAction(catalogDoc!, {
          category,
          severity: sev,
          text,
          place,
          location: pin ? { lat: pin.lat, lon: pin.lon, accuracy_m: null } : gps.state === 'ok' ? { lat: gps.lat, lon: gps.lon, accuracy_m: gps.accuracy } : null,
          partners,
          photos: photos.map((p) => p.sha),
          ...(agendaPoint ? { point: agendaPoint.point } : {}),
        }),
        { photos },
      );
      // Saved while GPS was still searching: attach the fix when it comes, or say it did not.
      if (searching) app.attachLateLocation(id, itemId);
      go(`/walk/${id}`);
    } catch (e) {
      // A refusal is shown above the save button, a storage failure by the header; the form keeps its content.
      setError(editError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="screen entry">
      <h1 tabIndex={-1}>{t('entry.title')}</h1>
      {agendaPoint && (
        <div class="banner" data-testid="entry-from-point">
          <p>{t('entry.from_point')}</p>
          <p class="agenda-text">{agendaPoint.text}</p>
        </div>
      )}
      <form onSubmit={save} class="stack">
        <h2 id="cat-label">{t('entry.category')}</h2>
        <CategoryButtons catalog={catalog} value={category} onPick={(c) => { setCategory(c); setMissing(false); }} />
        {missing && (
          <p class="error-text" role="alert">
            {t('entry.pick_category')}
          </p>
        )}
        <h2 id="sev-label">{t('entry.severity')}</h2>
        <SeverityButtons catalog={catalog} value={sev} onPick={setSeverity} />
        <label for="e-text">{t('entry.text')}</label>
        <textarea id="e-text" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="entry-text" />
        <h2>{t('entry.gps')}</h2>
        <p class={pin || (gps.state === 'ok' && gps.accuracy <= GPS_WARN_M) ? 'gps ok' : 'gps warn'} role="status" data-testid="gps">
          {pin
            ? t('entry.gps.pinned')
            : gps.state === 'waiting'
            ? t('entry.gps.waiting')
            : gps.state === 'unavailable'
              ? t('entry.gps.unavailable')
              : gps.accuracy > GPS_WARN_M
                ? t('entry.gps.inaccurate', { m: Math.round(gps.accuracy) })
                : t('entry.gps.ok', { m: Math.round(gps.accuracy) })}
        </p>
        <div class="row">
          <button type="button" class="btn small" aria-expanded={mapOpen} onClick={() => setMapOpen((o) => !o)} data-testid="pin-map-toggle">
            {mapOpen ? t('entry.map.close') : t('entry.map.open')}
          </button>
          {pin && (
            <button type="button" class="btn small ghost" onClick={() => setPin(null)} data-testid="pin-reset">
              {t('entry.map.use_gps')}
            </button>
          )}
        </div>
        {mapOpen && <PinMap start={pin ?? (gps.state === 'ok' ? { lat: gps.lat, lon: gps.lon } : MAP_START)} onMove={setPin} />}
        <label for="e-place">{t('entry.place')}</label>
        <input id="e-place" value={place} onInput={(e) => setPlace(e.currentTarget.value)} />
        <h2>{t('photos.heading')}</h2>
        <PhotoPicker onPhoto={async (p) => setPhotos((ps) => (ps.some((x) => x.sha === p.sha) ? ps : [...ps, p]))} />
        <NewPhotos photos={photos} onRemove={(sha) => setPhotos((ps) => ps.filter((x) => x.sha !== sha))} />
        <h2 id="fu-label">{t('entry.followup')}</h2>
        <div class="chips" role="group" aria-labelledby="fu-label">
          {catalog.partners.map((p) => (
            <button
              key={p.id}
              type="button"
              class="chip"
              aria-pressed={partners.includes(p.id)}
              data-partner={p.id}
              onClick={() => setPartners((ps) => (ps.includes(p.id) ? ps.filter((x) => x !== p.id) : [...ps, p.id]))}
            >
              {p.label}
            </button>
          ))}
        </div>
        <ErrorLine error={error} />
        <div class="sticky-actions">
          <button type="submit" class="btn primary big" disabled={busy} data-testid="entry-save">
            {t('entry.save')}
          </button>
        </div>
        <a class="btn" href={`#/walk/${id}`}>
          {t('entry.cancel')}
        </a>
      </form>
    </section>
  );
}
