// Interop between the wasm document model and the official @automerge/automerge
// package (pinned in package.json): documents written by JS per the v1 contract
// load and project in Rust; documents written by Rust load and are edited in JS;
// concurrent JS and Rust edits of one text keep both.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";

import { WijkDoc, SyncState } from "./wasm.mjs";
import { syncUntilQuiet, sortedHeads } from "./sync.mjs";
import {
  JS_FIXTURE_DIR,
  WALK_DOC_ID,
  OBS_JEUGD,
  OBS_POSITIEF,
  PARTICIPANT,
  PLANNED_AT,
  STARTED_AT,
  OBS1_AT,
  OBS2_AT,
  DELETED_AT,
  FEEDBACK_AT,
  OBS1_TEXT,
  PHOTO,
  SPREEKUUR_DOC_ID,
  NOTE_OK,
  NOTE_BAD,
  NOTE_AT,
  CONSENT_AT,
  NOTE_TEXT,
  makeFixtures,
} from "./make-js-fixtures.mjs";

const CATALOG_ID = "9a1d5c7e-0b2f-4e3a-8c6d-1f2e3a4b5c6d";
const WALK_ID = "5e2b8c1d-7a3f-4d6e-9b0c-2a1f3e4d5c6b";
const BOA = "boa-17";
const T0 = 1767265200000; // 2026-01-01T11:00:00Z

const fixture = (name) => new Uint8Array(readFileSync(join(JS_FIXTURE_DIR, name)));

/** The rows both JS-written walks must project to (written out by hand from the fixture content). */
const EXPECTED_ROWS = [
  {
    doc_id: WALK_DOC_ID,
    doc_kind: "walk",
    item_id: OBS_JEUGD,
    wijk: "oostermeent",
    team: "team-oost",
    doc_title: "Avondronde Oostermeent",
    created_at: OBS1_AT,
    created_by: "boa-17",
    category: "jeugdoverlast",
    severity: "aandacht",
    text: OBS1_TEXT,
    place: "winkelcentrum Oostermeent",
    location: { lat: 53.1904, lon: 6.8803, accuracy_m: 8 },
    address: null,
    photos: [PHOTO],
    follow_up: {
      politie: { status: "open", note: "Wijkagent informeren", updated_at: OBS1_AT, updated_by: "boa-17" },
    },
    feedback: { needed: true, given_at: null, channel: null, by: null },
    deleted: null,
    resident: null,
    callback: null,
    invalid: {},
  },
  {
    doc_id: WALK_DOC_ID,
    doc_kind: "walk",
    item_id: OBS_POSITIEF,
    wijk: "oostermeent",
    team: "team-oost",
    doc_title: "Avondronde Oostermeent",
    created_at: OBS2_AT,
    created_by: "boa-17",
    category: "positief_signaal",
    severity: "informatief",
    text: "Bewoners ruimen zelf zwerfafval op",
    place: null,
    location: null,
    address: null,
    photos: [],
    follow_up: {},
    feedback: { needed: true, given_at: FEEDBACK_AT, channel: "telefoon", by: "boa-17" },
    deleted: { at: DELETED_AT, by: "boa-17" },
    resident: null,
    callback: null,
    invalid: {},
  },
];

function newCatalog() {
  return WijkDoc.newCatalog(CATALOG_ID, "admin-1");
}

function newWalk(catalog, text = "Fietsen op de stoep") {
  const walk = WijkDoc.newWalk(
    WALK_ID,
    catalog,
    BOA,
    { title: "Middagronde Centrum", wijk: "centrum", team: "team-centrum", planned_at: T0 },
    T0,
  );
  const obs = walk.addObservation(
    catalog,
    { category: "verkeer", severity: "zorgelijk", text, place: "Kerkstraat" },
    { at: T0 + 60_000 },
  );
  return { walk, obs };
}

test("the committed JS fixtures are exactly what the pinned @automerge/automerge writes", () => {
  for (const [name, bytes] of Object.entries(makeFixtures())) {
    assert.deepEqual(fixture(name), bytes, `${name}: regenerate with node tests/node/make-js-fixtures.mjs`);
  }
});

test("a walk written by JS per the contract (ImmutableString ids) loads and projects in wasm", () => {
  const walk = WijkDoc.load(WALK_DOC_ID, fixture("walk-contract.bin"));
  assert.equal(walk.kind(), "walk");
  assert.deepEqual(walk.project(), EXPECTED_ROWS);

  const view = walk.view();
  assert.equal(view.kind, "walk");
  assert.equal(view.schema, 1);
  assert.equal(view.route, "Winkelcentrum Oostermeent, de Roef, speeltuin");
  assert.equal(view.planned_at, PLANNED_AT);
  assert.equal(view.started_at, STARTED_AT);
  assert.equal(view.ended_at, null);
  assert.equal(view.created_by, "boa-17");
  assert.deepEqual(view.participants, {
    [PARTICIPANT]: { name: "Deelnemer Een", organisation: "Woningcorporatie" },
  });
  assert.equal(view.summary, "");
  assert.deepEqual(view.invalid, {});
});

test("a walk written by JS with plain strings (stored as Text) and plain numbers projects the same rows", () => {
  const walk = WijkDoc.load(WALK_DOC_ID, fixture("walk-plain.bin"));
  assert.equal(walk.kind(), "walk");
  assert.deepEqual(walk.project(), EXPECTED_ROWS);
  assert.deepEqual(walk.view().invalid, {}, "unknown extra fields are not errors");
});

test("a spreekuur written by JS loads in wasm; its malformed note is reported, not dropped", () => {
  const s = WijkDoc.load(SPREEKUUR_DOC_ID, fixture("spreekuur-contract.bin"));
  assert.equal(s.kind(), "spreekuur");
  const common = {
    doc_id: SPREEKUUR_DOC_ID,
    doc_kind: "spreekuur",
    wijk: "stad_en_lande",
    team: "team-oost",
    doc_title: "Buurthuis de Roef",
    created_by: "boa-17",
    place: null,
    location: null,
    address: null,
    photos: [],
    follow_up: {},
    deleted: null,
  };
  assert.deepEqual(s.project(), [
    {
      ...common,
      item_id: NOTE_OK,
      created_at: NOTE_AT,
      category: "woonoverlast",
      severity: "aandacht",
      text: NOTE_TEXT,
      feedback: { needed: true, given_at: null, channel: null, by: null },
      resident: { name: "Bewoner A", phone: "06 1234 5678", email: null, consent: true, consent_at: CONSENT_AT },
      callback: {
        requested: true, requested_at: null, requested_by: null, due_at: null, assignee: null,
        attempts: {}, done_at: null, by: null, outcome: null,
      },
      invalid: {},
    },
    {
      ...common,
      item_id: NOTE_BAD,
      created_at: null,
      category: "verkeer",
      severity: null,
      text: "Te hard gereden",
      feedback: { needed: false, given_at: null, channel: null, by: null },
      resident: null,
      callback: null,
      invalid: { created_at: "missing", severity: "unknown value", location: "expected map, found text" },
    },
  ]);
  const view = s.view();
  assert.deepEqual(view.staff, { "boa-17": { name: "Boa Zeventien" } });
  assert.deepEqual(view.invalid, {});

  // The well-formed note can be worked on in wasm: the call back is completed.
  s.setUser("boa-17");
  s.completeCallback(NOTE_OK, { at: NOTE_AT + 86_400_000 });
  const back = A.load(s.save());
  assert.equal(back.notes[NOTE_OK].callback.done_at.getTime(), NOTE_AT + 86_400_000);
  assert.equal(back.notes[NOTE_BAD].location, "bij de school", "the malformed value is kept as it was");
});

test("a JS-written walk can be edited in wasm and the unknown fields survive", () => {
  const catalog = newCatalog();
  const walk = WijkDoc.load(WALK_DOC_ID, fixture("walk-plain.bin"), BOA);
  // Plain-string `text` is Text, so it can be spliced; the emoji counts as 2 UTF-16 units.
  const emojiAt = OBS1_TEXT.indexOf("🎧");
  walk.spliceText(OBS_JEUGD, emojiAt + 2, 0, " (luid)", { at: T0 });
  walk.setSeverity(OBS_JEUGD, "urgent", { at: T0 });
  walk.setFollowUp(catalog, OBS_JEUGD, "jongerenwerk", "in_behandeling", "Contact gelegd", { at: T0 });

  const back = A.load(walk.save());
  assert.equal(back.weather, "regen");
  assert.deepEqual(back.observations[OBS_JEUGD].mood, { level: 3 });
  assert.equal(back.observations[OBS_JEUGD].text, OBS1_TEXT.replace("🎧", "🎧 (luid)"));
  assert.equal(back.observations[OBS_JEUGD].severity.toString(), "urgent");
  assert.equal(back.observations[OBS_JEUGD].follow_up.jongerenwerk.note, "Contact gelegd");
});

test("a walk written by wasm loads in JS with the contract's types and is edited there", () => {
  const catalog = newCatalog();
  const { walk, obs } = newWalk(catalog);

  let doc = A.load(walk.save());
  // Contract types as JS sees them: ids/enums are str (ImmutableString), free text is Text (string).
  assert.ok(A.isImmutableString(doc.kind));
  assert.equal(doc.kind.toString(), "walk");
  assert.equal(doc.schema, 1);
  assert.ok(A.isImmutableString(doc.wijk));
  assert.equal(typeof doc.title, "string");
  assert.equal(doc.title, "Middagronde Centrum");
  assert.ok(doc.planned_at instanceof Date);
  assert.equal(doc.planned_at.getTime(), T0);
  const o = doc.observations[obs];
  assert.equal(typeof o.text, "string");
  assert.ok(A.isImmutableString(o.category));
  assert.ok(A.isImmutableString(o.severity));
  assert.equal(o.created_at.getTime(), T0 + 60_000);
  assert.deepEqual(o.photos, []);
  assert.equal(o.feedback.needed, false);

  // A third-party client edits per the contract.
  const newObs = "6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f";
  doc = A.change(doc, (d) => {
    A.splice(d, ["observations", obs, "text"], 0, 0, "Veel ");
    d.observations[obs].severity = new A.ImmutableString("urgent");
    d.observations[obs].follow_up.politie = {
      status: new A.ImmutableString("open"),
      note: "Handhaving vragen",
      updated_at: new Date(T0 + 120_000),
      updated_by: new A.ImmutableString("js-client"),
    };
    d.observations[newObs] = {
      created_at: new Date(T0 + 180_000),
      created_by: new A.ImmutableString("js-client"),
      category: new A.ImmutableString("openbare_ruimte"),
      severity: new A.ImmutableString("aandacht"),
      text: "Lantaarnpaal kapot",
      photos: [],
      follow_up: {},
      feedback: { needed: false },
    };
    // Assigned field by field: @automerge/automerge 3.5.0 would store a Float64
    // nested in an object literal as a map {value}.
    d.observations[newObs].location = {};
    d.observations[newObs].location.lat = new A.Float64(53.19);
    d.observations[newObs].location.lon = new A.Float64(6.88);
    d.observations[newObs].location.accuracy_m = new A.Float64(12);
  });

  const edited = WijkDoc.load(WALK_ID, A.save(doc));
  const rows = Object.fromEntries(edited.project().map((r) => [r.item_id, r]));
  assert.equal(Object.keys(rows).length, 2);
  assert.equal(rows[obs].text, "Veel Fietsen op de stoep");
  assert.equal(rows[obs].severity, "urgent");
  assert.deepEqual(rows[obs].follow_up.politie, {
    status: "open",
    note: "Handhaving vragen",
    updated_at: T0 + 120_000,
    updated_by: "js-client",
  });
  assert.deepEqual(rows[obs].invalid, {});
  assert.equal(rows[newObs].text, "Lantaarnpaal kapot");
  assert.equal(rows[newObs].created_by, "js-client");
  assert.deepEqual(rows[newObs].location, { lat: 53.19, lon: 6.88, accuracy_m: 12 });
  assert.deepEqual(rows[newObs].invalid, {});
});

test("concurrent JS and wasm edits of one text merge with both kept (sync messages)", () => {
  const catalog = newCatalog();
  const { walk, obs } = newWalk(catalog);
  let js = A.load(walk.save());

  walk.spliceText(obs, "Fietsen op de stoep".length, 0, " bij de school", { at: T0 + 1000 });
  js = A.change(js, (d) => A.splice(d, ["observations", obs, "text"], 0, 0, "Veel "));

  const wstate = new SyncState();
  ({ jdoc: js } = syncUntilQuiet(walk, wstate, js, A.initSyncState()));

  const expected = "Veel Fietsen op de stoep bij de school";
  assert.equal(js.observations[obs].text, expected);
  assert.equal(walk.project()[0].text, expected);
  assert.deepEqual(sortedHeads(walk.heads()), sortedHeads(A.getHeads(js)));
});

test("concurrent JS and wasm edits around an emoji merge with both kept (save / loadIncremental)", () => {
  const catalog = newCatalog();
  const start = "Café 👍 dicht";
  const { walk, obs } = newWalk(catalog, start);
  let js = A.load(walk.save());

  // Both sides count UTF-16 code units: "Café 👍" is 7 units long.
  walk.spliceText(obs, 7, 0, "!", { at: T0 + 1000 });
  js = A.change(js, (d) => A.splice(d, ["observations", obs, "text"], 0, 0, "Nu "));

  const fromWasm = walk.save();
  walk.loadIncremental(A.save(js));
  js = A.loadIncremental(js, fromWasm);

  const expected = "Nu Café 👍! dicht";
  assert.equal(walk.project()[0].text, expected);
  assert.equal(js.observations[obs].text, expected);
  assert.deepEqual(sortedHeads(walk.heads()), sortedHeads(A.getHeads(js)));
});
