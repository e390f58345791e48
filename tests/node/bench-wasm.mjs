// Benchmark of the wasm document model in node (a benchmark, not a test):
// 1,000 addObservation calls on one walk (the number), then 1,000
// one-character spliceText calls (typing), view(), project() and save() of the
// result, and the size of the wasm file raw and gzipped (zlib, level 9).
// Prints a table. Run after `make wasm`:
//
//   node tests/node/bench-wasm.mjs [calls]

import { readFileSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import { performance } from "node:perf_hooks";

import { WijkDoc, WASM_FILE } from "./wasm.mjs";

const CALLS = Number(process.argv[2] ?? 1000);
const T0 = 1767265200000;

const catalog = WijkDoc.newCatalog("9a1d5c7e-0b2f-4e3a-8c6d-1f2e3a4b5c6d", "admin-1");
const walk = WijkDoc.newWalk(
  "5e2b8c1d-7a3f-4d6e-9b0c-2a1f3e4d5c6b",
  catalog,
  "boa-17",
  { title: "Benchmarkronde", wijk: "centrum", team: "team-centrum" },
  T0,
);

// Warm-up (JIT of the glue code, first allocations), on a separate document.
const warm = WijkDoc.newWalk(
  "0c4e7a9b-2d1f-4a3e-8b6c-5d4e3f2a1b0c",
  catalog,
  "boa-17",
  { title: "Warm-up", wijk: "centrum", team: "team-centrum" },
  T0,
);
for (let i = 0; i < 50; i++) {
  warm.addObservation(catalog, { category: "verkeer", severity: "aandacht", text: "warm-up" }, { at: T0 + i });
}
warm.free();

const categories = ["jeugdoverlast", "drugs", "vervuiling", "verkeer", "positief_signaal"];
const severities = ["informatief", "aandacht", "zorgelijk", "urgent"];
const started = performance.now();
for (let i = 0; i < CALLS; i++) {
  walk.addObservation(
    catalog,
    {
      category: categories[i % categories.length],
      severity: severities[i % severities.length],
      text: `Waarneming ${i}: groep bij het winkelcentrum`,
      place: "winkelcentrum Oostermeent",
      location: { lat: 53.19 + i * 1e-5, lon: 6.88, accuracy_m: 8.5 },
    },
    { at: T0 + i * 1000 },
  );
}
const totalMs = performance.now() - started;

// Typing: one-character splices at the end of one observation's text.
const typed = walk.addObservation(catalog, { category: "verkeer", severity: "aandacht", text: "" }, { at: T0 });
const typeStart = performance.now();
for (let i = 0; i < CALLS; i++) walk.spliceText(typed, i, 0, "a", { at: T0 + i });
const typeMs = performance.now() - typeStart;

const viewStart = performance.now();
walk.view();
const viewMs = performance.now() - viewStart;
const projectStart = performance.now();
const projected = walk.project();
const projectMs = performance.now() - projectStart;

const saveStart = performance.now();
const saved = walk.save();
const saveMs = performance.now() - saveStart;
if (projected.length !== CALLS + 1) throw new Error(`expected ${CALLS + 1} rows, got ${projected.length}`);

const wasmBytes = readFileSync(WASM_FILE);
const gz = gzipSync(wasmBytes, { level: constants.Z_BEST_COMPRESSION });

const table = [
  ["addObservation calls", String(CALLS)],
  ["total (ms)", totalMs.toFixed(1)],
  ["per call (ms)", (totalMs / CALLS).toFixed(3)],
  [`spliceText, 1 character, x${CALLS} (ms per call)`, (typeMs / CALLS).toFixed(3)],
  [`view() of ${CALLS + 1} observations (ms)`, viewMs.toFixed(1)],
  [`project() of ${CALLS + 1} observations (ms)`, projectMs.toFixed(1)],
  [`save() of ${CALLS + 1} observations (ms)`, saveMs.toFixed(1)],
  ["saved document (bytes)", String(saved.length)],
  ["wasm raw (bytes)", String(wasmBytes.length)],
  ["wasm gzip -9 (bytes)", String(gz.length)],
  ["node", process.version],
];
const w = Math.max(...table.map(([k]) => k.length));
console.log("wasm document model (wijklog_shared_bg.wasm in node)");
console.log(`${"metric".padEnd(w)} | value`);
console.log(`${"-".repeat(w)}-|-${"-".repeat(12)}`);
for (const [k, v] of table) console.log(`${k.padEnd(w)} | ${v}`);
