// Loads the wasm build of wijklog-shared (pwa/src/wasm/pkg, built by `make wasm`)
// synchronously with initSync, as node tests and benchmarks need it.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const pkgDir = new URL("../../pwa/src/wasm/pkg/", import.meta.url);
export const WASM_FILE = fileURLToPath(new URL("wijklog_shared_bg.wasm", pkgDir));

if (!existsSync(WASM_FILE)) {
  throw new Error(`${WASM_FILE} is missing: build the wasm module first (make wasm)`);
}

const wasm = await import(new URL("wijklog_shared.js", pkgDir).href);
wasm.initSync({ module: readFileSync(WASM_FILE) });

export const { WijkDoc, SyncState, checkPhone, checkEmail } = wasm;

/** Runs `fn` and returns the error it throws (fails when it does not throw). */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error to be thrown");
}
