// The contact rules of the wasm build agree with the native ones: every case
// of shared/fixtures/contact-rules/cases.json (generated phone and e-mail
// strings with the native verdicts, written and checked by
// shared/tests/contact.rs) gets the same verdict and E.164 form from
// checkPhone / checkEmail, and setResidentContact accepts exactly the valid
// ones (the form's check and the edit agree in wasm too).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { checkEmail, checkPhone, WijkDoc } from "./wasm.mjs";

const cases = JSON.parse(readFileSync(new URL("../../shared/fixtures/contact-rules/cases.json", import.meta.url), "utf8"));
const CATALOG = "00000000-0000-4000-8000-00000000ca7a";
const SESSION = "44444444-4444-4444-8444-444444444444";

function noteDoc() {
  const cat = WijkDoc.newCatalog(CATALOG, "oov-1");
  const doc = WijkDoc.newSpreekuur(SESSION, cat, "oov-1", { location: "Buurthuis", wijk: "centrum", held_on: 1767600000000, team: "t" });
  const item = doc.addNote(cat, { category: "verkeer", severity: "aandacht", text: "x" });
  cat.free();
  return { doc, item };
}

test("the fixture has both verdicts", () => {
  assert.ok(cases.phone.length >= 400 && cases.email.length >= 400);
  assert.ok(cases.phone.some((c) => c.valid) && cases.phone.some((c) => !c.valid));
  assert.ok(cases.email.some((c) => c.valid) && cases.email.some((c) => !c.valid));
});

test("checkPhone agrees with the native rules on every generated case", () => {
  const { doc, item } = noteDoc();
  const wrong = [];
  for (const c of cases.phone) {
    const r = checkPhone(c.input);
    if (r.valid !== c.valid || (r.e164 ?? null) !== (c.e164 ?? null)) wrong.push({ input: c.input, native: c, wasm: r });
    // The edit gives the same verdict as the check.
    if (c.input.trim() !== "") {
      let ok = true;
      try {
        doc.setResidentContact(item, { phone: c.input, consent: true });
      } catch (e) {
        ok = false;
        assert.equal(e.code, "invalid_phone");
      }
      if (ok !== c.valid) wrong.push({ input: c.input, edit: ok, native: c.valid });
    }
  }
  doc.free();
  assert.deepEqual(wrong, []);
});

test("checkEmail agrees with the native rules on every generated case", () => {
  const { doc, item } = noteDoc();
  const wrong = [];
  for (const c of cases.email) {
    const r = checkEmail(c.input);
    if (r.valid !== c.valid) wrong.push({ input: c.input, native: c.valid, wasm: r });
    if (c.input.trim() !== "") {
      let ok = true;
      try {
        doc.setResidentContact(item, { email: c.input, consent: true });
      } catch (e) {
        ok = false;
        assert.equal(e.code, "invalid_email");
      }
      if (ok !== c.valid) wrong.push({ input: c.input, edit: ok, native: c.valid });
    }
  }
  doc.free();
  assert.deepEqual(wrong, []);
});
