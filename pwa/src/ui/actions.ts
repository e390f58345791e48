// The edits of the app's multi-edit forms, as functions of the form's values.
// Each returns the function app.edit() runs as ONE action (all edits or none;
// docs/pwa.md, "One action, one write"). The components and the unit tests
// (actions.test.ts: every edit of every form made to fail) share them, so the
// tests exercise exactly what the forms write.

import type { Doc, Row, Severity } from '../model/doc';

export interface NoteForm {
  user: { id: string; name: string } | null;
  category: string;
  severity: Severity;
  text: string;
  consent: boolean;
  name: string;
  phone: string;
  email: string;
  callback: boolean;
  /** SHA-256 hex of the photos (already processed; stored with the action). */
  photos: string[];
}

/** Spreekuur "Notitie opslaan": staff, note, contact, call back, photos. */
export function addNoteAction(catalog: Doc, f: NoteForm): (d: Doc) => string {
  return (d) => {
    if (f.user && !d.session().staff.some((x) => x.id === f.user!.id)) d.addStaff(f.user.id, f.user.name);
    const itemId = d.addNote(catalog, { category: f.category, severity: f.severity, text: f.text.trim() });
    if (f.consent && (f.name.trim() || f.phone.trim() || f.email.trim())) {
      d.setResident(itemId, { name: f.name.trim() || undefined, phone: f.phone.trim() || undefined, email: f.email.trim() || undefined, consent: true });
    }
    if (f.callback) d.requestCallback(catalog, itemId);
    for (const sha of f.photos) d.addPhoto(itemId, `sha256:${sha}`);
    return itemId;
  };
}

export interface ObservationForm {
  category: string;
  severity: Severity;
  text: string;
  place: string;
  /** `accuracy_m` null: a position chosen on the map. */
  location: { lat: number; lon: number; accuracy_m: number | null } | null;
  partners: string[];
  photos: string[];
  /** Made from this resident's point on the walk's agenda: it is marked looked at, linked to the observation. */
  point?: number;
}

/** Quick entry "Opslaan": observation, follow-up partners, photos (and the agenda point it answers). */
export function addObservationAction(catalog: Doc, f: ObservationForm): (d: Doc) => string {
  return (d) => {
    const itemId = d.addObservation(catalog, { category: f.category, severity: f.severity, text: f.text.trim(), place: f.place.trim() || null, location: f.location });
    for (const p of f.partners) d.setFollowUp(catalog, itemId, p, 'open', '');
    for (const sha of f.photos) d.addPhoto(itemId, `sha256:${sha}`);
    if (f.point !== undefined) d.markAgendaLookedAt(f.point, itemId);
    return itemId;
  };
}

export type LocEdit =
  | { state: 'keep' }
  | { state: 'searching' }
  | { state: 'failed' }
  | { state: 'remove' }
  | { state: 'new'; lat: number; lon: number; accuracy: number };

export interface ItemEditForm {
  text: string;
  /** Empty: unchanged. */
  severity: Severity | '';
  category: string;
  place: string;
  loc: LocEdit;
  /** The contact to write (a note whose contact changed), or null to leave it. */
  contact: { name: string; phone: string; email: string } | null;
}

/** "Bewerken" of an observation or note: only the fields that changed, each by its typed edit. */
export function editItemAction(catalog: Doc | null, row: Row, f: ItemEditForm): (d: Doc) => void {
  const isWalk = row.doc_kind === 'walk';
  return (doc) => {
    doc.setText(row.item_id, row.text ?? '', f.text);
    if (f.severity && f.severity !== row.severity) doc.setSeverity(row.item_id, f.severity);
    if (f.category && f.category !== row.category && catalog) doc.setCategory(catalog, row.item_id, f.category);
    if (isWalk && f.place.trim() !== (row.place ?? '')) doc.setPlace(row.item_id, f.place);
    if (isWalk && f.loc.state === 'new') doc.setLocation(row.item_id, { lat: f.loc.lat, lon: f.loc.lon, accuracy_m: f.loc.accuracy });
    if (isWalk && f.loc.state === 'remove') doc.setLocation(row.item_id, null);
    if (!isWalk && f.contact) {
      doc.setResident(row.item_id, { name: f.contact.name.trim() || null, phone: f.contact.phone.trim() || null, email: f.contact.email.trim() || null, consent: true });
    }
  };
}

/** Coordinator: save one follow-up entry (status and note). */
export function saveFollowUpAction(
  catalog: Doc,
  itemId: string,
  partner: string,
  was: { status: string | null; note: string },
  next: { status: 'open' | 'in_behandeling' | 'afgerond'; note: string },
): (d: Doc) => void {
  return (d) => {
    if (next.status !== was.status) d.setFollowUp(catalog, itemId, partner, next.status, null);
    d.setFollowUpNote(itemId, partner, was.note, next.note);
  };
}

/**
 * The participant id of a user in a walk: the same on every device of the
 * user (a name-based UUID from SHA-256 of the walk and the user), so that
 * joining from two phones at once adds one participant, not two.
 */
export async function participantIdFor(userId: string, docId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`wijklog participant\n${docId}\n${userId}`)));
  const b = digest.slice(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50; // version 5 (name-based, SHA)
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * "Meedoen": the user joins a colleague's walk as a participant, unless they
 * are listed already (by this id, or by the same name, e.g. planned by the
 * coordinator). Returns whether a participant was added.
 */
export function joinWalkAction(user: { name: string }, participantId: string): (d: Doc) => boolean {
  return (d) => {
    const name = user.name.trim();
    const known = d.walk().participants.some((p) => p.id === participantId || (name !== '' && p.name.trim().toLowerCase() === name.toLowerCase()));
    if (known) return false;
    d.addParticipant(name, '', participantId);
    return true;
  };
}
