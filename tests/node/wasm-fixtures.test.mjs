// Runs every fixture in shared/fixtures/*.json against the wasm build: the same
// files, with the same semantics, as the native runner shared/tests/fixtures.rs
// (format: shared/fixtures/README.md). One fixture set, two runners.
//
// A step is { doc, step, args?, by? ("fixture"), at? (0), error?, returns? }.
// Steps are the camelCase edit names; `by`/`at` go to the edit's `opts`.
// `expect.<doc>.project` must match the rows exactly, `expect.<doc>.view` is a
// subset match (every expected key present and equal).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { WijkDoc } from "./wasm.mjs";

const FIXTURE_DIR = fileURLToPath(new URL("../../shared/fixtures/", import.meta.url));
const files = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

/** Steps whose first argument is the catalog document named "catalog". */
const WITH_CATALOG = new Set(["addObservation", "addNote", "setCategory", "setFollowUp", "requestCallback"]);

/** The positional arguments of each edit, taken from the step's `args`. */
const ARGS = {
  startWalk: () => [],
  endWalk: () => [],
  addParticipant: (a) => [a.init],
  spliceWalkText: (a) => [a.field, a.pos, a.del, a.text],
  addObservation: (a) => [a.init],
  addNote: (a) => [a.init],
  addStaff: (a) => [a.user, a.name],
  setResidentContact: (a) => [a.item, a.contact],
  clearResidentContact: (a) => [a.item],
  withdrawResidentConsent: (a) => [a.item],
  requestCallback: (a) => [a.item, a.request ?? undefined],
  completeCallback: (a) => [a.item],
  setCallbackDue: (a) => [a.item, a.due_at],
  assignCallback: (a) => [a.item, a.assignee ?? null],
  logCallbackAttempt: (a) => [a.item, a.attempt],
  closeCallback: (a) => [a.item, a.outcome ?? null],
  spliceText: (a) => [a.item, a.pos, a.del, a.text],
  setCategory: (a) => [a.item, a.category],
  setSeverity: (a) => [a.item, a.severity],
  setLocation: (a) => [a.item, a.location ?? null],
  setPlace: (a) => [a.item, a.place ?? null],
  addPhoto: (a) => [a.item, a.photo],
  deleteItem: (a) => [a.item],
  undeleteItem: (a) => [a.item],
  setFollowUp: (a) => [a.item, a.partner, a.status, a.note ?? undefined],
  spliceFollowUpNote: (a) => [a.item, a.partner, a.pos, a.del, a.text],
  setFeedbackNeeded: (a) => [a.item, a.needed],
  recordFeedbackGiven: (a) => [a.item, a.channel, a.given_at],
  addCategory: (a) => [a.category],
  renameCategory: (a) => [a.id, a.label],
  setCategoryColor: (a) => [a.id, a.color],
  setCategoryCallbackDays: (a) => [a.id, a.days],
  retireCategory: (a) => [a.id],
  addPartner: (a) => [a.id, a.label],
  renamePartner: (a) => [a.id, a.label],
  retirePartner: (a) => [a.id],
  addWijk: (a) => [a.id, a.label, a.bbox ?? null],
  renameWijk: (a) => [a.id, a.label],
  retireWijk: (a) => [a.id],
};

function catalogOf(docs) {
  const c = docs.get("catalog");
  if (!c) throw new Error('a step needs the doc named "catalog"');
  return c;
}

/** Applies one step; returns the id for steps that return one. */
function apply(docs, step) {
  const name = step.step;
  const target = step.doc;
  const args = step.args ?? {};
  const by = step.by ?? "fixture";
  const at = step.at ?? 0;

  switch (name) {
    case "newCatalog":
      docs.set(target, WijkDoc.newCatalog(args.id));
      return undefined;
    case "newWalk":
      docs.set(target, WijkDoc.newWalk(args.id, catalogOf(docs), by, args.init, at));
      return undefined;
    case "newSpreekuur":
      docs.set(target, WijkDoc.newSpreekuur(args.id, catalogOf(docs), by, args.init, at));
      return undefined;
    case "load": {
      const source = docs.get(args.from);
      docs.set(target, WijkDoc.load(source.id, source.save()));
      return undefined;
    }
    case "merge":
      docs.get(target).merge(docs.get(args.from));
      return undefined;
  }

  const positional = ARGS[name];
  if (!positional) throw new Error(`unknown step ${name}`);
  const doc = docs.get(target);
  if (!doc) throw new Error(`no doc named ${target}`);
  const callArgs = positional(args);
  if (WITH_CATALOG.has(name)) callArgs.unshift(catalogOf(docs));
  return doc[name](...callArgs, { by, at });
}

/**
 * Like the native matcher: objects match key by key (extra actual keys are an
 * error unless `subset`), arrays element-wise with equal length, everything
 * else by strict equality.
 */
export function matches(expected, actual, subset, path, errors) {
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(expected) && isObj(actual)) {
    for (const [k, ev] of Object.entries(expected)) {
      if (k in actual) matches(ev, actual[k], subset, `${path}.${k}`, errors);
      else errors.push(`${path}.${k}: missing in actual`);
    }
    if (!subset) {
      for (const k of Object.keys(actual)) {
        if (!(k in expected)) errors.push(`${path}.${k}: not expected (actual ${JSON.stringify(actual[k])})`);
      }
    }
  } else if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      errors.push(`${path}: expected ${expected.length} elements, found ${actual.length}`);
    }
    expected.forEach((ev, i) => {
      if (i < actual.length) matches(ev, actual[i], subset, `${path}[${i}]`, errors);
    });
  } else if (expected !== actual) {
    errors.push(`${path}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
  }
}

function run(fixture) {
  const docs = new Map();
  const errors = [];
  fixture.steps.forEach((step, i) => {
    const label = `step ${i} (${step.step})`;
    let returned;
    let error;
    try {
      returned = apply(docs, step);
    } catch (e) {
      if (typeof e?.code !== "string") throw e; // not a model error: a runner or binding bug
      error = e;
    }
    if (step.error !== undefined) {
      if (!error) errors.push(`${label}: expected error ${step.error}, got success`);
      else if (error.code !== step.error) errors.push(`${label}: expected error ${step.error}, got ${error.code}`);
    } else if (error) {
      errors.push(`${label}: unexpected error ${error.code} (${error.message})`);
    } else if (typeof step.returns === "string" && returned !== step.returns) {
      errors.push(`${label}: returned ${returned}, expected ${step.returns}`);
    }
  });
  for (const [name, expect] of Object.entries(fixture.expect)) {
    const doc = docs.get(name);
    if (!doc) throw new Error(`no doc named ${name}`);
    if (expect.project !== undefined) matches(expect.project, doc.project(), false, `${name}.project`, errors);
    if (expect.view !== undefined) matches(expect.view, doc.view(), true, `${name}.view`, errors);
  }
  for (const d of docs.values()) d.free();
  return errors;
}

test("the shared fixture set is present", () => {
  assert.ok(files.length >= 4, `fixtures found: ${files.join(", ")}`);
});

for (const file of files) {
  test(`fixture ${file} passes in wasm`, () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURE_DIR, file), "utf8"));
    assert.deepEqual(run(fixture), []);
  });
}

test("the matcher reports differences", () => {
  const errors = [];
  matches({ a: 1, b: [1, 2], c: { d: "x" } }, { a: 1, b: [1], c: { d: "y" }, extra: true }, false, "$", errors);
  assert.deepEqual(errors, [
    "$.b: expected 2 elements, found 1",
    '$.c.d: expected "x", found "y"',
    "$.extra: not expected (actual true)",
  ]);
  const none = [];
  matches({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2], z: 0 }, true, "$", none);
  assert.deepEqual(none, []);
});
