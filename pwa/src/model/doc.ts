// Thin typed adapter over the wasm build of wijklog-shared (pwa/src/wasm/pkg,
// produced by `make wasm`). Every document read and edit in the app goes
// through here; there is no automerge code in TypeScript. The read side uses
// `project()` rows (the contract shared with the server) for observations and
// notes, and `view()` for document-level fields.

import init, { WijkDoc, SyncState, checkPhone as wasmCheckPhone, checkEmail as wasmCheckEmail } from '../wasm/pkg/wijklog_shared.js';
import type * as Model from '../wasm/pkg/wijklog_shared.js';
import wasmUrl from '../wasm/pkg/wijklog_shared_bg.wasm?url';

// The model's types are the ones the wasm build generates from the Rust types
// (wijklog_shared.d.ts); this module is the one place that re-exports them.
export type {
  Address,
  AgendaLook,
  AgendaPoint,
  Attempt,
  AttemptOutcome,
  Callback,
  CallbackOutcome,
  CallbackRequest,
  Catalog,
  DocKind,
  EmailCheck,
  FeedbackChannel,
  FollowUp,
  FollowUpStatus,
  HistoryReplaced,
  Location,
  NewCategory,
  NewItem,
  NewSpreekuur,
  NewWalk,
  PartnerContact,
  PhoneCheck,
  ResidentContact,
  Row,
  Severity,
} from '../wasm/pkg/wijklog_shared.js';

export { SyncState };
export { concat, minimalSplice } from './text';
import { concat, minimalSplice } from './text';
import { lang } from '../i18n';

let ready: Promise<void> | null = null;

/** Load and instantiate the wasm module once. */
export function loadWasm(): Promise<void> {
  ready ??= init({ module_or_path: wasmUrl }).then(() => undefined);
  return ready;
}

export type CatalogSection = 'categories' | 'partners' | 'wijken' | 'teams';
/** The sections whose entries carry an English label beside the Dutch one. */
export type WordSection = 'categories' | 'severities' | 'partners';

/** Every attempt outcome and close outcome, in the order the forms offer them. */
export const ATTEMPT_OUTCOMES: Model.AttemptOutcome[] = ['bereikt', 'niet_bereikt', 'voicemail', 'verkeerd_nummer'];
export const CALLBACK_OUTCOMES: Model.CallbackOutcome[] = ['gesproken', 'niet_bereikbaar', 'niet_meer_nodig'];

/** Requested and not closed. */
export function callbackOpen(c: Model.Callback | null | undefined): boolean {
  return !!c && c.requested === true && (c.done_at === null || c.done_at === undefined);
}

export interface Participant {
  id: string;
  name: string;
  organisation: string;
}

/** A resident's point on the walk's agenda (the entries of `agenda`, by point id). */
export interface AgendaEntry {
  point: number;
  text: string;
  category: string | null;
  place: string | null;
  location: { lat: number; lon: number } | null;
  /** Looked at during the walk (and the observation it led to), or null. */
  looked_at: { at: number | null; by: string | null; observation: string | null } | null;
}

export interface WalkInfo {
  kind: 'walk';
  title: string;
  wijk: string;
  route: string;
  planned_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  /** Last reopened (after an end), and by whom (user id). */
  reopened_at: number | null;
  reopened_by: string | null;
  team: string;
  created_by: string;
  participants: Participant[];
  summary: string;
  /** Residents' points on the agenda, in the order they were added. */
  agenda: AgendaEntry[];
}

export interface SessionInfo {
  kind: 'spreekuur';
  location: string;
  wijk: string;
  held_on: number | null;
  team: string;
  created_by: string;
  staff: { id: string; name: string }[];
}

export interface CatalogEntry {
  id: string;
  label: string;
  /** The language of `label`: 'en' when the English label was used, else 'nl'. */
  label_lang?: 'nl' | 'en';
  color?: string;
  positive?: boolean;
  order: number;
  retired?: boolean;
  /** Categories: the call-back term in working days, null when not set (5 applies). */
  callback_days?: number | null;
}

export interface CatalogInfo {
  kind: 'catalog';
  categories: CatalogEntry[];
  severities: CatalogEntry[];
  partners: CatalogEntry[];
  wijken: CatalogEntry[];
  /** Every team, retired ones included (old accounts and documents still name them): offer only the active ones. */
  teams: CatalogEntry[];
}

/** A team's label from the catalog; the id itself for a team the catalog does not know (old data). */
export function teamLabel(catalog: CatalogInfo | null, id: string | null | undefined): string {
  if (!id) return '';
  return catalog?.teams.find((x) => x.id === id)?.label ?? id;
}

/** An error thrown by the document model, with its stable code. */
export class DocError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DocError';
  }
}

function asDocError(e: unknown): DocError {
  if (e instanceof DocError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const msg = (e as { message?: unknown } | null)?.message;
  return new DocError(typeof code === 'string' ? code : 'internal', typeof msg === 'string' ? msg : String(e));
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asDocError(e);
  }
}

// ---- the contact rules of the model (one source: the wasm build of wijklog-shared) ----


/** Checks a phone field as `setResident` will (empty = valid: no phone). */
export function checkPhone(value: string): Model.PhoneCheck {
  return wrap(() => wasmCheckPhone(value));
}

/** Checks an e-mail field as `setResident` will (empty = valid: no e-mail). */
export function checkEmail(value: string): Model.EmailCheck {
  return wrap(() => wasmCheckEmail(value));
}

// ---- test hook: make one edit fail inside the model --------------------------
//
// Tests (vitest, and browser tests through `window.__wijklogFailEdit`) name an
// adapter edit, e.g. 'setResident'; the next calls of that edit pass an invalid
// argument (an item id that is not a UUID, an unknown category) to the real
// model, which refuses it, so the whole path of a refused edit is exercised
// without a mock. `__wijklogEditLog` (an array) records the edits made. Both
// unset in normal use.

const INVALID_ID = 'not-a-uuid';

function failing(edit: string): boolean {
  const g = globalThis as { __wijklogFailEdit?: unknown; __wijklogEditLog?: unknown };
  // Tests may also ask which edits an action makes (an array to append to).
  if (Array.isArray(g.__wijklogEditLog)) g.__wijklogEditLog.push(edit);
  const f = g.__wijklogFailEdit;
  return typeof f === 'string' && f.split(',').includes(edit);
}

/** The item id to pass to the model for `edit` (an invalid one when the test hook says so). */
function idFor(edit: string, itemId: string): string {
  return failing(edit) ? INVALID_ID : itemId;
}

// ---- tolerant normalisation of view() output ---------------------------------

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** A map (id -> entry) or a list of entries with `id`, as an array of entries. */
function entries(v: unknown): Json[] {
  if (Array.isArray(v)) return v.map(obj);
  return Object.entries(obj(v)).map(([id, e]) => ({ id, ...obj(e) }));
}

/** The entries of a catalog section, each labelled in the app's language (English when set, else Dutch). */
function catalogEntries(v: unknown, english = false): CatalogEntry[] {
  return entries(v)
    .map((e) => ({
      id: str(e.id),
      label: (english && str(e.label_en)) || str(e.label) || str(e.id),
      label_lang: english && str(e.label_en) ? ('en' as const) : ('nl' as const),
      color: typeof e.color === 'string' ? e.color : undefined,
      positive: e.positive === true,
      order: num(e.order) ?? 0,
      retired: e.retired === true,
      callback_days: num(e.callback_days),
    }))
    .filter((e) => e.id)
    .sort((a, b) => a.order - b.order || a.label.localeCompare(b.label));
}

/** The walk's agenda entries, oldest first (then by point id); entries without a readable point id are left out. */
function agendaEntries(v: unknown): (AgendaEntry & { added_at: number })[] {
  return Object.entries(obj(v))
    .map(([key, raw]) => {
      const e = obj(raw);
      const loc = obj(e.location);
      const look = e.looked_at == null ? null : obj(e.looked_at);
      const lat = num(loc.lat);
      const lon = num(loc.lon);
      return {
        point: /^[1-9][0-9]*$/.test(key) ? Number(key) : NaN,
        text: str(e.text),
        category: typeof e.category === 'string' ? e.category : null,
        place: typeof e.place === 'string' ? e.place : null,
        location: lat !== null && lon !== null ? { lat, lon } : null,
        looked_at: look ? { at: num(look.at), by: typeof look.by === 'string' ? look.by : null, observation: typeof look.observation === 'string' ? look.observation : null } : null,
        added_at: num(e.added_at) ?? 0,
      };
    })
    .filter((e) => Number.isSafeInteger(e.point))
    .sort((a, b) => a.added_at - b.added_at || a.point - b.point);
}

/** One automerge document (walk, spreekuur session or catalog). */
export class Doc {
  private constructor(
    readonly id: string,
    private readonly raw: WijkDoc,
  ) {}

  static newWalk(id: string, catalog: Doc, user: string, init: Model.NewWalk): Doc {
    return new Doc(id, wrap(() => WijkDoc.newWalk(id, catalog.raw, user, init)));
  }

  static newSpreekuur(id: string, catalog: Doc, user: string, init: Model.NewSpreekuur): Doc {
    return new Doc(id, wrap(() => WijkDoc.newSpreekuur(id, catalog.raw, user, init)));
  }

  /** Load saved bytes plus incremental change records (in order). */
  static load(id: string, saved: Uint8Array | null, changes: Uint8Array[], user?: string): Doc {
    if (saved) {
      const d = new Doc(id, wrap(() => WijkDoc.load(id, saved, user)));
      for (const c of changes) d.loadIncremental(c);
      return d;
    }
    // Never compacted: the change records concatenated form a loadable document.
    return new Doc(id, wrap(() => WijkDoc.load(id, concat(changes), user)));
  }

  /** An empty document to receive a server document into. */
  static empty(id: string, user?: string): Doc {
    return new Doc(id, wrap(() => WijkDoc.load(id, new Uint8Array(0), user)));
  }

  /** This replica's automerge actor id (hex); kept per document so pendingChanges counts our changes. */
  actorId(): string {
    return this.raw.actorId();
  }
  setActorId(actor: string): void {
    wrap(() => this.raw.setActorId(actor));
  }
  setUser(user: string): void {
    wrap(() => this.raw.setUser(user));
  }

  kind(): Model.DocKind | null {
    try {
      const k = this.raw.kind();
      return k === 'walk' || k === 'spreekuur' || k === 'catalog' ? k : null;
    } catch {
      return null;
    }
  }

  save(): Uint8Array {
    return wrap(() => this.raw.save());
  }
  saveIncremental(): Uint8Array {
    return wrap(() => this.raw.saveIncremental());
  }
  loadIncremental(bytes: Uint8Array): void {
    wrap(() => this.raw.loadIncremental(bytes));
  }
  heads(): string[] {
    return wrap(() => this.raw.heads());
  }
  /**
   * Replace this copy's history by the server's rewritten one (`save()`
   * bytes after an erasure), carrying this replica's unsent changes over;
   * edits of erased fields are dropped and their items listed in `droppedOn`.
   * The actor id stays. Throws a DocError and changes nothing on bad bytes.
   */
  replaceHistory(rewritten: Uint8Array): Model.HistoryReplaced {
    return wrap(() => this.raw.replaceHistory(rewritten));
  }
  /** Changes made by this replica that `ackedHeads` does not cover. */
  pendingChanges(ackedHeads: string[]): number {
    return wrap(() => this.raw.pendingChanges(ackedHeads));
  }
  generateSyncMessage(state: SyncState): Uint8Array | undefined {
    return wrap(() => this.raw.generateSyncMessage(state) ?? undefined);
  }
  receiveSyncMessage(state: SyncState, msg: Uint8Array): void {
    wrap(() => this.raw.receiveSyncMessage(state, msg));
  }

  rows(): Model.Row[] {
    if (this.kind() === 'catalog') return [];
    return wrap(() => this.raw.project());
  }

  private viewJson(): Json {
    return obj(wrap(() => this.raw.view()));
  }

  walk(): WalkInfo {
    const v = this.viewJson();
    return {
      kind: 'walk',
      title: str(v.title),
      wijk: str(v.wijk),
      route: str(v.route),
      planned_at: num(v.planned_at),
      started_at: num(v.started_at),
      ended_at: num(v.ended_at),
      reopened_at: num(v.reopened_at),
      reopened_by: v.reopened_by == null ? null : str(v.reopened_by),
      team: str(v.team),
      created_by: str(v.created_by),
      participants: entries(v.participants).map((p) => ({
        id: str(p.id),
        name: str(p.name),
        organisation: str(p.organisation),
      })),
      summary: str(v.summary),
      agenda: agendaEntries(v.agenda),
    };
  }

  session(): SessionInfo {
    const v = this.viewJson();
    return {
      kind: 'spreekuur',
      location: str(v.location),
      wijk: str(v.wijk),
      held_on: num(v.held_on),
      team: str(v.team),
      created_by: str(v.created_by),
      staff: entries(v.staff).map((s) => ({ id: str(s.id), name: str(s.name) })),
    };
  }

  catalog(): CatalogInfo {
    const v = this.viewJson();
    const en = lang() === 'en';
    return {
      kind: 'catalog',
      categories: catalogEntries(v.categories, en).filter((c) => !c.retired),
      severities: catalogEntries(v.severities, en),
      partners: catalogEntries(v.partners, en).filter((c) => !c.retired),
      wijken: catalogEntries(v.wijken).filter((c) => !c.retired),
      teams: catalogEntries(v.teams),
    };
  }

  // ---- actions ---------------------------------------------------------------

  /**
   * Run the edits of one user action: `f` calls the typed edits below; when
   * all succeed they are committed as ONE automerge change, and when any of
   * them (or `f` itself) throws, none is applied and the error is rethrown as
   * a DocError. Synchronous on purpose: nothing (sync, saving) can run between
   * the edits. Actions do not nest.
   */
  action<T>(f: (doc: Doc) => T): T {
    wrap(() => this.raw.beginAction());
    let result: T;
    try {
      result = f(this);
      if (result instanceof Promise) throw new DocError('internal', 'an action must be synchronous');
    } catch (e) {
      this.raw.abortAction();
      throw asDocError(e);
    }
    wrap(() => this.raw.commitAction());
    return result;
  }

  // ---- typed edits (each one automerge commit, or part of an action) --------

  startWalk(): void {
    wrap(() => (failing('startWalk') ? this.raw.startWalk({ by: '' }) : this.raw.startWalk()));
  }
  endWalk(): void {
    wrap(() => (failing('endWalk') ? this.raw.endWalk({ by: '' }) : this.raw.endWalk()));
  }
  reopenWalk(): void {
    wrap(() => (failing('reopenWalk') ? this.raw.reopenWalk({ by: '' }) : this.raw.reopenWalk()));
  }
  /** Adds a participant (`id`: an explicit item id, so that adding the same one twice fails with `item_exists`). */
  addParticipant(name: string, organisation: string, id?: string): string {
    return wrap(() => this.raw.addParticipant({ name: failing('addParticipant') ? '' : name, organisation, ...(id ? { id } : {}) }));
  }
  /** Mark a resident's point on the agenda as looked at, linked to the observation it led to (or none). */
  markAgendaLookedAt(point: number, observation: string | null): void {
    wrap(() => this.raw.markAgendaLookedAt(failing('markAgendaLookedAt') ? 0 : point, observation ?? undefined));
  }
  /** Switch a point's "bekeken" off again (nothing happens when it is not marked). */
  unmarkAgendaLookedAt(point: number): void {
    wrap(() => this.raw.unmarkAgendaLookedAt(failing('unmarkAgendaLookedAt') ? 0 : point));
  }
  addObservation(catalog: Doc, init: Model.NewItem): string {
    const i = failing('addObservation') ? { ...init, category: '' } : init;
    return wrap(() => this.raw.addObservation(catalog.raw, i));
  }
  addNote(catalog: Doc, init: Model.NewItem): string {
    const i = failing('addNote') ? { ...init, category: '' } : init;
    return wrap(() => this.raw.addNote(catalog.raw, i));
  }
  /** Replace an item's text with `next` by one minimal splice (keeps concurrent edits elsewhere). */
  setText(itemId: string, prev: string, next: string): void {
    const s = minimalSplice(prev, next);
    if (s) wrap(() => this.raw.spliceText(idFor('setText', itemId), s.pos, s.del, s.insert));
  }
  setSummary(prev: string, next: string): void {
    const s = minimalSplice(prev, next);
    if (s) wrap(() => this.raw.spliceWalkText('summary', s.pos, failing('setSummary') ? s.del + 1e6 : s.del, s.insert));
  }
  setSeverity(itemId: string, severity: Model.Severity): void {
    wrap(() => this.raw.setSeverity(idFor('setSeverity', itemId), severity));
  }
  setCategory(catalog: Doc, itemId: string, category: string): void {
    wrap(() => this.raw.setCategory(catalog.raw, idFor('setCategory', itemId), category));
  }
  /** Set the place name; an empty string removes it. */
  setPlace(itemId: string, place: string): void {
    wrap(() => this.raw.setPlace(idFor('setPlace', itemId), place.trim() ? place.trim() : null));
  }
  setLocation(itemId: string, location: Model.Location | null): void {
    wrap(() => this.raw.setLocation(idFor('setLocation', itemId), location));
  }
  /** Store the nearest address of the position `{lat, lon}` it was looked up for (null removes it). */
  setAddress(itemId: string, address: Model.Address | null): void {
    wrap(() => this.raw.setAddress(idFor('setAddress', itemId), address));
  }
  /** Reference a photo (`sha256:<hex>`) from an item; a no-op when it is already there. */
  addPhoto(itemId: string, ref: string): void {
    wrap(() => this.raw.addPhoto(idFor('addPhoto', itemId), ref));
  }
  setFollowUp(catalog: Doc, itemId: string, partner: string, status: Model.FollowUpStatus, note: string | null): void {
    wrap(() => this.raw.setFollowUp(catalog.raw, idFor('setFollowUp', itemId), partner, status, note ?? undefined));
  }
  /** Change a follow-up note by one minimal splice, so a concurrent edit elsewhere in the note survives. */
  setFollowUpNote(itemId: string, partner: string, prev: string, next: string): void {
    const s = minimalSplice(prev, next);
    if (s) wrap(() => this.raw.spliceFollowUpNote(idFor('setFollowUpNote', itemId), partner, s.pos, s.del, s.insert));
  }
  setFeedbackNeeded(itemId: string, needed: boolean): void {
    wrap(() => this.raw.setFeedbackNeeded(idFor('setFeedbackNeeded', itemId), needed));
  }
  recordFeedbackGiven(itemId: string, channel: Model.FeedbackChannel, givenAt: number): void {
    wrap(() => this.raw.recordFeedbackGiven(idFor('recordFeedbackGiven', itemId), channel, givenAt));
  }
  deleteItem(itemId: string): void {
    wrap(() => this.raw.deleteItem(idFor('deleteItem', itemId)));
  }
  restoreItem(itemId: string): void {
    wrap(() => this.raw.undeleteItem(idFor('restoreItem', itemId)));
  }
  /**
   * Record or correct the resident's contact: the given fields replace what
   * is there, an empty or absent one is removed (phone kept as typed, its
   * E.164 form derived by the model). Needs consent.
   */
  setResident(itemId: string, resident: Model.ResidentContact): void {
    wrap(() => this.raw.setResidentContact(idFor('setResident', itemId), resident));
  }
  /** The resident withdraws consent: name, phone and e-mail are removed. */
  withdrawConsent(itemId: string): void {
    wrap(() => this.raw.withdrawResidentConsent(idFor('withdrawConsent', itemId)));
  }
  /** A call-back request: due date default from the catalog (the category's term in working days), assignee default the team. */
  requestCallback(catalog: Doc, itemId: string, request?: Model.CallbackRequest): void {
    wrap(() => this.raw.requestCallback(catalog.raw, idFor('requestCallback', itemId), request));
  }
  setCallbackDue(itemId: string, dueAt: number): void {
    wrap(() => this.raw.setCallbackDue(idFor('setCallbackDue', itemId), dueAt));
  }
  /** Assign to a user id, or with null to the team. */
  assignCallback(itemId: string, assignee: string | null): void {
    wrap(() => this.raw.assignCallback(idFor('assignCallback', itemId), assignee));
  }
  logCallbackAttempt(itemId: string, outcome: Model.AttemptOutcome, note?: string): string {
    return wrap(() => this.raw.logCallbackAttempt(idFor('logCallbackAttempt', itemId), { outcome, note: note?.trim() ? note.trim() : null }));
  }
  closeCallback(itemId: string, outcome: Model.CallbackOutcome | null): void {
    wrap(() => this.raw.closeCallback(idFor('closeCallback', itemId), outcome));
  }
  completeCallback(itemId: string): void {
    wrap(() => this.raw.completeCallback(idFor('completeCallback', itemId)));
  }
  addStaff(userId: string, name: string): void {
    wrap(() => this.raw.addStaff(failing('addStaff') ? '' : userId, name));
  }

  // ---- catalog edits (admins) -----------------------------------------------

  /** The catalog as stored, retired entries included (the admin screen; the field app reads `catalog()`). */
  catalogView(): Model.Catalog | null {
    if (this.kind() !== 'catalog') return null;
    const v = wrap(() => this.raw.view());
    return v.kind === 'catalog' ? v : null;
  }
  addCategory(category: Model.NewCategory): void {
    wrap(() => this.raw.addCategory(category));
  }
  addPartner(id: string, label: string): void {
    wrap(() => this.raw.addPartner(id, label));
  }
  addWijk(id: string, label: string): void {
    wrap(() => this.raw.addWijk(id, label, null));
  }
  addTeam(id: string, label: string): void {
    wrap(() => this.raw.addTeam(id, label));
  }
  renameEntry(section: CatalogSection, id: string, label: string): void {
    wrap(() =>
      section === 'categories'
        ? this.raw.renameCategory(id, label)
        : section === 'partners'
          ? this.raw.renamePartner(id, label)
          : section === 'teams'
            ? this.raw.renameTeam(id, label)
            : this.raw.renameWijk(id, label),
    );
  }
  retireEntry(section: CatalogSection, id: string): void {
    wrap(() =>
      section === 'categories'
        ? this.raw.retireCategory(id)
        : section === 'partners'
          ? this.raw.retirePartner(id)
          : section === 'teams'
            ? this.raw.retireTeam(id)
            : this.raw.retireWijk(id),
    );
  }
  /** The English label of a category, severity or partner; blank removes it (Dutch is shown). */
  setLabelEn(section: WordSection, id: string, label: string): void {
    wrap(() => this.raw.setLabelEn(section, id, label));
  }
  setCategoryColor(id: string, color: string): void {
    wrap(() => this.raw.setCategoryColor(id, color));
  }
  /** The category's call-back term in working days. */
  setCategoryCallbackDays(id: string, days: number): void {
    wrap(() => this.raw.setCategoryCallbackDays(id, days));
  }
  setPartnerContact(id: string, contact: Model.PartnerContact): void {
    wrap(() => this.raw.setPartnerContact(id, contact));
  }

  free(): void {
    this.raw.free();
  }
}
