import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';
import { formatWhen } from '../dates';
import { useApp } from './hooks';
import { CategoryButtons, ItemList, SeverityButtons, UndoToast, type UndoState } from './Items';
import { PhotoPicker } from '../photo/PhotoPicker';
import { NewPhotos } from '../photo/Thumbs';
import type { ProcessedPhoto } from '../photo/process';
import { checkEmail, checkPhone, type Severity } from '../model/doc';
import { editError, fieldError, type EditError } from './editError';
import { ContactFields } from './Contact';
import { addNoteAction } from './actions';
import { ErasedNotice } from './ErasedNotice';
import { LeavingNotice, NotOnDevice } from './NotOnDevice';

export function SessionScreen({ id }: { id: string }) {
  const app = useApp();
  const doc = app.docs.get(id);
  const catalogDoc = app.catalog();
  const catalog = catalogDoc?.catalog() ?? null;
  const [undo, setUndo] = useState<UndoState | null>(null);
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('');
  // A document this device does not hold (a link, a coordinator opening
  // it): ask the server for it, which subscribes this device to it.
  // One that left the device is opened again only by the user (NotOnDevice).
  useEffect(() => {
    if (!app.docs.has(id) && !app.wasEvicted(id)) app.requestDoc(id);
  }, [id, app.version]);
  // Not evicted while on screen: what is typed here stays.
  useEffect(() => app.hold(id), [id]);
  const [text, setText] = useState('');
  const [consent, setConsent] = useState(false);
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [callback, setCallback] = useState(false);
  const [missing, setMissing] = useState(false);
  const [photos, setPhotos] = useState<ProcessedPhoto[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<EditError | null>(null);

  if (!doc && (app.wasEvicted(id) || app.conn !== 'online' || app.subscribeErrors.has(id))) return <NotOnDevice id={id} title={t('session.title')} />;
  if (!doc || doc.kind() !== 'spreekuur') {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('session.title')}</h1>
        <p class="hint">{t('app.loading')}</p>
        <a class="btn" href="#/">
          {t('nav.back')}
        </a>
      </section>
    );
  }
  const s = doc.session();
  const rows = doc.rows();
  const live = rows.filter((r) => !r.deleted);
  const wijk = catalog?.wijken.find((x) => x.id === s.wijk)?.label ?? s.wijk;
  // The catalog's severity ids are the model's severities.
  const sev = (severity || catalog?.severities[0]?.id || 'informatief') as Severity;
  const err = app.docErrors.get(id);

  async function save(e: Event) {
    e.preventDefault();
    if (!category || !catalogDoc) {
      setMissing(true);
      return;
    }
    // The model's own rules, checked before anything is written.
    if (consent) {
      const p = checkPhone(phone);
      if (!p.valid) return void showError(fieldError('phone', p.code ?? 'invalid_phone'));
      const m = checkEmail(email);
      if (!m.valid) return void showError(fieldError('email', m.code ?? 'invalid_email'));
    }
    setBusy(true);
    setError(null);
    const u = app.user;
    try {
      // One action: the note, its contact, call back and photos, all or nothing.
      await app.edit(
        id,
        addNoteAction(catalogDoc, { user: u ? { id: u.id, name: u.name } : null, category, severity: sev, text, consent, name, phone, email, callback, photos: photos.map((p) => p.sha) }),
        { photos },
      );
      setPhotos([]);
      setCategory('');
      // Every note starts at the default severity: one "urgent" must not carry over.
      setSeverity('');
      setText('');
      setConsent(false);
      setName('');
      setPhone('');
      setEmail('');
      setCallback(false);
    } catch (e) {
      // A refused edit is shown next to its field; a storage failure by the
      // header's banner. Either way nothing was applied and the form keeps its content.
      const er = editError(e);
      if (er) showError(er);
    } finally {
      setBusy(false);
    }
  }

  function showError(er: EditError) {
    setError(er);
    const target = er.field === 'phone' ? 'r-phone' : er.field === 'email' ? 'r-email' : er.field === 'name' ? 'r-name' : null;
    if (target) setTimeout(() => document.getElementById(target)?.focus(), 0);
  }

  return (
    <section class="screen">
      <a class="back" href="#/">
        ← {t('nav.back')}
      </a>
      <h1 tabIndex={-1}>
        {t('session.title')}: {s.location}
      </h1>
      <p class="hint">
        {wijk}
        {s.held_on !== null ? ` · ${formatWhen(s.held_on, 'detail')}` : ''}
      </p>
      {err && (
        <p class="banner error" role="alert">
          {t('sync.doc_error', { title: s.location, code: err })}
        </p>
      )}
      <ErasedNotice docId={id} />
      <LeavingNotice docId={id} />
      {s.staff.length > 0 && (
        <p>
          {t('session.staff')}: {s.staff.map((x) => x.name).join(', ')}
        </p>
      )}
      {catalog && (
        <form class="stack card-form" onSubmit={save}>
          <h2 id="cat-label">{t('session.add')}</h2>
          <CategoryButtons catalog={catalog} value={category} onPick={(c) => { setCategory(c); setMissing(false); }} />
          {missing && (
            <p class="error-text" role="alert">
              {t('entry.pick_category')}
            </p>
          )}
          <h3 id="sev-label">{t('entry.severity')}</h3>
          <SeverityButtons catalog={catalog} value={sev} onPick={setSeverity} />
          <label for="n-text">{t('session.text')}</label>
          <textarea id="n-text" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="note-text" />
          <label class="check">
            <input type="checkbox" checked={consent} onChange={(e) => setConsent(e.currentTarget.checked)} data-testid="consent" />
            {t('session.consent')}
          </label>
          {consent && (
            <ContactFields
              idPrefix="r"
              name={name}
              phone={phone}
              email={email}
              error={error}
              onName={(v) => { setName(v); setError(null); }}
              onPhone={(v) => { setPhone(v); setError(null); }}
              onEmail={(v) => { setEmail(v); setError(null); }}
            />
          )}
          <h3>{t('photos.heading')}</h3>
          <PhotoPicker onPhoto={async (p) => setPhotos((ps) => (ps.some((x) => x.sha === p.sha) ? ps : [...ps, p]))} />
          <NewPhotos photos={photos} onRemove={(sha) => setPhotos((ps) => ps.filter((x) => x.sha !== sha))} />
          <label class="check">
            <input type="checkbox" checked={callback} onChange={(e) => setCallback(e.currentTarget.checked)} />
            {t('session.callback')}
          </label>
          {error && !['name', 'phone', 'email'].includes(error.field) && (
            <p class="error-text" role="alert" data-testid="form-error" data-code={error.code}>
              {error.text}
            </p>
          )}
          <button type="submit" class="btn primary big" disabled={busy} data-testid="note-save">
            {t('session.save')}
          </button>
        </form>
      )}
      <h2>{t('session.notes', { n: live.length })}</h2>
      {live.length === 0 && <p class="hint">{t('session.no_notes')}</p>}
      <ItemList docId={id} rows={rows} catalog={catalog} onDeleted={setUndo} />
      <UndoToast undo={undo} onDone={() => setUndo(null)} />
    </section>
  );
}
