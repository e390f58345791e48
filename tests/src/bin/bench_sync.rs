//! Sync server benchmark (`make bench`; not a test).
//!
//! For N = 1, 10, 50, 200 simulated phones: a fresh `wijklog serve`
//! (`$WIJKLOG_BIN`, else built), one shared walk; each phone comes back
//! online with a walk of its own holding 20 observations plus one
//! observation added offline to the shared walk, connects, and syncs both
//! until every change is acked. Prints, per N: time from the start until
//! each phone's batch is fully acked (p50/p95/p99), changes committed per
//! second over the whole run, and the server's peak RSS (VmHWM).
//!
//! All phones run in this one process on one thread (awc), so at large N
//! the client side is part of what is measured.

use std::time::{Duration, Instant};

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_tests::server_process::{ServerProcess, add_user};
use wijklog_tests::sync_client::{SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "bench-wachtwoord-lang-genoeg";
const OBSERVATIONS: usize = 20;

struct Prepared {
    own: Uuid,
    own_doc: AutoCommit,
    shared_doc: AutoCommit,
    changes: usize,
    /// Hashes of the changes this phone made (own walk and shared walk).
    mine: Vec<automerge::ChangeHash>,
}

async fn phone(
    base: String,
    token: String,
    shared: Uuid,
    p: Prepared,
    start: Instant,
) -> Option<Duration> {
    let mut client = SyncClient::try_connect(&base, &token).await?;
    client.add_doc(p.own, p.own_doc);
    client.add_doc(shared, p.shared_doc);
    client.sync_doc(p.own).await;
    client.sync_doc(shared).await;
    let own = p.own;
    // Done when every change this phone made is covered by an ack (the
    // shared walk also receives the other phones' changes).
    let mine = p.mine;
    let done = client
        .pump_until(Duration::from_secs(300), |c| {
            let covered = |id: Uuid| {
                c.docs.get(&id).is_some_and(|d| {
                    let mut doc = d.doc.clone();
                    if d.acked.is_empty() {
                        return false;
                    }
                    let uncovered: Vec<_> = doc
                        .get_changes(&d.acked)
                        .iter()
                        .map(|ch| ch.hash())
                        .collect();
                    !mine.iter().any(|h| uncovered.contains(h))
                })
            };
            covered(own) && covered(shared)
        })
        .await;
    let elapsed = start.elapsed();
    client.close().await;
    done.then_some(elapsed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn run(n: usize) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    add_user(tmp.path(), "boa", PASSWORD, &["boa"], Some("noord"));
    let server = ServerProcess::start(tmp.path(), &[]);
    let tokens = login(&server.base, "boa", PASSWORD).await;
    let token = tokens["access_token"].as_str().expect("token").to_owned();
    let user = tokens["user"]["id"].as_str().expect("user").to_owned();

    // The shared walk, created and acked before the phones come back.
    let shared = Uuid::new_v4();
    let mut setup = SyncClient::connect(&server.base, &token).await;
    setup.add_doc(shared, new_walk(shared, &user, "noord"));
    assert!(
        setup
            .sync_until_acked(shared, Duration::from_secs(30))
            .await,
        "setup"
    );
    let mut shared_base = setup.docs[&shared].doc.clone();
    setup.close().await;

    // Offline work of every phone (not timed).
    let mut prepared = Vec::with_capacity(n);
    for i in 0..n {
        let own = Uuid::new_v4();
        let mut own_doc = new_walk(own, &user, "noord");
        for k in 0..OBSERVATIONS {
            own_doc = add_observation(own, own_doc, &user, k);
        }
        let mut shared_doc = shared_base.fork();
        shared_doc = add_observation(shared, shared_doc, &user, 1000 + i);
        let shared_heads = shared_base.get_heads();
        let mut mine: Vec<automerge::ChangeHash> =
            own_doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        mine.extend(
            shared_doc
                .get_changes(&shared_heads)
                .iter()
                .map(|c| c.hash()),
        );
        let changes = mine.len();
        prepared.push(Prepared {
            own,
            own_doc,
            shared_doc,
            changes,
            mine,
        });
    }
    let total_changes: usize = prepared.iter().map(|p| p.changes).sum();

    let start = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|p| actix_rt::spawn(phone(server.base.clone(), token.clone(), shared, p, start)))
        .collect();
    let mut times = Vec::with_capacity(n);
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok(Some(d)) => times.push(d),
            _ => failed += 1,
        }
    }
    let wall = start.elapsed();
    times.sort();
    let rss = server
        .peak_rss_kb()
        .map(|kb| format!("{:.1} MiB", kb as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into());
    server.kill();
    format!(
        "| {n:>4} | {:>8.0} | {:>8.0} | {:>8.0} | {:>10.0} | {:>12} | {failed:>6} |",
        percentile(&times, 0.50).as_secs_f64() * 1000.0,
        percentile(&times, 0.95).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        total_changes as f64 / wall.as_secs_f64(),
        rss,
    )
}

#[actix_rt::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("WIJKLOG_BENCH_PHONES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 50, 200]);
    println!(
        "sync: N phones, each {OBSERVATIONS} observations in its own walk + 1 in a shared walk, until all acked"
    );
    println!("|    N | p50 (ms) | p95 (ms) | p99 (ms) | changes/s  | server peak RSS | failed |");
    println!("|-----:|---------:|---------:|---------:|-----------:|-------------:|-------:|");
    for n in sizes {
        println!("{}", run(n).await);
    }
}
