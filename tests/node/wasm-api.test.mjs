// Behaviour that belongs to the wasm binding itself (the model's edits are
// covered by wasm-fixtures.test.mjs): JS shapes in and out, UTF-16 text
// positions, errors with a `code`, who/when of edits, bytes and heads.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as A from "@automerge/automerge";

import { WijkDoc, SyncState, thrown } from "./wasm.mjs";

const CATALOG_ID = "9a1d5c7e-0b2f-4e3a-8c6d-1f2e3a4b5c6d";
const WALK_ID = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901";
const SPREEKUUR_ID = "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12";
const BOA = "boa-17";
const T0 = 1767265200000;

function setup(text = "") {
  const catalog = WijkDoc.newCatalog(CATALOG_ID, "admin-1");
  const walk = WijkDoc.newWalk(WALK_ID, catalog, BOA, { title: "Ronde", wijk: "centrum", team: "team-centrum" }, T0);
  const obs = walk.addObservation(catalog, { category: "verkeer", severity: "aandacht", text }, { at: T0 + 1 });
  const textOf = () => walk.view().observations[obs].text;
  return { catalog, walk, obs, textOf };
}

test("spliceText counts UTF-16 code units like JS strings (accents and emoji)", () => {
  const start = "Café 👍 ok";
  const { walk, obs, textOf } = setup(start);

  // After "Café" (é is one UTF-16 unit in NFC).
  walk.spliceText(obs, "Café".length, 0, "s");
  assert.equal(textOf(), "Cafés 👍 ok");
  // Delete the emoji: two UTF-16 units.
  const at = textOf().indexOf("👍");
  walk.spliceText(obs, at, 2, "🎉");
  assert.equal(textOf(), "Cafés 🎉 ok");
  // Insert right after the emoji, at a JS index.
  const after = textOf().indexOf("🎉") + "🎉".length;
  walk.spliceText(obs, after, 0, "!");
  assert.equal(textOf(), "Cafés 🎉! ok");
  // A decomposed accent (e + U+0301) is two units, like in JS.
  walk.spliceText(obs, 0, 0, "e\u0301");
  walk.spliceText(obs, 2, 0, "-");
  assert.equal(textOf(), "e\u0301-Cafés 🎉! ok");
  assert.equal(textOf().length, "e\u0301-Cafés 🎉! ok".length);
});

test("a splice position inside a surrogate pair is refused and changes nothing", () => {
  const { walk, obs, textOf } = setup("a👍b");
  const heads = walk.heads();
  const e1 = thrown(() => walk.spliceText(obs, 2, 0, "x"));
  assert.equal(e1.code, "text_position_inside_character");
  const e2 = thrown(() => walk.spliceText(obs, 0, 2, ""));
  assert.equal(e2.code, "text_position_inside_character");
  assert.equal(textOf(), "a👍b");
  assert.deepEqual(walk.heads(), heads);
});

test("a splice past the end of the text is refused with text_out_of_range", () => {
  const { walk, obs } = setup("abc");
  assert.equal(thrown(() => walk.spliceText(obs, 4, 0, "x")).code, "text_out_of_range");
  assert.equal(thrown(() => walk.spliceText(obs, 1, 3, "")).code, "text_out_of_range");
});

test("spliceWalkText and spliceFollowUpNote use UTF-16 positions too", () => {
  const { catalog, walk, obs } = setup();
  walk.spliceWalkText("summary", 0, 0, "Rustig 😊 verlopen");
  walk.spliceWalkText("summary", "Rustig 😊".length, 0, ",");
  assert.equal(walk.view().summary, "Rustig 😊, verlopen");
  assert.equal(thrown(() => walk.spliceWalkText("summary", 8, 0, "x")).code, "text_position_inside_character");
  assert.equal(thrown(() => walk.spliceWalkText("weather", 0, 0, "x")).code, "invalid_argument");

  walk.setFollowUp(catalog, obs, "politie", "open", "👮 bellen");
  walk.spliceFollowUpNote(obs, "politie", 2, 0, " morgen");
  assert.equal(walk.view().observations[obs].follow_up.politie.note, "👮 morgen bellen");
});

test("edits validate against the catalog as it is now, also after it changed by sync or incremental load", () => {
  const { catalog, walk } = setup();
  walk.addObservation(catalog, { category: "drugs", severity: "aandacht" }, { at: T0 + 2 });
  catalog.heads(); // reading heads or saving does not change what the catalog says
  catalog.save();

  // An admin elsewhere retires "drugs"; the change arrives as incremental bytes.
  const admin = WijkDoc.load(CATALOG_ID, catalog.save(), "admin-2");
  admin.retireCategory("drugs", { at: T0 + 3 });
  catalog.loadIncremental(admin.saveIncremental());
  const e = thrown(() => walk.addObservation(catalog, { category: "drugs", severity: "aandacht" }, { at: T0 + 4 }));
  assert.equal(e.code, "retired_category");

  // A local catalog edit is seen at once too.
  catalog.addCategory({ id: "graffiti", label: "Graffiti", color: "#123456" }, { at: T0 + 5 });
  const id = walk.addObservation(catalog, { category: "graffiti", severity: "informatief" }, { at: T0 + 6 });
  assert.equal(walk.view().observations[id].category, "graffiti");
});

test("errors are JS Errors with a stable code and a sentence", () => {
  const { catalog, walk, obs } = setup();
  const e = thrown(() => walk.setCategory(catalog, obs, "graffiti"));
  assert.ok(e instanceof Error);
  assert.equal(e.name, "WijklogError");
  assert.equal(e.code, "unknown_category");
  assert.match(e.message, /graffiti/);

  assert.equal(thrown(() => WijkDoc.newCatalog("not-a-uuid")).code, "invalid_doc_id");
  assert.equal(thrown(() => walk.spliceText("nope", 0, 0, "x")).code, "invalid_item_id");
  assert.equal(thrown(() => walk.setSeverity(obs, "Urgent")).code, "invalid_severity");
  assert.equal(
    thrown(() => walk.addObservation(catalog, { category: "verkeer" })).code,
    "invalid_argument",
    "severity is required",
  );
  assert.equal(
    thrown(() => walk.addObservation(catalog, { category: "verkeer", severity: "aandacht", colour: "red" })).code,
    "invalid_argument",
    "unknown fields are refused",
  );
  assert.equal(thrown(() => walk.addNote(catalog, { category: "verkeer", severity: "aandacht" })).code, "wrong_kind");
  assert.equal(
    thrown(() => walk.addObservation(walk, { category: "verkeer", severity: "aandacht" })).code,
    undefined,
    "passing the walk as its own catalog is refused by wasm-bindgen's borrow check",
  );
  assert.equal(thrown(() => WijkDoc.load(WALK_ID, new Uint8Array([1, 2, 3]))).code, "invalid_bytes");
  assert.equal(thrown(() => walk.pendingChanges(["abc"])).code, "invalid_heads");
  assert.equal(thrown(() => walk.setUser(" boa")).code, "invalid_user_id");
  assert.equal(thrown(() => walk.startWalk({ at: 1.5 })).code, "invalid_argument");
});

test("null or undefined properties of an argument object count as absent", () => {
  const { catalog, walk } = setup();
  const id = walk.addObservation(
    catalog,
    { category: "verkeer", severity: "aandacht", text: undefined, place: null, location: undefined, id: null },
    { at: T0 + 2, by: undefined },
  );
  const o = walk.view().observations[id];
  assert.equal(o.text, "");
  assert.equal(o.place, null);
  assert.equal(o.location, null);
  assert.equal(o.created_by, BOA);
});

test("a document without a Wijklog root kind loads but kind/view/project refuse it", () => {
  const foreign = A.save(A.from({ hello: "world" }));
  const doc = WijkDoc.load(WALK_ID, foreign);
  assert.equal(thrown(() => doc.kind()).code, "invalid_document");
  assert.equal(thrown(() => doc.view()).code, "invalid_document");
  assert.equal(thrown(() => doc.project()).code, "invalid_document");
});

test("edits are made by the document's user at Date.now() unless opts say otherwise", () => {
  const { catalog, walk } = setup();
  const before = Date.now();
  const a = walk.addObservation(catalog, { category: "drugs", severity: "urgent" });
  const after = Date.now();
  const b = walk.addObservation(catalog, { category: "drugs", severity: "urgent" }, { by: "boa-42", at: T0 + 5 });
  const v = walk.view();
  assert.equal(v.observations[a].created_by, BOA);
  assert.ok(v.observations[a].created_at >= before && v.observations[a].created_at <= after);
  assert.equal(v.observations[b].created_by, "boa-42");
  assert.equal(v.observations[b].created_at, T0 + 5);

  const loaded = WijkDoc.load(WALK_ID, walk.save());
  assert.equal(loaded.user, undefined);
  assert.equal(thrown(() => loaded.deleteItem(a)).code, "no_user");
  loaded.setUser("coordinator-1");
  loaded.deleteItem(a, { at: T0 + 9 });
  assert.deepEqual(loaded.view().observations[a].deleted, { at: T0 + 9, by: "coordinator-1" });
});

test("view and project return plain JSON-compatible objects", () => {
  const { walk, obs } = setup("tekst");
  const v = walk.view();
  assert.equal(Object.getPrototypeOf(v.observations), Object.prototype);
  assert.equal(Object.getPrototypeOf(v.observations[obs].follow_up), Object.prototype);
  assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  const rows = walk.project();
  assert.ok(Array.isArray(rows));
  assert.deepEqual(JSON.parse(JSON.stringify(rows)), rows);
  assert.equal(rows[0].location, null);
  assert.equal(rows[0].doc_id, WALK_ID);
});

test("saveIncremental carries only new changes and loadIncremental applies them", () => {
  const { catalog, walk } = setup("één");
  const replica = WijkDoc.load(WALK_ID, walk.save(), "boa-2");
  assert.equal(walk.saveIncremental().length, 0, "nothing new since save()");

  walk.addObservation(catalog, { category: "brandjes", severity: "urgent", text: "Container" }, { at: T0 + 3 });
  const inc = walk.saveIncremental();
  assert.ok(inc.length > 0 && inc.length < walk.save().length);
  assert.ok(replica.loadIncremental(inc) > 0);
  assert.deepEqual(replica.project(), walk.project());
  assert.deepEqual(replica.heads(), walk.heads());
});

test("concatenated saveIncremental chunks load as a document; empty bytes give an empty document", () => {
  const { catalog, walk } = setup("eerste");
  const chunks = [walk.saveIncremental()];
  walk.addObservation(catalog, { category: "drugs", severity: "zorgelijk", text: "tweede" }, { at: T0 + 4 });
  chunks.push(walk.saveIncremental());
  walk.startWalk({ at: T0 + 5 });
  chunks.push(walk.saveIncremental());
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  const loaded = WijkDoc.load(WALK_ID, all);
  assert.deepEqual(loaded.heads(), walk.heads());
  assert.deepEqual(loaded.project(), walk.project());
  assert.equal(loaded.view().started_at, T0 + 5);

  const empty = WijkDoc.load(WALK_ID, new Uint8Array(0), BOA);
  assert.deepEqual(empty.heads(), []);
  assert.equal(thrown(() => empty.kind()).code, "invalid_document");
  empty.loadIncremental(walk.save());
  assert.equal(empty.kind(), "walk");
  assert.deepEqual(empty.project(), walk.project());
});

test("pendingChanges counts this actor's changes not covered by acked heads", () => {
  const { catalog, walk } = setup();
  // newWalk and addObservation: two local changes, nothing acked.
  assert.equal(walk.pendingChanges([]), 2);
  const acked = walk.heads();
  assert.equal(walk.pendingChanges(acked), 0);
  walk.addObservation(catalog, { category: "verkeer", severity: "urgent" }, { at: T0 + 7 });
  assert.equal(walk.pendingChanges(acked), 1);

  // Changes from another replica are not pending here.
  const other = WijkDoc.load(WALK_ID, walk.save(), "boa-2");
  other.addObservation(catalog, { category: "drugs", severity: "urgent" }, { at: T0 + 8 });
  walk.merge(other);
  assert.equal(walk.pendingChanges(acked), 1);

  // After a reload the actor is new; restoring the persisted actor id restores the count.
  const actor = walk.actorId();
  const reloaded = WijkDoc.load(WALK_ID, walk.save(), BOA);
  assert.equal(reloaded.pendingChanges(acked), 0);
  reloaded.setActorId(actor);
  assert.equal(reloaded.actorId(), actor);
  assert.equal(reloaded.pendingChanges(acked), 1);
  assert.equal(thrown(() => reloaded.setActorId("xyz")).code, "invalid_actor");
});

test("a spreekuur session: notes, consent-guarded resident contact and call back", () => {
  const catalog = WijkDoc.newCatalog(CATALOG_ID, "admin-1");
  const s = WijkDoc.newSpreekuur(
    SPREEKUUR_ID,
    catalog,
    BOA,
    { location: "Buurthuis de Roef", wijk: "stad_en_lande", held_on: T0, team: "team-oost" },
    T0,
  );
  assert.equal(s.kind(), "spreekuur");
  const note = s.addNote(catalog, { category: "woonoverlast", severity: "aandacht", text: "Geluid" }, { at: T0 + 1 });
  assert.equal(
    thrown(() => s.setResidentContact(note, { name: "Bewoner", consent: false })).code,
    "consent_required",
  );
  s.setResidentContact(note, { phone: "06 1234 5678", consent: true }, { at: T0 + 2 });
  s.requestCallback(catalog, note, undefined, { at: T0 + 3 });
  const attempt = s.logCallbackAttempt(note, { outcome: "voicemail", note: " Ingesproken " }, { at: T0 + 4 });
  assert.equal(thrown(() => s.logCallbackAttempt(note, { outcome: "gebeld" })).code, "invalid_argument");
  assert.equal(thrown(() => s.closeCallback(note, "klaar")).code, "invalid_callback_outcome");
  assert.equal(thrown(() => s.assignCallback(note, " ")).code, "invalid_user_id");
  s.closeCallback(note, "gesproken", { at: T0 + 5 });
  assert.equal(thrown(() => s.logCallbackAttempt(note, { outcome: "bereikt" })).code, "callback_closed");
  const row = s.project()[0];
  assert.equal(row.doc_kind, "spreekuur");
  assert.equal(row.doc_title, "Buurthuis de Roef");
  assert.deepEqual(row.resident, { name: null, phone: "06 1234 5678", phone_e164: "+31612345678", email: null, consent: true, consent_at: T0 + 2 });
  // T0 is Thursday 1 January 2026 11:00 UTC: 5 working days later is Thursday 8 January.
  assert.deepEqual(row.callback, {
    requested: true,
    requested_at: T0 + 3,
    requested_by: BOA,
    due_at: T0 + 3 + 7 * 86_400_000,
    assignee: null,
    attempts: { [attempt]: { at: T0 + 4, by: BOA, outcome: "voicemail", note: "Ingesproken" } },
    done_at: T0 + 5,
    by: BOA,
    outcome: "gesproken",
  });
});

test("corrupted documents, changes and sync messages are refused with a code, never a wasm trap", () => {
  const { catalog, walk } = setup("tekst");
  for (let i = 0; i < 4; i++) {
    walk.addObservation(catalog, { category: "verkeer", severity: "aandacht", text: `w ${i}` }, { at: T0 + i });
  }
  const saved = walk.save();
  // A sync message that carries changes: exchange heads first.
  const peer = WijkDoc.load(WALK_ID, new Uint8Array(0));
  const [sw, sp] = [new SyncState(), new SyncState()];
  peer.receiveSyncMessage(sp, walk.generateSyncMessage(sw));
  walk.receiveSyncMessage(sw, peer.generateSyncMessage(sp));
  const message = walk.generateSyncMessage(sw);
  peer.free();

  let seed = 20260101; // deterministic pseudo-random bit flips
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const flip = (bytes) => {
    const b = bytes.slice();
    for (let j = 0; j <= rnd(3); j++) b[rnd(b.length)] ^= 1 << rnd(8);
    return b;
  };
  const codes = new Set();
  const attempt = (f) => {
    try {
      f();
    } catch (e) {
      assert.equal(typeof e.code, "string", `not a model error: ${e}`);
      codes.add(e.code);
    }
  };
  for (let i = 0; i < 150; i++) {
    attempt(() => WijkDoc.load(WALK_ID, flip(saved)).project());
    attempt(() => WijkDoc.load(WALK_ID, saved.slice(0, rnd(saved.length))).heads());
    attempt(() => WijkDoc.load(WALK_ID, new Uint8Array(0)).loadIncremental(flip(saved)));
    attempt(() => {
      const d = WijkDoc.load(WALK_ID, new Uint8Array(0));
      const s = new SyncState();
      d.receiveSyncMessage(s, flip(message));
      d.generateSyncMessage(s);
    });
  }
  assert.ok(codes.has("invalid_bytes") && codes.has("invalid_change"), [...codes].join(", "));
  // The module still works afterwards.
  assert.equal(WijkDoc.load(WALK_ID, saved).project().length, 5);
});

test("an action commits all its edits as one change, or none; saving and sync wait for it", () => {
  const catalog = WijkDoc.newCatalog(CATALOG_ID, "admin-1");
  const s = WijkDoc.newSpreekuur(SPREEKUUR_ID, catalog, BOA, { location: "Buurthuis", wijk: "centrum", held_on: T0, team: "team-oost" }, T0);
  const heads = s.heads();
  s.beginAction();
  const note = s.addNote(catalog, { category: "woonoverlast", severity: "aandacht", text: "Lawaai" }, { at: T0 + 1 });
  assert.equal(thrown(() => s.saveIncremental()).code, "action_open");
  assert.equal(thrown(() => s.beginAction()).code, "action_open");
  // A refused edit fails the whole action, even when the caller ignores it.
  assert.equal(thrown(() => s.setResidentContact(note, { phone: "geen", consent: true })).code, "invalid_phone");
  assert.equal(thrown(() => s.commitAction()).code, "action_failed");
  assert.equal(s.inAction(), false);
  assert.deepEqual(s.heads(), heads);
  assert.equal(s.project().length, 0);

  s.beginAction();
  const n2 = s.addNote(catalog, { category: "woonoverlast", severity: "aandacht", text: "Lawaai" }, { at: T0 + 2 });
  s.setResidentContact(n2, { phone: "06.12.34.56.78", email: "jan@example", consent: true }, { at: T0 + 2 });
  s.requestCallback(catalog, n2, undefined, { at: T0 + 2 });
  s.commitAction({ at: T0 + 2 });
  assert.equal(s.heads().length, 1);
  assert.notDeepEqual(s.heads(), heads);
  const row = s.project()[0];
  assert.equal(row.resident.phone_e164, "+31612345678");
  assert.equal(row.resident.email, "jan@example");
  assert.equal(row.callback.requested, true);

  // abortAction drops everything of the open action.
  const before = s.heads();
  s.beginAction();
  s.addNote(catalog, { category: "verkeer", severity: "aandacht", text: "weg" });
  s.abortAction();
  assert.deepEqual(s.heads(), before);
  assert.equal(s.project().length, 1);
  assert.equal(thrown(() => s.commitAction()).code, "no_action");
});
