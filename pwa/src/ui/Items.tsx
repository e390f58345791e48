import { useState } from 'preact/hooks';
import { hhmm, t } from '../i18n';
import type { CatalogInfo, Row } from '../model/doc';
import { useApp } from './hooks';

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
  const [severity, setSeverity] = useState(row.severity ?? '');
  const cat = catalog?.categories.find((c) => c.id === row.category);
  const sev = catalog?.severities.find((s) => s.id === row.severity);
  const partners = Object.keys(row.follow_up ?? {}).map((p) => catalog?.partners.find((x) => x.id === p)?.label ?? p);
  const invalid = Object.keys(row.invalid ?? {});
  const headingId = `item-${row.item_id}`;

  async function save(e: Event) {
    e.preventDefault();
    try {
      await app.edit(docId, (doc) => {
        doc.setText(row.item_id, row.text ?? '', text);
        if (severity && severity !== row.severity) doc.setSeverity(row.item_id, severity);
      });
      setEditing(false);
    } catch {
      // shown by the store error banner
    }
  }

  async function remove() {
    try {
      await app.edit(docId, (doc) => doc.deleteItem(row.item_id));
      onDeleted({ docId, itemId: row.item_id });
    } catch {
      // shown by the store error banner
    }
  }

  async function callbackDone() {
    await app.edit(docId, (doc) => doc.completeCallback(row.item_id)).catch(() => undefined);
  }

  const contact = row.resident ? [row.resident.name, row.resident.phone, row.resident.email].filter(Boolean).join(', ') : '';

  return (
    <li class="item" style={{ borderLeftColor: cat?.color ?? '#555' }} data-testid="item" data-item-id={row.item_id} aria-labelledby={headingId}>
      <div class="item-head">
        <span class="swatch" style={{ background: cat?.color ?? '#555' }} aria-hidden="true" />
        <strong id={headingId}>{cat?.label ?? row.category ?? '?'}</strong>
        {sev && <span class={`sev sev-${row.severity}`}>{sev.label}</span>}
      </div>
      {!editing && row.text && (
        <p class="item-text" data-testid="item-text">
          {row.text}
        </p>
      )}
      <p class="item-meta">
        {[row.created_at !== null ? t('obs.at', { time: hhmm(row.created_at) }) : '', row.place ? t('obs.place', { place: row.place }) : '', row.location ? t('obs.gps', { m: Math.round(row.location.accuracy_m) }) : '']
          .filter(Boolean)
          .join(' · ')}
      </p>
      {partners.length > 0 && <p class="item-meta">{t('obs.followup', { partners: partners.join(', ') })}</p>}
      {contact && <p class="item-meta">{t('session.contact', { contact })}</p>}
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
      {invalid.length > 0 && <p class="item-meta warn-text">{t('obs.invalid', { fields: invalid.join(', ') })}</p>}
      {editing ? (
        <form class="stack" onSubmit={save}>
          <label for={`edit-${row.item_id}`}>{t('obs.text')}</label>
          <textarea id={`edit-${row.item_id}`} rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="edit-text" />
          <label for={`sev-${row.item_id}`}>{t('entry.severity')}</label>
          <select id={`sev-${row.item_id}`} value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            {(catalog?.severities ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
          <div class="row">
            <button type="submit" class="btn primary" data-testid="edit-save">
              {t('obs.save')}
            </button>
            <button type="button" class="btn" onClick={() => setEditing(false)}>
              {t('obs.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <div class="row">
          <button
            type="button"
            class="btn small"
            data-testid="edit"
            onClick={() => {
              setText(row.text ?? '');
              setSeverity(row.severity ?? '');
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
export function CategoryButtons({ catalog, value, onPick }: { catalog: CatalogInfo; value: string; onPick: (id: string) => void }) {
  return (
    <div class="cat-grid" role="group" aria-labelledby="cat-label">
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
          <span lang="nl">{c.label}</span>
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
