// Writes the documents that the official @automerge/automerge package (the version
// pinned in package.json) produces for the v1 contract, as saved bytes, into
// shared/fixtures/js/. The native Rust test shared/tests/js_written.rs and
// interop.test.mjs load them.
//
//   node tests/node/make-js-fixtures.mjs          write the files
//   node tests/node/make-js-fixtures.mjs --check  exit 1 if the committed files differ
//
// The bytes are deterministic: fixed actor ids, fixed change times, fixed content.
// Two walks with the same content:
//   walk-contract.bin  ids and enumerations as ImmutableString (stored as str),
//                      floats as Float64, free text as Text: exactly the contract.
//   walk-plain.bin     plain JS strings everywhere (3.x stores them as Text) and
//                      plain numbers (whole numbers become ints), plus unknown extra
//                      fields: what a naive third-party client writes.
//   spreekuur-contract.bin  a session per the contract with one well-formed note
//                      and one malformed note (must be read, not dropped).
// All content is invented; it names no real person.

import * as A from "@automerge/automerge";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const JS_FIXTURE_DIR = join(here, "..", "..", "shared", "fixtures", "js");

/** The document ids the fixtures are loaded under (not stored in the documents). */
export const WALK_DOC_ID = "3f6c1b9e-8d2a-4e57-9b1c-0a4d7e2f5c81";

/** Item ids, shared with the assertions of the Rust and JS tests. */
export const OBS_JEUGD = "0b7e5c2a-4f1d-4a9e-8c3b-6d2f1e0a9b11";
export const OBS_POSITIEF = "1c8f6d3b-5a2e-4b0f-9d4c-7e3a2f1b0c22";
export const PARTICIPANT = "2d9a7e4c-6b3f-4c1a-8e5d-8f4b3a2c1d33";

// Fixed timestamps (ms since the epoch, UTC).
export const PLANNED_AT = 1767265200000; // 2026-01-01T11:00:00Z
export const STARTED_AT = 1767265500000;
export const OBS1_AT = 1767266100000;
export const OBS2_AT = 1767266400000;
export const DELETED_AT = 1767267000000;
export const FEEDBACK_AT = 1767870000000;

export const OBS1_TEXT = "Groep jongeren bij de bank, muziek 🎧 en geluidsoverlast bij het café";
export const PHOTO = "sha256:" + "ab".repeat(32);

const ACTOR_CONTRACT = "aa".repeat(16);
const ACTOR_PLAIN = "bb".repeat(16);
const CHANGE_TIME = 1767265200; // seconds, advisory only

/** Builds the walk. `s` wraps ids/enums, `f` wraps floats, `extra` adds unknown fields. */
function walkContent({ s, f, extra }) {
  const root = {
    kind: s("walk"),
    schema: 1,
    title: "Avondronde Oostermeent",
    wijk: s("oostermeent"),
    route: "Winkelcentrum Oostermeent, de Roef, speeltuin",
    planned_at: new Date(PLANNED_AT),
    started_at: new Date(STARTED_AT),
    team: s("team-oost"),
    created_by: s("boa-17"),
    participants: {
      [PARTICIPANT]: { name: s("Deelnemer Een"), organisation: s("Woningcorporatie") },
    },
    observations: {
      [OBS_JEUGD]: {
        created_at: new Date(OBS1_AT),
        created_by: s("boa-17"),
        category: s("jeugdoverlast"),
        severity: s("aandacht"),
        text: OBS1_TEXT,
        location: { lat: f(53.1904), lon: f(6.8803), accuracy_m: f(8) },
        place: s("winkelcentrum Oostermeent"),
        photos: [s(PHOTO)],
        follow_up: {
          politie: {
            status: s("open"),
            note: "Wijkagent informeren",
            updated_at: new Date(OBS1_AT),
            updated_by: s("boa-17"),
          },
        },
        feedback: { needed: true },
      },
      [OBS_POSITIEF]: {
        created_at: new Date(OBS2_AT),
        created_by: s("boa-17"),
        category: s("positief_signaal"),
        severity: s("informatief"),
        text: "Bewoners ruimen zelf zwerfafval op",
        photos: [],
        follow_up: {},
        feedback: {
          needed: true,
          given_at: new Date(FEEDBACK_AT),
          channel: s("telefoon"),
          by: s("boa-17"),
        },
        deleted: { at: new Date(DELETED_AT), by: s("boa-17") },
      },
    },
    summary: "",
  };
  if (extra) {
    root.weather = "regen";
    root.observations[OBS_JEUGD].mood = { level: 3 };
  }
  return root;
}

export const SPREEKUUR_DOC_ID = "4a7d2c0f-9e3b-4f68-8c2d-1b5e8f3a6d92";
export const NOTE_OK = "5b8e3d1a-0f4c-4a79-9d3e-2c6f9a4b7e03";
export const NOTE_BAD = "6c9f4e2b-1a5d-4b8a-8e4f-3d7a0b5c8f14";
export const STAFF = "boa-17";
export const HELD_ON = 1767348000000; // 2026-01-02T10:00:00Z
export const NOTE_AT = 1767349800000;
export const CONSENT_AT = 1767349900000;
export const NOTE_TEXT = "Bewoner meldt overlast van brommers 's avonds";

/**
 * A spreekuur session per the contract (ImmutableString ids and enums), with one
 * well-formed note (resident contact with consent, call back requested) and one
 * malformed note: an unknown severity, a location that is text, no created_at.
 */
function buildSpreekuur() {
  const s = (v) => new A.ImmutableString(v);
  let doc = A.init({ actor: "cc".repeat(16) });
  doc = A.change(doc, { time: CHANGE_TIME, message: "create spreekuur" }, (d) => {
    d.kind = s("spreekuur");
    d.schema = 1;
    d.location = s("Buurthuis de Roef");
    d.wijk = s("stad_en_lande");
    d.held_on = new Date(HELD_ON);
    d.team = s("team-oost");
    d.created_by = s(STAFF);
    d.staff = { [STAFF]: { name: s("Boa Zeventien") } };
    d.notes = {};
  });
  doc = A.change(doc, { time: CHANGE_TIME + 60, message: "notes" }, (d) => {
    d.notes[NOTE_OK] = {
      created_at: new Date(NOTE_AT),
      created_by: s(STAFF),
      category: s("woonoverlast"),
      severity: s("aandacht"),
      text: NOTE_TEXT,
      photos: [],
      follow_up: {},
      feedback: { needed: true },
      resident: { name: s("Bewoner A"), phone: s("06 1234 5678"), consent: true, consent_at: new Date(CONSENT_AT) },
      callback: { requested: true },
    };
    d.notes[NOTE_BAD] = {
      created_by: s(STAFF),
      category: s("verkeer"),
      severity: s("kritiek"),
      text: "Te hard gereden",
      location: "bij de school",
      photos: [],
      follow_up: {},
      feedback: { needed: false },
    };
  });
  return doc;
}

/** Creates the document in two changes (root, then observations), deterministically. */
function buildWalk(actor, opts) {
  const content = walkContent(opts);
  const { observations, ...rest } = content;
  let doc = A.init({ actor });
  doc = A.change(doc, { time: CHANGE_TIME, message: "create walk" }, (d) => {
    Object.assign(d, rest);
    d.observations = {};
  });
  doc = A.change(doc, { time: CHANGE_TIME + 60, message: "observations" }, (d) => {
    for (const [id, { location, ...obs }] of Object.entries(observations)) {
      d.observations[id] = obs;
      if (location) {
        // @automerge/automerge 3.5.0 stores a Float64 nested inside an assigned
        // object literal as a map {value}; assigned one by one it is an f64.
        d.observations[id].location = {};
        for (const [k, v] of Object.entries(location)) d.observations[id].location[k] = v;
      }
    }
  });
  return doc;
}

export function makeFixtures() {
  const contract = buildWalk(ACTOR_CONTRACT, {
    s: (v) => new A.ImmutableString(v),
    f: (v) => new A.Float64(v),
    extra: false,
  });
  const plain = buildWalk(ACTOR_PLAIN, { s: (v) => v, f: (v) => v, extra: true });
  return {
    "walk-contract.bin": A.save(contract),
    "walk-plain.bin": A.save(plain),
    "spreekuur-contract.bin": A.save(buildSpreekuur()),
  };
}

function main() {
  const check = process.argv.includes("--check");
  const files = makeFixtures();
  mkdirSync(JS_FIXTURE_DIR, { recursive: true });
  let differ = 0;
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(JS_FIXTURE_DIR, name);
    if (check) {
      let old;
      try {
        old = readFileSync(path);
      } catch {
        old = null;
      }
      if (!old || Buffer.compare(old, Buffer.from(bytes)) !== 0) {
        console.error(`${path} differs from what this script generates`);
        differ++;
      }
    } else {
      writeFileSync(path, bytes);
      console.log(`wrote ${path} (${bytes.length} bytes)`);
    }
  }
  if (differ) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
