import { useState } from 'preact/hooks';
import { dayLabel, hhmm, t } from '../i18n';
import { useApp } from './hooks';
import { CategoryButtons, ItemList, SeverityButtons, UndoToast, type UndoState } from './Items';
import { PhotoPicker } from '../photo/PhotoPicker';
import { NewPhotos } from '../photo/Thumbs';
import type { ProcessedPhoto } from '../photo/process';

export function SessionScreen({ id }: { id: string }) {
  const app = useApp();
  const doc = app.docs.get(id);
  const catalogDoc = app.catalog();
  const catalog = catalogDoc?.catalog() ?? null;
  const [undo, setUndo] = useState<UndoState | null>(null);
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('');
  const [text, setText] = useState('');
  const [consent, setConsent] = useState(false);
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [callback, setCallback] = useState(false);
  const [missing, setMissing] = useState(false);
  const [photos, setPhotos] = useState<ProcessedPhoto[]>([]);
  const [busy, setBusy] = useState(false);

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
  const sev = severity || catalog?.severities[0]?.id || 'informatief';
  const err = app.docErrors.get(id);

  async function save(e: Event) {
    e.preventDefault();
    if (!category || !catalogDoc) {
      setMissing(true);
      return;
    }
    setBusy(true);
    const u = app.user;
    try {
      if (photos.length > 0) await app.savePhotos(photos);
      await app.edit(id, (d) => {
        if (u && !d.session().staff.some((x) => x.id === u.id)) d.addStaff(u.id, u.name);
        const itemId = d.addNote(catalogDoc, { category, severity: sev, text: text.trim() });
        if (consent && (name.trim() || phone.trim() || email.trim())) {
          d.setResident(itemId, { name: name.trim() || undefined, phone: phone.trim() || undefined, email: email.trim() || undefined, consent: true });
        }
        if (callback) d.requestCallback(itemId);
        for (const ph of photos) d.addPhoto(itemId, `sha256:${ph.sha}`);
      });
      setPhotos([]);
      setCategory('');
      setText('');
      setConsent(false);
      setName('');
      setPhone('');
      setEmail('');
      setCallback(false);
    } catch {
      // shown by the store error banner; the form keeps its content
    } finally {
      setBusy(false);
    }
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
        {s.held_on !== null ? ` · ${dayLabel(s.held_on)} ${hhmm(s.held_on)}` : ''}
      </p>
      {err && (
        <p class="banner error" role="alert">
          {t('sync.doc_error', { title: s.location, code: err })}
        </p>
      )}
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
            <fieldset class="stack">
              <label for="r-name">{t('session.resident.name')}</label>
              <input id="r-name" autocomplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
              <label for="r-phone">{t('session.resident.phone')}</label>
              <input id="r-phone" type="tel" autocomplete="off" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
              <label for="r-email">{t('session.resident.email')}</label>
              <input id="r-email" type="email" autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </fieldset>
          )}
          <h3>{t('photos.heading')}</h3>
          <PhotoPicker onPhoto={async (p) => setPhotos((ps) => (ps.some((x) => x.sha === p.sha) ? ps : [...ps, p]))} />
          <NewPhotos photos={photos} onRemove={(sha) => setPhotos((ps) => ps.filter((x) => x.sha !== sha))} />
          <label class="check">
            <input type="checkbox" checked={callback} onChange={(e) => setCallback(e.currentTarget.checked)} />
            {t('session.callback')}
          </label>
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
