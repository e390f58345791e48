#!/usr/bin/env bash
# Builds the wasm32 module of the document model (the crate wijklog-shared-wasm in
# shared-wasm/, the JavaScript binding of wijklog-shared) into pwa/src/wasm/pkg/
# (wasm-bindgen, target web): wijklog_shared.js, wijklog_shared.d.ts,
# wijklog_shared_bg.wasm.
#
# Installs what is missing and can be installed: the wasm32-unknown-unknown rustup
# target and wasm-bindgen-cli at exactly the wasm-bindgen version locked in
# Cargo.lock (the CLI and the library must match). Runs wasm-opt -Oz when it is on
# PATH and skips that step otherwise (binaryen is never downloaded).
#
# WASM_TARGET_DIR (default target/wasm) is cargo's target directory for the wasm32
# build; it is kept apart from target/ so that the release-wasm profile's
# dependencies do not evict the native ones.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT_DIR=pwa/src/wasm/pkg
TARGET_DIR=${WASM_TARGET_DIR:-target/wasm}
WASM=$TARGET_DIR/wasm32-unknown-unknown/release-wasm/wijklog_shared_wasm.wasm

die() {
  echo "error: $*" >&2
  exit 1
}

command -v cargo >/dev/null 2>&1 || die "cargo is not installed; install Rust with rustup (https://rustup.rs)."

# The wasm-bindgen version in Cargo.lock: the first "version" line after its [[package]] name.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || die "wasm-bindgen is not in Cargo.lock; cannot pick a matching wasm-bindgen-cli."

# 1. The wasm32 target.
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "==> rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown ||
      die "could not add the wasm32-unknown-unknown target (no network access to static.rust-lang.org?)."
  fi
else
  rustc --print target-list >/dev/null 2>&1 || die "rustc is not working."
  [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ] ||
    die "the wasm32-unknown-unknown target is missing and rustup is not available to add it."
fi

# 2. wasm-bindgen-cli at the locked version.
have_wb=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  have_wb=$(wasm-bindgen --version | awk '{ print $2 }')
fi
if [ "$have_wb" != "$wb_version" ]; then
  echo "==> installing wasm-bindgen-cli $wb_version (found: ${have_wb:-none}); this takes a few minutes"
  # --locked first (the CLI's own lock file); if the registry index lacks one of its
  # locked versions, fall back to a fresh resolution of the same CLI version.
  cargo install wasm-bindgen-cli --version "$wb_version" --locked ||
    cargo install wasm-bindgen-cli --version "$wb_version" ||
    die "could not install wasm-bindgen-cli $wb_version (cargo install failed; see above)."
  hash -r
  have_wb=$(wasm-bindgen --version | awk '{ print $2 }')
  [ "$have_wb" = "$wb_version" ] ||
    die "wasm-bindgen on PATH is $have_wb, not $wb_version; put ~/.cargo/bin first on PATH."
fi

# 3. Compile. getrandom 0.4 (automerge's random actor ids) selects its browser
# backend through its wasm_js feature, enabled by automerge's "wasm" feature; no
# RUSTFLAGS are needed.
echo "==> cargo build -p wijklog-shared-wasm --target wasm32-unknown-unknown --profile release-wasm"
cargo build -p wijklog-shared-wasm --target wasm32-unknown-unknown --profile release-wasm --target-dir "$TARGET_DIR"

# 4. Bindings. The name section (function names for profilers, about a fifth of
# the file) is dropped unless WASM_KEEP_NAMES=1. The JS module is named after the
# document model (wijklog_shared.js), not after the binding crate.
strip_flags=(--remove-name-section --remove-producers-section)
if [ "${WASM_KEEP_NAMES:-0}" = "1" ]; then
  strip_flags=()
fi
echo "==> wasm-bindgen --target web --out-name wijklog_shared --out-dir $OUT_DIR ${strip_flags[*]}"
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
wasm-bindgen --target web "${strip_flags[@]}" --out-name wijklog_shared --out-dir "$OUT_DIR" "$WASM"
# The glue is an ES module; say so, so that node loads it as one wherever pkg/ sits.
printf '{ "type": "module", "private": true }\n' >"$OUT_DIR/package.json"

# 5. Optional size optimisation.
if command -v wasm-opt >/dev/null 2>&1; then
  echo "==> wasm-opt -Oz"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$OUT_DIR/wijklog_shared_bg.wasm.opt" "$OUT_DIR/wijklog_shared_bg.wasm"
  mv "$OUT_DIR/wijklog_shared_bg.wasm.opt" "$OUT_DIR/wijklog_shared_bg.wasm"
else
  echo "==> wasm-opt not found; skipping size optimisation (install binaryen to enable it)"
fi

size=$(wc -c <"$OUT_DIR/wijklog_shared_bg.wasm")
echo "==> $OUT_DIR/wijklog_shared_bg.wasm: $size bytes"
