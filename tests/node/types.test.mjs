// The generated TypeScript declarations of the wasm module (pkg/wijklog_shared.d.ts)
// type-check a sample program in strict mode, and reject wrong calls: see
// types/usage.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
const project = fileURLToPath(new URL("types/tsconfig.json", import.meta.url));

test("the wasm module's TypeScript declarations give real types (strict tsc over types/usage.ts)", () => {
  const r = spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});
