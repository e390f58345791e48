// Every edit of every multi-edit form, made to fail inside the real wasm
// model (the adapter's test hook passes it an invalid argument): the action
// throws the model's error, and the document is exactly as before — same
// heads, same rows, nothing half-written. Then each form's action succeeds
// as ONE change. Also: the contact rules of the model as the forms call them.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initSync, WijkDoc } from '../wasm/pkg/wijklog_shared.js';
import { checkEmail, checkPhone, Doc, DocError, type Row } from '../model/doc';
import { addNoteAction, addObservationAction, editItemAction, joinWalkAction, participantIdFor, saveFollowUpAction, type NoteForm } from './actions';

const g = globalThis as { __wijklogFailEdit?: string; __wijklogEditLog?: string[] };
const USER = 'boa-1';
const CATALOG_ID = '00000000-0000-4000-8000-00000000ca7a';
const SHA = 'a'.repeat(64);

let catalog: Doc;

beforeAll(async () => {
  // node:fs through a variable: the app's tsconfig has no node types (this file runs in vitest under node).
  const nodeFs = 'node:fs';
  const { readFileSync } = (await import(/* @vite-ignore */ nodeFs)) as { readFileSync: (p: URL) => Uint8Array };
  const wasm = readFileSync(new URL('../wasm/pkg/wijklog_shared_bg.wasm', import.meta.url));
  initSync({ module: wasm });
  const c = WijkDoc.newCatalog(CATALOG_ID, USER);
  catalog = Doc.load(CATALOG_ID, c.save(), [], USER);
  c.free();
});

afterEach(() => {
  delete g.__wijklogFailEdit;
  delete g.__wijklogEditLog;
});


function session(): Doc {
  return Doc.newSpreekuur(crypto.randomUUID(), catalog, USER, { location: 'Buurthuis', wijk: 'centrum', held_on: Date.now(), team: 'team-oost' });
}

function walk(): Doc {
  return Doc.newWalk(crypto.randomUUID(), catalog, USER, { title: 'Ronde', wijk: 'centrum', team: 'team-oost' });
}

/** A fresh copy of `doc` (same actor does not matter: the copy is only compared). */
function copy(doc: Doc): Doc {
  return Doc.load(doc.id, doc.save(), [], USER);
}

function state(d: Doc): string {
  return JSON.stringify({ heads: d.heads(), rows: d.rows(), view: d.kind() === 'spreekuur' ? d.session() : d.walk() });
}

/**
 * Runs `make(doc)` as one action once to learn which edits it makes, then
 * once per edit with that edit failing: each time the action must throw a
 * DocError and leave the document exactly as it was.
 */
function everyEditFails(name: string, base: Doc, make: (d: Doc) => (d: Doc) => unknown, minEdits: number): string[] {
  g.__wijklogEditLog = [];
  const probe = copy(base);
  probe.action(make(probe));
  const edits = [...new Set(g.__wijklogEditLog)];
  delete g.__wijklogEditLog;
  expect(edits.length, `${name}: edits made`).toBeGreaterThanOrEqual(minEdits);
  for (const edit of edits) {
    const d = copy(base);
    const before = state(d);
    g.__wijklogFailEdit = edit;
    let err: unknown = null;
    try {
      d.action(make(d));
    } catch (e) {
      err = e;
    }
    delete g.__wijklogFailEdit;
    expect(err, `${name}: ${edit} fails`).toBeInstanceOf(DocError);
    expect(state(d), `${name}: nothing of the action applied when ${edit} fails`).toBe(before);
    // The document still works: the same action succeeds afterwards.
    d.action(make(d));
    expect(d.heads().length).toBe(1);
  }
  return edits;
}

const note: NoteForm = { user: { id: USER, name: 'Bo' }, category: 'woonoverlast', severity: 'aandacht', text: 'Lawaai', consent: true, name: 'Jan', phone: '06.12.34.56.78', email: 'jan@example', callback: true, photos: [SHA] };

describe('one action, all edits or none', () => {
  it('note form: staff, note, contact, call back, photo', () => {
    const edits = everyEditFails('note', session(), () => addNoteAction(catalog, note), 5);
    expect(edits).toEqual(['addStaff', 'addNote', 'setResident', 'requestCallback', 'addPhoto']);
  });

  it('quick entry: observation, follow-up partners, photo', () => {
    const edits = everyEditFails(
      'observation',
      walk(),
      () => addObservationAction(catalog, { category: 'verkeer', severity: 'urgent', text: 'Te hard', place: 'Dorpsstraat', location: { lat: 52.2, lon: 5.3, accuracy_m: 8 }, partners: ['politie', 'gemeente_oov'], photos: [SHA] }),
      3,
    );
    expect(edits).toEqual(['addObservation', 'setFollowUp', 'addPhoto']);
  });

  it('quick entry from a resident\'s point: the observation and the point marked looked at, linked', () => {
    // The server puts points on the agenda (addAgendaPoint); the phone only marks them.
    const base = walk();
    const raw = WijkDoc.load(base.id, base.save(), USER);
    const catRaw = WijkDoc.load(CATALOG_ID, catalog.save(), USER);
    raw.addAgendaPoint(catRaw, { point: 12, text: 'Lamp kapot', category: 'openbare_ruimte', place: 'Kostmand 3' });
    const w = Doc.load(base.id, raw.save(), [], USER);
    raw.free();
    catRaw.free();
    expect(w.walk().agenda.map((e) => [e.point, e.text, e.looked_at])).toEqual([[12, 'Lamp kapot', null]]);
    const make = () => addObservationAction(catalog, { category: 'openbare_ruimte', severity: 'aandacht', text: 'Lamp is kapot', place: 'Kostmand 3', location: null, partners: [], photos: [], point: 12 });
    const edits = everyEditFails('observation from a point', w, make, 2);
    expect(edits).toEqual(['addObservation', 'markAgendaLookedAt']);
    const id = w.action(make());
    const look = w.walk().agenda[0].looked_at;
    expect(look?.observation).toBe(id);
    expect(look?.by).toBe(USER);
    w.action((d) => d.unmarkAgendaLookedAt(12));
    expect(w.walk().agenda[0].looked_at).toBeNull();
  });

  it('observation edit: text, severity, category, place, position', () => {
    const w = walk();
    const id = w.action((d) => d.addObservation(catalog, { category: 'verkeer', severity: 'aandacht', text: 'Oud', place: 'A' }));
    const row = w.rows().find((r) => r.item_id === id)!;
    const edits = everyEditFails(
      'observation edit',
      w,
      () => editItemAction(catalog, row, { text: 'Nieuw', severity: 'urgent', category: 'drugs', place: 'B', loc: { state: 'new', lat: 52, lon: 5, accuracy: 3 }, contact: null }),
      5,
    );
    expect(edits).toEqual(['setText', 'setSeverity', 'setCategory', 'setPlace', 'setLocation']);
  });

  it('note edit: text, category, contact correction', () => {
    const s = session();
    const id = s.action(addNoteAction(catalog, { ...note, photos: [] }));
    const row = s.rows().find((r) => r.item_id === id)!;
    const edits = everyEditFails(
      'note edit',
      s,
      () => editItemAction(catalog, row, { text: 'Lawaai, ook overdag', severity: row.severity!, category: 'vervuiling', place: '', loc: { state: 'keep' }, contact: { name: 'Jan de Vries', phone: '035-5251234 / 06-12345678', email: 'jan@example' } }),
      3,
    );
    expect(edits).toEqual(['setText', 'setCategory', 'setResident']);
  });

  it('coordinator follow-up: status and note', () => {
    const w = walk();
    const id = w.action((d) => {
      const i = d.addObservation(catalog, { category: 'verkeer', severity: 'aandacht', text: 'x' });
      d.setFollowUp(catalog, i, 'politie', 'open', 'Eerste');
      return i;
    });
    const edits = everyEditFails('follow-up', w, () => saveFollowUpAction(catalog, id, 'politie', { status: 'open', note: 'Eerste' }, { status: 'afgerond', note: 'Eerste, klaar' }), 2);
    expect(edits).toEqual(['setFollowUp', 'setFollowUpNote']);
  });

  it('a successful action is one change with every edit in it', () => {
    const s = session();
    const before = s.heads();
    const id = s.action(addNoteAction(catalog, note));
    const heads = s.heads();
    expect(heads).toHaveLength(1);
    expect(heads).not.toEqual(before);
    const row: Row = s.rows().find((r) => r.item_id === id)!;
    expect(row.resident).toMatchObject({ name: 'Jan', phone: '06.12.34.56.78', phone_e164: '+31612345678', email: 'jan@example', consent: true });
    expect(row.callback?.requested).toBe(true);
    expect(row.photos).toEqual([`sha256:${SHA}`]);
  });

  it('a thrown error of the form itself also applies nothing, and actions do not nest', () => {
    const s = session();
    const before = state(s);
    expect(() =>
      s.action((d) => {
        d.addNote(catalog, { category: 'verkeer', severity: 'aandacht', text: 'x' });
        throw new Error('form bug');
      }),
    ).toThrow(DocError);
    expect(state(s)).toBe(before);
    expect(() => s.action((d) => d.action(() => 1))).toThrow(/action/);
    expect(state(s)).toBe(before);
  });

  it('saving during an open action is refused (the action cannot leak half-done)', () => {
    const s = session();
    let code = '';
    try {
      s.action((d) => {
        d.addNote(catalog, { category: 'verkeer', severity: 'aandacht', text: 'x' });
        d.saveIncremental();
      });
    } catch (e) {
      code = (e as DocError).code;
    }
    expect(code).toBe('action_open');
    expect(s.rows()).toHaveLength(0);
  });

  it('an error swallowed inside the action still fails the whole action', () => {
    const s = session();
    const before = state(s);
    let code = '';
    try {
      s.action((d) => {
        const id = d.addNote(catalog, { category: 'verkeer', severity: 'aandacht', text: 'x' });
        try {
          d.setResident(id, { phone: 'geen', consent: true });
        } catch {
          // a form that ignores the refusal
        }
      });
    } catch (e) {
      code = (e as DocError).code;
    }
    expect(code).toBe('action_failed');
    expect(state(s)).toBe(before);
  });
});

describe('meedoen: joining a colleague’s walk', () => {
  it('the participant id is a UUID, the same for a user and walk, another for another user or walk', async () => {
    const a = await participantIdFor('boa-2', '11111111-1111-4111-8111-111111111111');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await participantIdFor('boa-2', '11111111-1111-4111-8111-111111111111')).toBe(a);
    expect(await participantIdFor('boa-3', '11111111-1111-4111-8111-111111111111')).not.toBe(a);
    expect(await participantIdFor('boa-2', '22222222-2222-4222-8222-222222222222')).not.toBe(a);
  });

  it('adds the user once; joining again adds nothing', async () => {
    const w = walk();
    const pid = await participantIdFor('boa-2', w.id);
    expect(w.action(joinWalkAction({ name: 'Sam' }, pid))).toBe(true);
    expect(w.walk().participants).toEqual([{ id: pid, name: 'Sam', organisation: '' }]);
    const heads = w.heads();
    expect(w.action(joinWalkAction({ name: 'Sam' }, pid))).toBe(false);
    expect(w.heads()).toEqual(heads);
  });

  it('someone the coordinator listed under the same name is not added again', async () => {
    const w = walk();
    w.action((d) => d.addParticipant('Sam de Boer', 'Handhaving'));
    expect(w.action(joinWalkAction({ name: ' sam de boer ' }, await participantIdFor('boa-2', w.id)))).toBe(false);
    expect(w.walk().participants.map((p) => p.name)).toEqual(['Sam de Boer']);
  });

  it('joining from two phones of the same user at once gives one participant after the merge', async () => {
    const base = walk();
    const saved = base.save();
    const phoneA = Doc.load(base.id, saved, [], 'boa-2');
    const phoneB = Doc.load(base.id, saved, [], 'boa-2');
    const pid = await participantIdFor('boa-2', base.id);
    phoneA.action(joinWalkAction({ name: 'Sam' }, pid));
    phoneB.action(joinWalkAction({ name: 'Sam' }, pid));
    expect(phoneA.heads()).not.toEqual(phoneB.heads());
    const merged = Doc.load(base.id, phoneA.save(), [phoneB.save()], 'boa-2');
    expect(merged.walk().participants).toEqual([{ id: pid, name: 'Sam', organisation: '' }]);
  });
});

describe('contact rules from the model', () => {
  it('accepts what people type and derives E.164', () => {
    expect(checkPhone('06.12.34.56.78')).toMatchObject({ valid: true, e164: '+31612345678' });
    expect(checkPhone('06 1234 5678 (na 17u)')).toMatchObject({ valid: true, e164: '+31612345678' });
    expect(checkPhone('035-5251234 / 06-12345678')).toMatchObject({ valid: true, e164: '+31355251234 +31612345678' });
    expect(checkPhone('+31 (0)6 1234 5678').e164).toBe('+31612345678');
    expect(checkPhone('')).toMatchObject({ valid: true, e164: null });
    expect(checkPhone('geen')).toMatchObject({ valid: false, code: 'invalid_phone' });
    expect(checkEmail('jan@example')).toEqual({ valid: true, code: null });
    expect(checkEmail('jan @example.nl')).toEqual({ valid: false, code: 'invalid_email' });
  });
});
