//! The deterministic simulation of sync (`wijklog_tests::sim`): many seeded
//! scenarios of devices, network, server and storage faults against the real
//! sync core, committer, cache and SQLite store.
//!
//! `SIM_SCENARIOS` sets how many scenarios the main test runs (default
//! 10,000), `SIM_FIRST_SEED` the first seed and `SIM_STEPS` the steps of
//! each; `SIM_SEED=<n>` makes `replay_one_seed` replay one seed and write
//! its whole trace. `make soak` runs the same scenarios for as long as it is
//! given (`SOAK_SCENARIOS`, `SOAK_SECONDS`).

use std::time::{Duration, Instant};

use wijklog_tests::sim::{self, SimConfig};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config() -> SimConfig {
    SimConfig {
        steps: env_u64("SIM_STEPS", SimConfig::default().steps as u64) as usize,
        ..SimConfig::default()
    }
}

#[test]
fn scenarios_keep_every_promise() {
    let n = env_u64("SIM_SCENARIOS", 10_000);
    let first = env_u64("SIM_FIRST_SEED", 0);
    // `make soak` gives a time budget instead of a count.
    let budget = std::env::var("SIM_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    let started = Instant::now();
    let report = sim::run_many(first..first.saturating_add(n), config(), budget);
    let secs = started.elapsed().as_secs_f64();
    println!("{}", report.summary(secs));
    if let Some(failure) = report.failures.first() {
        panic!("{failure}");
    }
    if budget.is_none() {
        assert_eq!(report.scenarios, n);
    }
}

/// Seeds that once broke an invariant, with the steps they ran.
const REGRESSIONS: &[(u64, usize, &str)] = &[(
    1033,
    120,
    "a change held for a missing parent made the server ask for the change \
     itself; client and server traded the same two messages forever",
)];

#[test]
fn seeds_that_once_failed_pass() {
    for &(seed, steps, what) in REGRESSIONS {
        let cfg = SimConfig {
            steps,
            ..SimConfig::default()
        };
        if let Err(failure) = sim::run(seed, cfg) {
            panic!("regression ({what}):\n{failure}");
        }
    }
}

/// Replays `SIM_SEED` (default 1) twice with its whole trace, written to
/// `target/sim-<seed>.trace`, and checks the two runs are the same.
#[test]
fn replay_one_seed() {
    let seed = env_u64("SIM_SEED", 1);
    let (first, trace_a) = sim::run_traced(seed, config());
    let (_, trace_b) = sim::run_traced(seed, config());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let _ = std::fs::write(dir.join(format!("sim-{seed}.trace")), trace_a.join("\n"));
    assert!(trace_a.len() > 20, "a run does something");
    assert_eq!(trace_a, trace_b, "seed {seed} did not replay exactly");
    if let Err(failure) = first {
        panic!("{failure}");
    }
}
