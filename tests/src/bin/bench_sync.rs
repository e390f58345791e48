//! Sync server benchmark (`make bench`; not a test).
//!
//! For N = 1, 10, 50, 200 simulated phones: a fresh `wijklog serve`
//! (`$WIJKLOG_BIN`, else built), one shared walk; each phone comes back
//! online with a walk of its own holding 20 observations plus one
//! observation added offline to the shared walk, connects, and syncs both
//! until every change it made is acked. All phones belong to one team, so
//! every phone also receives every other phone's walk live (the worst case
//! for the server's fan-out). Prints, per N: time from the start until each
//! phone's batch is fully acked (p50/p95/p99), changes committed per second
//! over the whole run, the server's peak RSS (VmHWM), the CPU seconds the
//! server and this client process used during the run, the binary frames
//! the phones received, and the error frames by code.
//!
//! The phones are spread over `WIJKLOG_BENCH_CLIENT_THREADS` threads (default
//! 2), each with its own actix runtime; a phone only checks whether it is
//! done when an ack arrives. `WIJKLOG_BENCH_PHONES=50,200` picks the sizes.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use uuid::Uuid;
use wijklog_tests::server_process::{ServerProcess, add_user};
use wijklog_tests::sync_client::{Incoming, SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "bench-wachtwoord-lang-genoeg";
/// `/metrics` needs a token (`http.metrics_token`); the benchmark sets one.
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";
const OBSERVATIONS: usize = 20;

struct Prepared {
    own: Uuid,
    own_doc: AutoCommit,
    shared_doc: AutoCommit,
    changes: usize,
    /// Hashes of the changes this phone made (own walk and shared walk).
    mine: Vec<ChangeHash>,
}

/// What one phone saw.
#[derive(Default)]
struct Outcome {
    done: Option<Duration>,
    binary_frames: usize,
    errors: BTreeMap<String, usize>,
}

/// Whether every change of `mine` that belongs to `id` is covered by its last ack.
fn covered(client: &mut SyncClient, id: Uuid, mine: &[ChangeHash]) -> bool {
    let Some(d) = client.docs.get_mut(&id) else {
        return false;
    };
    if d.acked.is_empty() {
        return false;
    }
    let acked = d.acked.clone();
    !d.doc
        .get_changes(&acked)
        .iter()
        .any(|c| mine.contains(&c.hash()))
}

async fn phone(base: String, token: String, shared: Uuid, p: Prepared, start: Instant) -> Outcome {
    let mut out = Outcome::default();
    let Some(mut client) = SyncClient::try_connect(&base, &token).await else {
        return out;
    };
    client.add_doc(p.own, p.own_doc);
    client.add_doc(shared, p.shared_doc);
    client.sync_doc(p.own).await;
    client.sync_doc(shared).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut own_done = false;
    let mut shared_done = false;
    while !(own_done && shared_done) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || client.closed.is_some() {
            break;
        }
        let Some(item) = client.next(left).await else {
            break;
        };
        let ack_for = match &item {
            Incoming::Binary(..) => {
                out.binary_frames += 1;
                None
            }
            Incoming::Json(v) if v["type"] == "ack" => {
                v["doc"].as_str().and_then(|s| Uuid::parse_str(s).ok())
            }
            _ => None,
        };
        client.handle(item).await;
        match ack_for {
            Some(id) if id == p.own => own_done = own_done || covered(&mut client, id, &p.mine),
            Some(id) if id == shared => {
                shared_done = shared_done || covered(&mut client, id, &p.mine)
            }
            _ => {}
        }
    }
    if own_done && shared_done {
        out.done = Some(start.elapsed());
    }
    for e in &client.errors {
        *out.errors.entry(e.code.clone()).or_default() += 1;
    }
    client.close().await;
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn prepare_shared(base: &str, token: &str, user: &str) -> (Uuid, AutoCommit) {
    let shared = Uuid::new_v4();
    let mut setup = SyncClient::connect(base, token).await;
    setup.add_doc(shared, new_walk(shared, user, "noord"));
    assert!(
        setup
            .sync_until_acked(shared, Duration::from_secs(30))
            .await,
        "setup"
    );
    let doc = setup.docs[&shared].doc.clone();
    setup.close().await;
    (shared, doc)
}

fn run(n: usize, threads: usize) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    add_user(tmp.path(), "boa", PASSWORD, &["boa"], Some("noord"));
    let server = ServerProcess::start(tmp.path(), &[("WIJKLOG_HTTP_METRICS_TOKEN", METRICS_TOKEN)]);
    let base = server.base.clone();
    let (token, user, shared, mut shared_base) = actix_rt::System::new().block_on(async {
        let tokens = login(&base, "boa", PASSWORD).await;
        let token = tokens["access_token"].as_str().expect("token").to_owned();
        let user = tokens["user"]["id"].as_str().expect("user").to_owned();
        // The shared walk, created and acked before the phones come back.
        let (shared, doc) = prepare_shared(&base, &token, &user).await;
        (token, user, shared, doc)
    });

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
        let mut mine: Vec<ChangeHash> = own_doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
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

    // Deal the phones out to the client threads.
    let threads = threads.clamp(1, n.max(1));
    let mut groups: Vec<Vec<Prepared>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, p) in prepared.into_iter().enumerate() {
        groups[i % threads].push(p);
    }
    let server_pid = server.pid().to_string();
    let server_cpu0 = cpu_seconds(&server_pid).unwrap_or(0.0);
    let client_cpu0 = cpu_seconds("self").unwrap_or(0.0);
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<Outcome>();
    let handles: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let (tx, base, token) = (tx.clone(), base.clone(), token.clone());
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let tasks: Vec<_> = group
                        .into_iter()
                        .map(|p| {
                            actix_rt::spawn(phone(base.clone(), token.clone(), shared, p, start))
                        })
                        .collect();
                    for t in tasks {
                        let _ = tx.send(t.await.unwrap_or_default());
                    }
                });
            })
        })
        .collect();
    drop(tx);
    let outcomes: Vec<Outcome> = rx.iter().collect();
    for h in handles {
        let _ = h.join();
    }
    let wall = start.elapsed();
    let server_cpu = cpu_seconds(&server_pid).unwrap_or(0.0) - server_cpu0;
    let client_cpu = cpu_seconds("self").unwrap_or(0.0) - client_cpu0;
    let mut times: Vec<Duration> = outcomes.iter().filter_map(|o| o.done).collect();
    let failed = n - times.len();
    times.sort();
    let frames: usize = outcomes.iter().map(|o| o.binary_frames).sum();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        for (code, count) in &o.errors {
            *errors.entry(code.clone()).or_default() += count;
        }
    }
    let errors = if errors.is_empty() {
        "none".to_owned()
    } else {
        errors
            .iter()
            .map(|(c, k)| format!("{c}: {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let phases = actix_rt::System::new().block_on(server_phases(&base));
    let rss = server
        .peak_rss_kb()
        .map(|kb| format!("{:.1} MiB", kb as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into());
    server.kill();
    PHASES.with(|p| p.borrow_mut().push(format!("| {n:>4} | {phases} |")));
    format!(
        "| {n:>4} | {:>8.0} | {:>8.0} | {:>8.0} | {:>10.0} | {:>12} | {:>10.1} | {:>10.1} | {:>9} | {failed:>6} | {errors} |",
        percentile(&times, 0.50).as_secs_f64() * 1000.0,
        percentile(&times, 0.95).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        total_changes as f64 / wall.as_secs_f64(),
        rss,
        server_cpu,
        client_cpu,
        frames,
    )
}

thread_local! {
    static PHASES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where the server's sync time went, from its `/metrics`: seconds per
/// phase, live pushes handled and coalesced, group commits and their time.
async fn server_phases(base: &str) -> String {
    let text = match awc::Client::default()
        .get(format!("{base}/metrics"))
        .insert_header(("Authorization", format!("Bearer {METRICS_TOKEN}")))
        .send()
        .await
    {
        Ok(mut res) => match res.body().limit(4 * 1024 * 1024).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    };
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let show = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "n/a".to_owned(),
    };
    let phase = |p: &str| value(&format!("wijklog_sync_work_seconds_total{{phase=\"{p}\"}}"));
    [
        show(phase("frame"), 2),
        show(phase("push"), 2),
        show(phase("ack"), 2),
        show(phase("project"), 2),
        show(value("wijklog_commit_latency_seconds_sum"), 2),
        show(value("wijklog_commit_latency_seconds_count"), 0),
        show(value("wijklog_sync_pushes_total"), 0),
        show(value("wijklog_sync_pushes_coalesced_total"), 0),
    ]
    .join(" | ")
}

fn main() {
    let sizes: Vec<usize> = std::env::var("WIJKLOG_BENCH_PHONES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 50, 200]);
    let threads: usize = std::env::var("WIJKLOG_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2);
    println!(
        "sync: N phones (one team), each {OBSERVATIONS} observations in its own walk + 1 in a shared walk, until all acked; {threads} client threads"
    );
    println!(
        "|    N | p50 (ms) | p95 (ms) | p99 (ms) | changes/s  | server peak RSS | server CPU s | client CPU s | frames rx | failed | errors |"
    );
    println!(
        "|-----:|---------:|---------:|---------:|-----------:|-------------:|-----------:|-----------:|----------:|-------:|:-------|"
    );
    for n in sizes {
        println!("{}", run(n, threads));
    }
    println!();
    println!("server time by phase (seconds, from /metrics), group commits, live pushes");
    println!(
        "|    N | frames s | pushes s | acks s | project s | commit s | commits | pushes | coalesced |"
    );
    println!(
        "|-----:|---------:|---------:|-------:|----------:|---------:|--------:|-------:|----------:|"
    );
    PHASES.with(|p| {
        for line in p.borrow().iter() {
            println!("{line}");
        }
    });
}
