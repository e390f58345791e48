import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { formatTime } from '../dates';
import type { CatalogInfo, Row, Severity } from '../model/doc';
import { useApp } from './hooks';
import { FollowUpBadge } from './FollowUpBadge';
import { PhotoPicker } from '../photo/PhotoPicker';
import { PhotoStrip } from '../photo/Thumbs';
import { checkEmail, checkPhone } from '../model/doc';
import { editError, fieldError, type EditError } from './editError';
import { ContactFields } from './Contact';
import { ErasedLine } from './ErasedNotice';
import { contactErasure, itemErasure } from './erased';

import { editItemAction, type LocEdit } from './actions';

/** Undo buffer for the last delete, shown as a toast. */
export interface UndoState {
  docId: string;
  itemId: string;
}

export function ItemList({ docId, rows, catalog, onDeleted }: { docId: string; rows: Row[]; catalog: CatalogInfo | null; onDeleted: (u: UndoState) => void }) {
  const visible = rows.filter((r) => !r.deleted).sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0) || b.item_id.localeCompare(a.item_id));
  return (
    <ul class="items" data-testid="items">
      {visible.map((r) => (
        <ItemView key={r.item_id} docId={docId} row={r} catalog={catalog} onDeleted={onDeleted} />
      ))}
    </ul>
  );
}

function ItemView({ docId, row, catalog, onDeleted }: { docId: string; row: Row; catalog: CatalogInfo | null; onDeleted: (u: UndoState) => void }) {
  const app = useApp();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(row.text ?? '');
  const [severity, setSeverity] = useState<Severity | ''>(row.severity ?? '');
  const [category, setCategory] = useState(row.category ?? '');
  const [place, setPlace] = useState(row.place ?? '');
  const [loc, setLoc] = useState<LocEdit>({ state: 'keep' });
  const [consent, setConsent] = useState(row.resident?.consent === true);
  const [rName, setRName] = useState(row.resident?.name ?? '');
  const [rPhone, setRPhone] = useState(row.resident?.phone ?? '');
  const [rEmail, setREmail] = useState(row.resident?.email ?? '');
  const [withdrawing, setWithdrawing] = useState(false);
  const [error, setError] = useState<EditError | null>(null);
  const isWalk = row.doc_kind === 'walk';
  const cat = catalog?.categories.find((c) => c.id === row.category);
  const sev = catalog?.severities.find((s) => s.id === row.severity);
  const invalid = Object.keys(row.invalid ?? {});
  const headingId = `item-${row.item_id}`;

  // Erased data is shown as such; erased fields cannot be edited any more.
  const erasedItem = itemErasure(row);
  const erasedContact = isWalk ? null : contactErasure(row);
  const r = row.resident;
  const contactChanged = !isWalk && !erasedContact && consent && (rName.trim() !== (r?.name ?? '') || rPhone.trim() !== (r?.phone ?? '') || rEmail.trim() !== (r?.email ?? '') || r?.consent !== true);

  async function save(e: Event) {
    e.preventDefault();
    if (contactChanged) {
      const p = checkPhone(rPhone);
      if (!p.valid) return void setError(fieldError('phone', p.code ?? 'invalid_phone'));
      const m = checkEmail(rEmail);
      if (!m.valid) return void setError(fieldError('email', m.code ?? 'invalid_email'));
    }
    setError(null);
    try {
      const catalogDoc = app.catalog();
      // One action: every changed field, all or nothing.
      await app.edit(docId, editItemAction(catalogDoc, row, { text, severity, category, place, loc, contact: contactChanged ? { name: rName, phone: rPhone, email: rEmail } : null }));
      setEditing(false);
    } catch (err) {
      // A refused edit: shown next to its field, nothing applied. A storage failure: the header's banner.
      setError(editError(err));
    }
  }

  async function withdraw() {
    try {
      await app.edit(docId, (doc) => doc.withdrawConsent(row.item_id));
      setWithdrawing(false);
      setConsent(false);
      setRName('');
      setRPhone('');
      setREmail('');
      setError(null);
    } catch (err) {
      setError(editError(err));
    }
  }

  function recapture() {
    if (!('geolocation' in navigator)) {
      setLoc({ state: 'failed' });
      return;
    }
    setLoc({ state: 'searching' });
    navigator.geolocation.getCurrentPosition(
      (p) => setLoc({ state: 'new', lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }),
      () => setLoc({ state: 'failed' }),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 20_000 },
    );
  }

  async function remove() {
    try {
      await app.edit(docId, (doc) => doc.deleteItem(row.item_id));
      onDeleted({ docId, itemId: row.item_id });
    } catch (err) {
      setError(editError(err));
    }
  }

  async function callbackDone() {
    await app.edit(docId, (doc) => doc.completeCallback(row.item_id)).catch((err) => setError(editError(err)));
  }

  const contact = row.resident ? [row.resident.name, row.resident.phone, row.resident.email].filter(Boolean).join(', ') : '';
  const withdrawn = row.resident?.consent === false && row.resident.consent_withdrawn_at != null;

  return (
    <li class="item" style={{ borderLeftColor: cat?.color ?? '#555' }} data-testid="item" data-item-id={row.item_id} data-item-category={row.category ?? ''} data-item-severity={row.severity ?? ''} aria-labelledby={headingId}>
      <div class="item-head">
        <span class="swatch" style={{ background: cat?.color ?? '#555' }} aria-hidden="true" />
        <strong id={headingId}>{cat?.label ?? row.category ?? '?'}</strong>
        {sev && <span class={`sev sev-${row.severity}`}>{sev.label}</span>}
      </div>
      {erasedItem ? (
        <p class="item-text" data-testid="item-text">
          <ErasedLine erasure={erasedItem} what="item" />
        </p>
      ) : (
        !editing &&
        row.text && (
          <p class="item-text" data-testid="item-text">
            {row.text}
          </p>
        )
      )}
      <p class="item-meta" data-testid="item-meta">
        {[row.created_at !== null ? t('obs.at', { time: formatTime(row.created_at) }) : '', row.place ? t('obs.place', { place: row.place }) : '', row.location ? (row.address ? t('obs.address', { address: row.address }) : row.location.accuracy_m != null ? t('obs.gps', { m: Math.round(row.location.accuracy_m) }) : t('obs.location')) : app.awaitingLocation(row.item_id) ? t('obs.location.searching') : '']
          .filter(Boolean)
          .join(' · ')}
      </p>
      <FollowUpBadge row={row} catalog={catalog} />
      {contact && !erasedContact && (
        <p class="item-meta" data-testid="item-contact">
          {t('session.contact', { contact })}
        </p>
      )}
      {erasedContact && !erasedItem && (
        <p class="item-meta" data-testid="item-contact-erased">
          <ErasedLine erasure={erasedContact} what="contact" />
        </p>
      )}
      {!contact && !erasedContact && withdrawn && (
        <p class="item-meta" data-testid="item-contact-withdrawn">
          {t('contact.withdrawn')}
        </p>
      )}
      {row.callback?.requested && (
        <p class="item-meta">
          {row.callback.done_at ? (
            t('session.callback.done')
          ) : (
            <>
              {t('session.callback.open')}{' '}
              <button type="button" class="btn small" onClick={callbackDone}>
                {t('session.callback.mark_done')}
              </button>
            </>
          )}
        </p>
      )}
      <PhotoStrip refs={row.photos ?? []} />
      {invalid.length > 0 && <p class="item-meta warn-text">{t('obs.invalid', { fields: invalid.join(', ') })}</p>}
      {editing ? (
        <form class="stack" onSubmit={save}>
          <label for={`edit-${row.item_id}`}>{t('obs.text')}</label>
          <textarea id={`edit-${row.item_id}`} rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="edit-text" />
          {catalog && (
            <>
              <h3 id={`ecat-${row.item_id}`}>{t('obs.category')}</h3>
              <CategoryButtons catalog={catalog} value={category} onPick={setCategory} labelledBy={`ecat-${row.item_id}`} />
            </>
          )}
          <label for={`sev-${row.item_id}`}>{t('entry.severity')}</label>
          <select id={`sev-${row.item_id}`} value={severity} onChange={(e) => setSeverity(e.currentTarget.value as Severity)} data-testid="edit-severity">
            {(catalog?.severities ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
          {isWalk && (
            <>
              <label for={`place-${row.item_id}`}>{t('obs.place_label')}</label>
              <input id={`place-${row.item_id}`} value={place} onInput={(e) => setPlace(e.currentTarget.value)} data-testid="edit-place" />
              <h3 id={`eloc-${row.item_id}`}>{t('obs.location')}</h3>
              <p class="item-meta" role="status" data-testid="edit-location">
                {loc.state === 'new'
                  ? t('obs.location.new', { m: Math.round(loc.accuracy) })
                  : loc.state === 'searching'
                    ? t('obs.location.searching')
                    : loc.state === 'failed'
                      ? t('obs.location.failed')
                      : loc.state === 'remove'
                        ? t('obs.location.removed')
                        : row.location
                          ? row.location.accuracy_m != null
                            ? t('obs.location.current', { m: Math.round(row.location.accuracy_m) })
                            : t('obs.location')
                          : t('obs.location.none')}
              </p>
              <div class="row" role="group" aria-labelledby={`eloc-${row.item_id}`}>
                <button type="button" class="btn small" onClick={recapture} data-testid="edit-recapture">
                  {t('obs.location.recapture')}
                </button>
                {(row.location || loc.state === 'new') && (
                  <button type="button" class="btn small" onClick={() => setLoc({ state: 'remove' })}>
                    {t('obs.location.remove')}
                  </button>
                )}
              </div>
            </>
          )}
          {!isWalk && erasedContact && (
            <p class="item-meta">
              <ErasedLine erasure={erasedContact} what="contact" />
            </p>
          )}
          {!isWalk && !erasedContact && (
            <>
              <label class="check">
                <input type="checkbox" checked={consent} disabled={r?.consent === true} onChange={(e) => setConsent(e.currentTarget.checked)} data-testid="edit-consent" />
                {t('session.consent')}
              </label>
              {consent && (
                <ContactFields
                  idPrefix={`c-${row.item_id}`}
                  name={rName}
                  phone={rPhone}
                  email={rEmail}
                  error={error}
                  onName={(v) => { setRName(v); setError(null); }}
                  onPhone={(v) => { setRPhone(v); setError(null); }}
                  onEmail={(v) => { setREmail(v); setError(null); }}
                />
              )}
              {r?.consent === true && !withdrawing && (
                <button type="button" class="btn small danger" onClick={() => setWithdrawing(true)} data-testid="contact-withdraw">
                  {t('contact.withdraw')}
                </button>
              )}
              {withdrawing && (
                <div class="row" role="group">
                  <span>{t('contact.withdraw.confirm')}</span>
                  <button type="button" class="btn small danger" onClick={withdraw} data-testid="contact-withdraw-yes">
                    {t('contact.withdraw.yes')}
                  </button>
                  <button type="button" class="btn small" onClick={() => setWithdrawing(false)}>
                    {t('obs.cancel')}
                  </button>
                </div>
              )}
            </>
          )}
          <h3>{t('photos.heading')}</h3>
          <PhotoPicker onPhoto={(p) => app.attachPhoto(docId, row.item_id, p)} />
          {error && !['name', 'phone', 'email'].includes(error.field) && (
            <p class="error-text" role="alert" data-testid="edit-error" data-code={error.code}>
              {error.text}
            </p>
          )}
          <div class="row">
            <button type="submit" class="btn primary" data-testid="edit-save">
              {t('obs.save')}
            </button>
            <button type="button" class="btn" onClick={() => setEditing(false)}>
              {t('obs.cancel')}
            </button>
          </div>
        </form>
      ) : erasedItem ? null : (
        <div class="row">
          {error && (
            <p class="error-text" role="alert" data-testid="item-error" data-code={error.code}>
              {error.text}
            </p>
          )}
          <button
            type="button"
            class="btn small"
            data-testid="edit"
            onClick={() => {
              setText(row.text ?? '');
              setSeverity(row.severity ?? '');
              setCategory(row.category ?? '');
              setPlace(row.place ?? '');
              setLoc({ state: 'keep' });
              setConsent(row.resident?.consent === true);
              setRName(row.resident?.name ?? '');
              setRPhone(row.resident?.phone ?? '');
              setREmail(row.resident?.email ?? '');
              setWithdrawing(false);
              setError(null);
              setEditing(true);
            }}
          >
            {t('obs.edit')}
          </button>
          <button type="button" class="btn small danger" onClick={remove} data-testid="delete">
            {t('obs.delete')}
          </button>
        </div>
      )}
    </li>
  );
}

export function UndoToast({ undo, onDone }: { undo: UndoState | null; onDone: () => void }) {
  const app = useApp();
  if (!undo) return null;
  return (
    <div class="toast" role="status">
      <span>{t('obs.deleted')}</span>
      <button
        type="button"
        class="btn small"
        data-testid="undo"
        onClick={async () => {
          await app.edit(undo.docId, (doc) => doc.restoreItem(undo.itemId)).catch(() => undefined);
          onDone();
        }}
      >
        {t('obs.undo')}
      </button>
    </div>
  );
}

/** Large toggle buttons for picking one category. */
export function CategoryButtons({ catalog, value, onPick, labelledBy = 'cat-label' }: { catalog: CatalogInfo; value: string; onPick: (id: string) => void; labelledBy?: string }) {
  return (
    <div class="cat-grid" role="group" aria-labelledby={labelledBy}>
      {catalog.categories.map((c) => (
        <button
          key={c.id}
          type="button"
          class="cat-btn"
          aria-pressed={value === c.id}
          style={{ borderColor: c.color ?? '#555' }}
          data-category={c.id}
          onClick={() => onPick(c.id)}
        >
          <span lang={c.label_lang ?? 'nl'}>{c.label}</span>
        </button>
      ))}
    </div>
  );
}

export function SeverityButtons({ catalog, value, onPick }: { catalog: CatalogInfo; value: string; onPick: (id: string) => void }) {
  return (
    <div class="seg" role="group" aria-labelledby="sev-label">
      {catalog.severities.map((s) => (
        <button key={s.id} type="button" class={`seg-btn sev-${s.id}`} aria-pressed={value === s.id} data-severity={s.id} onClick={() => onPick(s.id)}>
          {s.label}
        </button>
      ))}
    </div>
  );
}
