// The catalog: categories (colour, positive flag, English name), partners
// (English name, contact), wijken and teams; add, rename, recolour, retire;
// the severities' English names. Every change is a typed edit of the catalog
// document through the wasm WijkDoc (app.edit), stored on this device first
// and synced like any document; phones get it at their next sync. The server
// accepts catalog changes from admins only.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import type { CatalogSection, Doc, WordSection } from '../../model/doc';
import { useApp, useDraft } from '../hooks';
import { ConfirmButton } from './common';
import { slug, teamSlug } from './slug';

interface Entry {
  id: string;
  label: string;
  /** The English label ('' when none: English mode shows the Dutch one). */
  labelEn: string;
  color: string;
  positive: boolean;
  order: number;
  retired: boolean;
  email: string;
  phone: string;
  contact: string;
  /** Categories: call-back term in working days (null: not set, 5 applies). */
  callbackDays: number | null;
}

/** The call-back term when a category sets none (wijklog-shared DEFAULT_CALLBACK_DAYS). */
const DEFAULT_CALLBACK_DAYS = 5;

interface FullCatalog {
  categories: Entry[];
  partners: Entry[];
  wijken: Entry[];
  severities: Entry[];
  teams: Entry[];
}

type Section = CatalogSection;

function entries(v: unknown): Entry[] {
  const list: Record<string, unknown>[] = Array.isArray(v)
    ? v.map((e) => (e && typeof e === 'object' ? (e as Record<string, unknown>) : {}))
    : Object.entries(v && typeof v === 'object' ? (v as Record<string, unknown>) : {}).map(([id, e]) => ({ id, ...(e && typeof e === 'object' ? (e as Record<string, unknown>) : {}) }));
  return list
    .map((e) => ({
      id: typeof e.id === 'string' ? e.id : '',
      label: typeof e.label === 'string' ? e.label : '',
      labelEn: typeof e.label_en === 'string' ? e.label_en : '',
      color: typeof e.color === 'string' ? e.color : '#777777',
      positive: e.positive === true,
      order: typeof e.order === 'number' ? e.order : 0,
      retired: e.retired === true,
      email: typeof e.email === 'string' ? e.email : '',
      phone: typeof e.phone === 'string' ? e.phone : '',
      contact: typeof e.contact === 'string' ? e.contact : '',
      callbackDays: typeof e.callback_days === 'number' ? e.callback_days : null,
    }))
    .filter((e) => e.id)
    .sort((a, b) => Number(a.retired) - Number(b.retired) || a.order - b.order || a.label.localeCompare(b.label));
}

/** The whole catalog, retired entries included (the field app hides them). */
function fullCatalog(doc: Doc): FullCatalog {
  const v = (doc.catalogView() ?? {}) as Record<string, unknown>;
  return { categories: entries(v.categories), partners: entries(v.partners), wijken: entries(v.wijken), severities: entries(v.severities), teams: entries(v.teams) };
}

export function CatalogAdmin() {
  const app = useApp();
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const doc = app.catalog();
  if (!doc || !app.catalogId) {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('admin.catalog.title')}</h1>
        <p class="hint" data-testid="admin-catalog-waiting">
          {t('admin.catalog.waiting')}
        </p>
      </section>
    );
  }
  const catalogId = app.catalogId;
  const cat = fullCatalog(doc);

  async function edit(f: (d: Doc) => void): Promise<boolean> {
    setMsg(null);
    try {
      await app.edit(catalogId, f);
      setMsg({ ok: true, text: t('admin.catalog.saved') });
      return true;
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      const text =
        code === 'invalid_slug'
          ? t('admin.catalog.error.invalid_slug')
          : code === 'invalid_email'
            ? t('mail.partner.invalid_email')
          : code === 'catalog_entry_exists'
            ? t('admin.catalog.error.exists')
            : t('admin.catalog.error', { code: typeof code === 'string' ? code : 'internal' });
      setMsg({ ok: false, text });
      return false;
    }
  }

  return (
    <section class="screen" data-testid="admin-catalog">
      <h1 tabIndex={-1}>{t('admin.catalog.title')}</h1>
      <p class="hint">{t('admin.catalog.intro')}</p>
      {msg && (
        <p class={msg.ok ? 'done' : 'error-text'} role={msg.ok ? 'status' : 'alert'} data-testid="admin-catalog-msg">
          {msg.text}
        </p>
      )}
      <SectionView section="categories" list={cat.categories} edit={edit} />
      <SectionView section="partners" list={cat.partners} edit={edit} />
      <SectionView section="wijken" list={cat.wijken} edit={edit} />
      <SectionView section="teams" list={cat.teams} edit={edit} />
      <div class="admin-section" data-testid="admin-catalog-severities">
        <h2>{t('admin.catalog.severities')}</h2>
        <ul class="plain">
          {cat.severities.map((s) => (
            <li key={s.id} class="cat-row partner" data-testid="admin-catalog-entry" data-id={s.id}>
              <span>{s.label}</span>
              <EnglishLabel section="severities" entry={s} edit={edit} />
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}

type Edit = (f: (d: Doc) => void) => Promise<boolean>;

function SectionView({ section, list, edit }: { section: Section; list: Entry[]; edit: Edit }) {
  return (
    <div class="admin-section" data-testid={`admin-catalog-${section}`}>
      <h2>{t(`admin.catalog.${section}`)}</h2>
      <ul class="plain">
        {list.map((e) => (
          <EntryRow key={e.id} section={section} entry={e} edit={edit} />
        ))}
      </ul>
      <AddForm section={section} edit={edit} />
    </div>
  );
}

function EntryRow({ section, entry, edit }: { section: Section; entry: Entry; edit: Edit }) {
  // Each field follows the stored value until it is edited: saving another field of this
  // row, or a change from another device, keeps what is typed here.
  const [label, setLabel] = useDraft(entry.label);
  const [color, setColor] = useDraft(entry.color);
  const [days, setDays] = useDraft(String(entry.callbackDays ?? DEFAULT_CALLBACK_DAYS));
  const base = `cat-${section}-${entry.id}`;
  const daysNum = Number(days);
  const daysValid = Number.isInteger(daysNum) && daysNum >= 1 && daysNum <= 60;
  const rename = (d: Doc) => d.renameEntry(section, entry.id, label.trim());
  const retire = (d: Doc) => d.retireEntry(section, entry.id);
  return (
    <li class={`cat-row${section === 'categories' ? '' : ' partner'}`} data-testid="admin-catalog-entry" data-id={entry.id} data-retired={entry.retired}>
      {section === 'categories' && <span class="swatch" style={{ background: entry.color }} aria-hidden="true" />}
      {entry.retired ? (
        <span class="retired">
          {entry.label} ({t('admin.catalog.retired')})
        </span>
      ) : (
        <span class="row" style={{ margin: 0 }}>
          <label class="sr-only" for={`${base}-label`}>
            {t('admin.catalog.label_of', { label: entry.label })}
          </label>
          <input id={`${base}-label`} value={label} maxLength={80} onInput={(e) => setLabel(e.currentTarget.value)} style={{ flex: '1 1 8rem', width: 'auto' }} />
          <button type="button" class="btn small" disabled={!label.trim() || label.trim() === entry.label} onClick={() => void edit(rename)}>
            {t('admin.catalog.rename')}
          </button>
        </span>
      )}
      {section === 'categories' && !entry.retired && (
        <span class="row" style={{ margin: 0 }}>
          <label class="sr-only" for={`${base}-color`}>
            {t('admin.catalog.color_of', { label: entry.label })}
          </label>
          <input id={`${base}-color`} type="color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
          <button type="button" class="btn small" disabled={color.toLowerCase() === entry.color.toLowerCase()} onClick={() => void edit((d) => d.setCategoryColor(entry.id, color.toLowerCase()))}>
            {t('admin.catalog.recolor')}
          </button>
        </span>
      )}
      {section === 'categories' && !entry.retired && (
        <span class="row" style={{ margin: 0 }}>
          <label for={`${base}-days`} title={t('callbacks.catalog.days_of', { label: entry.label })}>
            {t('callbacks.catalog.days')}
          </label>
          <input
            id={`${base}-days`}
            type="number"
            min={1}
            max={60}
            step={1}
            value={days}
            aria-label={t('callbacks.catalog.days_of', { label: entry.label })}
            onInput={(e) => setDays(e.currentTarget.value)}
            style={{ width: '4.5rem' }}
            data-testid="admin-catalog-days"
          />
          <button
            type="button"
            class="btn small"
            disabled={!daysValid || daysNum === (entry.callbackDays ?? DEFAULT_CALLBACK_DAYS)}
            onClick={() => void edit((d) => d.setCategoryCallbackDays(entry.id, daysNum))}
            data-testid="admin-catalog-days-save"
          >
            {t('callbacks.catalog.save_days')}
          </button>
        </span>
      )}
      {section === 'categories' && <span>{entry.positive ? t('admin.catalog.positive') : ''}</span>}
      {(section === 'categories' || section === 'partners') && !entry.retired && <EnglishLabel section={section} entry={entry} edit={edit} />}
      {section === 'partners' && !entry.retired && <PartnerContactForm entry={entry} edit={edit} />}
      {!entry.retired && (
        <ConfirmButton
          label={t('admin.catalog.retire')}
          ariaLabel={t('admin.catalog.retire_label', { label: entry.label })}
          question={t('admin.catalog.confirm_retire', { label: entry.label })}
          onConfirm={async () => {
            await edit(retire);
          }}
          testid="admin-catalog-retire"
        />
      )}
    </li>
  );
}

/** The English name of a category, severity or partner; empty: English mode shows the Dutch one. */
function EnglishLabel({ section, entry, edit }: { section: WordSection; entry: Entry; edit: Edit }) {
  const [value, setValue] = useDraft(entry.labelEn);
  const id = `cat-${section}-${entry.id}-en`;
  return (
    <span class="row" style={{ margin: 0 }}>
      <label for={id} title={t('admin.catalog.label_en_hint')}>
        {t('admin.catalog.label_en')}
      </label>
      <input id={id} lang="en" value={value} maxLength={200} aria-label={t('admin.catalog.label_en_of', { label: entry.label })} onInput={(e) => setValue(e.currentTarget.value)} style={{ flex: '1 1 8rem', width: 'auto' }} data-testid="admin-catalog-label-en" />
      <button type="button" class="btn small" disabled={value.trim() === entry.labelEn} onClick={() => void edit((d) => d.setLabelEn(section, entry.id, value.trim()))} data-testid="admin-catalog-label-en-save">
        {t('admin.catalog.save_label_en')}
      </button>
    </span>
  );
}

/** A partner's e-mail address, phone and contact person (used by "doorsturen"). */
function PartnerContactForm({ entry, edit }: { entry: Entry; edit: Edit }) {
  const [email, setEmail] = useDraft(entry.email);
  const [phone, setPhone] = useDraft(entry.phone);
  const [contact, setContact] = useDraft(entry.contact);
  const base = `partner-${entry.id}`;
  const dirty = email !== entry.email || phone !== entry.phone || contact !== entry.contact;
  return (
    <form
      class="admin-grid partner-contact"
      aria-label={t('mail.partner.contact_of', { label: entry.label })}
      data-testid="admin-partner-contact"
      onSubmit={(e) => {
        e.preventDefault();
        void edit((d) => d.setPartnerContact(entry.id, { email: email.trim() || null, phone: phone.trim() || null, contact: contact.trim() || null }));
      }}
    >
      <div>
        <label for={`${base}-email`}>{t('mail.partner.email')}</label>
        <input id={`${base}-email`} type="email" maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} data-testid="admin-partner-email" />
      </div>
      <div>
        <label for={`${base}-phone`}>{t('mail.partner.phone')}</label>
        <input id={`${base}-phone`} type="tel" maxLength={200} value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
      </div>
      <div>
        <label for={`${base}-contact`}>{t('mail.partner.contact')}</label>
        <input id={`${base}-contact`} maxLength={200} value={contact} onInput={(e) => setContact(e.currentTarget.value)} />
      </div>
      <div>
        <button type="submit" class="btn small" disabled={!dirty} data-testid="admin-partner-save">
          {t('mail.partner.save')}
        </button>
      </div>
    </form>
  );
}

function AddForm({ section, edit }: { section: Section; edit: Edit }) {
  const [label, setLabel] = useState('');
  const [id, setId] = useState('');
  const [idTouched, setIdTouched] = useState(false);
  const [color, setColor] = useState('#1565c0');
  const [positive, setPositive] = useState(false);
  const p = `add-${section}`;
  const addLabel =
    section === 'categories' ? t('admin.catalog.add_category') : section === 'partners' ? t('admin.catalog.add_partner') : section === 'teams' ? t('admin.catalog.add_team') : t('admin.catalog.add_wijk');
  const effectiveId = idTouched ? id : section === 'teams' ? teamSlug(label) : slug(label);
  async function submit(e: Event) {
    e.preventDefault();
    const l = label.trim();
    const ok = await edit((d) => {
      if (section === 'categories') d.addCategory({ id: effectiveId, label: l, color: color.toLowerCase(), positive });
      else if (section === 'partners') d.addPartner(effectiveId, l);
      else if (section === 'teams') d.addTeam(effectiveId, l);
      else d.addWijk(effectiveId, l);
    });
    if (ok) {
      setLabel('');
      setId('');
      setIdTouched(false);
      setPositive(false);
    }
  }
  return (
    <form class="stack" onSubmit={submit} data-testid={`admin-add-${section}`}>
      <h3>{addLabel}</h3>
      <div class="admin-grid">
        <div>
          <label for={`${p}-label`}>{t('admin.catalog.label')}</label>
          <input id={`${p}-label`} required maxLength={80} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </div>
        <div>
          <label for={`${p}-id`}>{t('admin.catalog.id')}</label>
          <input
            id={`${p}-id`}
            required
            pattern={section === 'teams' ? '[a-z][a-z0-9_\\-]*' : '[a-z][a-z0-9_]*'}
            maxLength={48}
            aria-describedby={`${p}-id-hint`}
            value={effectiveId}
            onInput={(e) => {
              setIdTouched(true);
              setId(e.currentTarget.value);
            }}
          />
          <span id={`${p}-id-hint`} class="hint">
            {section === 'teams' ? t('admin.catalog.team_id_hint') : t('admin.catalog.id_hint')}
          </span>
        </div>
        {section === 'categories' && (
          <div>
            <label for={`${p}-color`}>{t('admin.catalog.color')}</label>
            <input id={`${p}-color`} type="color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
          </div>
        )}
      </div>
      {section === 'categories' && (
        <label class="check" for={`${p}-positive`}>
          <input id={`${p}-positive`} type="checkbox" checked={positive} onChange={(e) => setPositive(e.currentTarget.checked)} />
          {t('admin.catalog.positive')}
        </label>
      )}
      <button type="submit" class="btn primary" data-testid={`admin-add-${section}-submit`}>
        {addLabel}
      </button>
    </form>
  );
}
