//! Sync server benchmark (`make bench`; not a test): a reconnect storm.
//!
//! One team of N phones (N = 50, 200 by default; `WIJKLOG_BENCH_PHONES`
//! picks the sizes, e.g. `50,200,1000`), each its own `boa` account and
//! device. Every phone comes back online at the same moment with a walk of
//! its own holding 20 observations, made offline, plus one observation added
//! offline to a shared walk that all of them joined (each device is
//! subscribed to it, as "meedoen" does); it connects and syncs both until
//! every change it made is acked.
//!
//! Each N runs three times against a fresh `wijklog serve` (`$WIJKLOG_BIN`,
//! else built): with shared sync messages (`sync.share_messages`, the
//! default) once on a database that already holds 10,000 older walks of the
//! team (ended 20 to 385 days ago, outside every window of the sync scope;
//! a third of them made by the phones' own users, with 3 observations
//! each) and once without them, then on the older walks again with shared
//! messages off, for the side-by-side table. The older walks, the accounts, the
//! devices and the shared walk are written straight into the SQLite store
//! before the server starts (`Store::commit`, as a sync commit writes them),
//! once, and copied for every run; the phones' access tokens are signed
//! with the JWT secret the server is given, so nobody logs in over HTTP.
//!
//! Prints per N and database: time from the start until each phone's work
//! is fully acked (p50/p95/p99), phones that did not finish (no `ready`
//! within 10 s, or not acked within 300 s), the frames and bytes per phone
//! that finished in each direction (WebSocket payloads, `ready` included),
//! the server's CPU seconds during the storm (/proc/<pid>/stat) and its peak
//! RSS (VmHWM), the CPU seconds of this process (every simulated phone: they
//! share the machine's cores with the server), and the error frames by code;
//! then the ratio of the bytes per phone with and without the older walks,
//! and where the server's time went (its `/metrics`).
//!
//! With `WIJKLOG_BENCH_BEFORE_BIN` set to another `wijklog` binary (an
//! older build), each N also runs on the older walks with that binary,
//! right before the same storm with `$WIJKLOG_BIN`, labelled `before`: the
//! two side by side in one run, on the same machine load.
//!
//! All phones connect from 127.0.0.1, so the benchmark lifts the per-address
//! request cap (`http.max_requests_per_address`), which is meant for many
//! addresses. The phones are spread over `WIJKLOG_BENCH_CLIENT_THREADS`
//! threads (default 2), each with its own actix runtime.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wijklog_server::auth::jwt::JwtKeys;
use wijklog_server::auth::password::hash_password;
use wijklog_server::domain::{DocKind, Principal, Role, UserId, now_ms};
use wijklog_server::storage::{
    DocMeta, DocWrite, NewUser, SqliteStore, Store, Subscribed, SubscriptionBound,
};
use wijklog_shared::{Catalog, Document, NewWalk, Timestamp};
use wijklog_tests::server_process::{Serve, serve};
use wijklog_tests::sync_client::{Incoming, SyncClient, Traffic};
use wijklog_tests::walks::{add_observation, doc_id, observe_document, walk_planned};

/// `/metrics` needs a token (`http.metrics_token`); the benchmark sets one.
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";
/// The JWT secret the server is started with; the phones' tokens are signed with it.
const JWT_SECRET: &str = "bench-jwt-secret-0123456789abcdefghijklmnop";
const TEAM: &str = "noord";
const OBSERVATIONS: usize = 20;
/// Older walks in the database of the "with older documents" runs
/// (`WIJKLOG_BENCH_OLDER` overrides it, for a quick try).
const OLDER_DOCS: usize = 10_000;
/// Observations in each older walk.
const OLDER_OBSERVATIONS: usize = 3;
/// Former team members who made the older walks the phones' users did not.
const FORMER_USERS: usize = 20;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// One phone's account: its token and user id.
#[derive(Clone)]
struct Account {
    user: String,
    token: String,
}

/// A database ready to be copied for a run.
struct Template {
    dir: tempfile::TempDir,
    accounts: Vec<Account>,
    shared: Uuid,
    shared_doc: AutoCommit,
}

struct Prepared {
    token: String,
    own: Uuid,
    own_doc: AutoCommit,
    shared_doc: AutoCommit,
    /// Hashes of the changes this phone made (own walk and shared walk).
    mine: Vec<ChangeHash>,
}

/// What one phone saw.
#[derive(Default)]
struct Outcome {
    /// `ready` arrived (within 10 s of connecting).
    connected: bool,
    done: Option<Duration>,
    traffic: Traffic,
    /// Bytes of the binary frames of the shared walk received (what the
    /// other phones' edits add: depends on the order of the storm).
    shared_rx: u64,
    errors: BTreeMap<String, usize>,
}

fn stored_user(id: &str) -> UserId {
    UserId::parse(id).expect("user id")
}

/// Commits `doc` (all its changes) as a new walk by `owner`, with its
/// projection and schedule, the way a sync commit stores it.
fn store_walk(doc: &mut Document, owner: &str) -> DocWrite {
    let id = doc.id();
    let am = doc.automerge_mut();
    am.commit();
    let meta = DocMeta {
        id,
        kind: DocKind::Walk,
        owner: stored_user(owner),
        team: Some(TEAM.into()),
        created_at: now_ms(),
    };
    let author = owner.to_owned();
    let projection =
        wijklog_server::sync::projection::rows(&meta, am.document(), &mut |_| Some(author.clone()));
    let schedule = wijklog_server::sync::scope::schedule_of(DocKind::Walk, am.document());
    DocWrite {
        projection,
        schedule,
        ..DocWrite::creating(
            id,
            DocKind::Walk,
            &stored_user(owner),
            Some(TEAM),
            am.document(),
        )
    }
}

fn commit_all(store: &SqliteStore, writes: &[DocWrite]) {
    let out = store.commit(writes).expect("commit");
    for w in &out.writes {
        if let Err(e) = w {
            panic!("seeding refused: {e}");
        }
    }
}

/// Accounts, devices, tokens and the shared walk (joined by every device).
fn base_template(phones: usize) -> Template {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in_dir(dir.path()).expect("store");
    let hash = hash_password("bench-wachtwoord-lang-genoeg").expect("hash");
    let keys = JwtKeys::new(JWT_SECRET.as_bytes(), 3600, 5).expect("keys");
    let mut accounts = Vec::with_capacity(phones);
    let mut devices = Vec::with_capacity(phones);
    for i in 0..phones {
        let user = store
            .create_user(NewUser {
                username: format!("boa{i:04}"),
                display_name: format!("Boa {i}"),
                password_hash: hash.clone(),
                roles: vec![Role::Boa],
                team: Some(TEAM.into()),
            })
            .expect("user");
        let refresh: [u8; 32] = Sha256::digest(format!("refresh {i}")).into();
        let device = store
            .create_device(&user.id, "telefoon", refresh, now_ms() + 30 * DAY_MS)
            .expect("device");
        let token = keys
            .issue(&Principal {
                user_id: user.id.clone(),
                name: user.display_name.clone(),
                roles: vec![Role::Boa],
                team: Some(TEAM.into()),
                device_id: device.id.clone(),
            })
            .expect("token");
        accounts.push(Account {
            user: user.id.to_string(),
            token,
        });
        devices.push(device.id);
    }
    for k in 0..FORMER_USERS {
        store
            .create_user(NewUser {
                username: format!("oud{k:02}"),
                display_name: format!("Oud-collega {k}"),
                password_hash: hash.clone(),
                roles: vec![Role::Boa],
                team: Some(TEAM.into()),
            })
            .expect("former user");
    }
    // The shared walk: made by the first phone's user, started today, and
    // joined by every device.
    let shared = Uuid::new_v4();
    let first = accounts.first().map(|a| a.user.clone()).expect("a phone");
    let mut doc =
        Document::from_automerge(doc_id(shared), walk_planned(shared, &first, TEAM, 0, None));
    doc.start_walk(&stored_user(&first), Timestamp::from_millis(now_ms()))
        .expect("start");
    let write = store_walk(&mut doc, &first);
    commit_all(&store, &[write]);
    let bound = SubscriptionBound {
        live_since: now_ms() - 14 * DAY_MS,
        max: 500,
    };
    for device in &devices {
        let joined = store
            .subscribe(device, doc_id(shared), now_ms(), bound)
            .expect("join the shared walk");
        assert_eq!(joined, Subscribed::Recorded);
    }
    let shared_doc = doc.automerge().clone();
    drop(store);
    Template {
        dir,
        accounts,
        shared,
        shared_doc,
    }
}

/// Copies the files of `from` (the store closed) into a new directory.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.path().join(entry.file_name())).expect("copy");
        }
    }
    to
}

/// The base template plus `older` ended walks of the team, each ended
/// 20 to 385 days ago; every third one made by a phone's user.
fn with_older_docs(base: &Template, older: usize) -> Template {
    let dir = copy_dir(base.dir.path());
    let store = SqliteStore::open_in_dir(dir.path()).expect("store");
    let catalog = Catalog::defaults();
    let now = now_ms();
    let former: Vec<String> = (0..FORMER_USERS)
        .map(|k| {
            store
                .user_by_username(&format!("oud{k:02}"))
                .expect("lookup")
                .expect("former user")
                .id
                .to_string()
        })
        .collect();
    let mut batch = Vec::new();
    for k in 0..older {
        let owner_id = if k % 3 == 0 {
            base.accounts[k % base.accounts.len()].user.clone()
        } else {
            former[k % FORMER_USERS].clone()
        };
        let by = stored_user(&owner_id);
        let planned = now - (20 + (k as i64 % 366)) * DAY_MS;
        let id = Uuid::new_v4();
        let mut doc = Document::new_walk(
            doc_id(id),
            &catalog,
            &by,
            Timestamp::from_millis(planned - DAY_MS),
            NewWalk {
                title: format!("Ronde {k}"),
                wijk: "oostermeent".into(),
                route: String::new(),
                team: TEAM.into(),
                planned_at: Some(Timestamp::from_millis(planned)),
            },
        )
        .expect("walk");
        doc.start_walk(&by, Timestamp::from_millis(planned))
            .expect("start");
        for i in 0..OLDER_OBSERVATIONS {
            observe_document(&mut doc, &by, i);
        }
        doc.end_walk(&by, Timestamp::from_millis(planned + 2 * 60 * 60 * 1000))
            .expect("end");
        batch.push(store_walk(&mut doc, &owner_id));
        if batch.len() == 200 {
            commit_all(&store, &batch);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        commit_all(&store, &batch);
    }
    drop(store);
    Template {
        dir,
        accounts: base.accounts.clone(),
        shared: base.shared,
        shared_doc: base.shared_doc.clone(),
    }
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

async fn phone(base: String, shared: Uuid, p: Prepared, start: Instant) -> Outcome {
    let mut out = Outcome::default();
    let Some(mut client) = SyncClient::try_connect(&base, &p.token).await else {
        return out;
    };
    out.connected = true;
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
        if let Incoming::Binary(id, bytes) = &item
            && *id == shared
        {
            out.shared_rx += 16 + bytes.len() as u64;
        }
        let ack_for = match &item {
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
    out.traffic = client.traffic;
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

/// One storm's numbers.
struct Storm {
    line: String,
    phases: String,
    /// Mean bytes per phone, both directions.
    bytes_per_phone: f64,
    /// The same without the shared walk's frames received.
    bytes_but_shared: f64,
    /// Times until acked, sorted.
    times: Vec<Duration>,
    /// The server's CPU seconds during the storm.
    server_cpu: f64,
}

fn run(
    n: usize,
    threads: usize,
    template: &Template,
    label: &str,
    share: bool,
    bin: Option<&Path>,
) -> Storm {
    let data = copy_dir(template.dir.path());
    let max_requests = (4 * n + 64).to_string();
    let server = match bin {
        Some(bin) => Serve::new(bin, data.path()),
        None => serve(data.path()),
    };
    let server = server
        .envs(&[
            ("WIJKLOG_HTTP_METRICS_TOKEN", METRICS_TOKEN),
            ("WIJKLOG_AUTH_JWT_SECRET", JWT_SECRET),
            ("WIJKLOG_HTTP_MAX_REQUESTS_PER_ADDRESS", &max_requests),
            (
                "WIJKLOG_SYNC_SHARE_MESSAGES",
                if share { "true" } else { "false" },
            ),
        ])
        .start();
    let label = format!(
        "{label} {}{}",
        if share { "on" } else { "off" },
        if bin.is_some() { " before" } else { "" }
    );
    let base = server.base.clone();
    let shared = template.shared;

    // Offline work of every phone (not timed).
    let mut prepared = Vec::with_capacity(n);
    for (i, account) in template.accounts.iter().take(n).enumerate() {
        let own = Uuid::new_v4();
        let mut own_doc = walk_planned(own, &account.user, TEAM, OBSERVATIONS, None);
        let mut shared_base = template.shared_doc.clone();
        let shared_heads = shared_base.get_heads();
        let mut shared_doc = shared_base.fork();
        shared_doc = add_observation(shared, shared_doc, &account.user, 1000 + i);
        let mut mine: Vec<ChangeHash> = own_doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        mine.extend(
            shared_doc
                .get_changes(&shared_heads)
                .iter()
                .map(|c| c.hash()),
        );
        prepared.push(Prepared {
            token: account.token.clone(),
            own,
            own_doc,
            shared_doc,
            mine,
        });
    }
    assert_eq!(prepared.len(), n, "the template has too few accounts");

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
            let (tx, base) = (tx.clone(), base.clone());
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let tasks: Vec<_> = group
                        .into_iter()
                        .map(|p| actix_rt::spawn(phone(base.clone(), shared, p, start)))
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
    let server_cpu = cpu_seconds(&server_pid).unwrap_or(0.0) - server_cpu0;
    let client_cpu = cpu_seconds("self").unwrap_or(0.0) - client_cpu0;
    let mut times: Vec<Duration> = outcomes.iter().filter_map(|o| o.done).collect();
    let no_ready = outcomes.iter().filter(|o| !o.connected).count() + (n - outcomes.len());
    let not_acked = n - times.len() - no_ready;
    times.sort();
    // Traffic per phone: the phones that finished (a phone that never got
    // `ready` sent and received nothing).
    let finished: Vec<&Traffic> = outcomes
        .iter()
        .filter(|o| o.done.is_some())
        .map(|o| &o.traffic)
        .collect();
    let phones = finished.len().max(1) as f64;
    let sum = |f: fn(&Traffic) -> u64| finished.iter().map(|t| f(t)).sum::<u64>() as f64 / phones;
    let frames_rx = sum(|t| t.frames_received);
    let frames_tx = sum(|t| t.frames_sent);
    let bytes_rx = sum(|t| t.bytes_received);
    let bytes_tx = sum(|t| t.bytes_sent);
    let shared_rx = outcomes
        .iter()
        .filter(|o| o.done.is_some())
        .map(|o| o.shared_rx)
        .sum::<u64>() as f64
        / phones;
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
        .map(|kb| format!("{:.1}", kb as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into());
    server.kill();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Storm {
        line: format!(
            "| {n:>5} | {label:>9} | {:>8.0} | {:>8.0} | {:>8.0} | {no_ready:>4} / {not_acked:>4} | {frames_rx:>9.1} | {frames_tx:>9.1} | {:>9.1} | {:>9.1} | {server_cpu:>12.1} | {rss:>13} | {client_cpu:>12.1} | {errors} |",
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.95)),
            ms(percentile(&times, 0.99)),
            bytes_rx / 1024.0,
            bytes_tx / 1024.0,
        ),
        phases: format!("| {n:>5} | {label:>9} | {phases} |"),
        bytes_per_phone: bytes_rx + bytes_tx,
        bytes_but_shared: bytes_rx + bytes_tx - shared_rx,
        times,
        server_cpu,
    }
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
        show(value("wijklog_sync_messages_generated_total"), 0),
        show(value("wijklog_sync_messages_shared_total"), 0),
    ]
    .join(" | ")
}

fn main() {
    let sizes: Vec<usize> = std::env::var("WIJKLOG_BENCH_PHONES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![50, 200]);
    let threads: usize = std::env::var("WIJKLOG_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2);
    let most = sizes.iter().copied().max().unwrap_or(1).max(1);
    let seeding = Instant::now();
    let older_docs: usize = std::env::var("WIJKLOG_BENCH_OLDER")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(OLDER_DOCS);
    let base = base_template(most);
    let older = with_older_docs(&base, older_docs);
    println!(
        "sync reconnect storm: N phones of one team (own account and device each), each with a new walk of {OBSERVATIONS} observations + 1 observation in a shared walk all joined, until all acked; {threads} client threads; seeding {most} accounts and {older_docs} older walks took {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    println!(
        "older = walks of the team already on the server, ended 20 to 385 days ago (outside the scope); frames and KiB: mean per phone that finished, from connecting until its work was acked, WebSocket payloads, `ready` included; failed: no `ready` within 10 s / not acked within 300 s; client CPU: this process (all simulated phones)"
    );
    println!(
        "|     N | older, sharing | p50 (ms) | p95 (ms) | p99 (ms) | failed: no ready / not acked | frames rx | frames tx |   KiB rx |   KiB tx | server CPU s | peak RSS MiB | client CPU s | errors |"
    );
    println!(
        "|------:|----------:|---------:|---------:|---------:|------------:|----------:|----------:|---------:|---------:|-------------:|-------------:|-------------:|:-------|"
    );
    let mut phases = Vec::new();
    let mut ratios = Vec::new();
    let mut sharing = Vec::new();
    let before_bin = std::env::var_os("WIJKLOG_BENCH_BEFORE_BIN").map(std::path::PathBuf::from);
    for n in sizes {
        if let Some(bin) = &before_bin {
            let before = run(n, threads, &older, &older_docs.to_string(), true, Some(bin));
            println!("{}", before.line);
            phases.push(before.phases);
        }
        let with = run(n, threads, &older, &older_docs.to_string(), true, None);
        println!("{}", with.line);
        let without = run(n, threads, &base, "0", true, None);
        println!("{}", without.line);
        let unshared = run(n, threads, &older, &older_docs.to_string(), false, None);
        println!("{}", unshared.line);
        let ms = |t: &[Duration], p: f64| percentile(t, p).as_secs_f64() * 1000.0;
        sharing.push(format!(
            "| {n:>5} | {:>8.0} | {:>8.0} | {:>5.2} | {:>8.0} | {:>8.0} | {:>5.2} | {:>6.1} | {:>6.1} | {:>5.2} |",
            ms(&unshared.times, 0.50),
            ms(&with.times, 0.50),
            ms(&unshared.times, 0.50) / ms(&with.times, 0.50).max(1.0),
            ms(&unshared.times, 0.95),
            ms(&with.times, 0.95),
            ms(&unshared.times, 0.95) / ms(&with.times, 0.95).max(1.0),
            unshared.server_cpu,
            with.server_cpu,
            unshared.server_cpu / with.server_cpu.max(0.01),
        ));
        phases.push(unshared.phases);
        ratios.push(format!(
            "| {n:>5} | {:>8.1} | {:>11.1} | {:>5.3} | {:>8.1} | {:>11.1} | {:>5.3} |",
            with.bytes_per_phone / 1024.0,
            without.bytes_per_phone / 1024.0,
            with.bytes_per_phone / without.bytes_per_phone.max(1.0),
            with.bytes_but_shared / 1024.0,
            without.bytes_but_shared / 1024.0,
            with.bytes_but_shared / without.bytes_but_shared.max(1.0)
        ));
        phases.push(with.phases);
        phases.push(without.phases);
    }
    println!();
    println!(
        "bytes per phone (both directions) with and without the {older_docs} older walks; then the same without the shared walk's frames received (how many other phones' edits a phone is sent depends on the order of the storm, not on the older walks)"
    );
    println!(
        "|     N | KiB with | KiB without | ratio | KiB with, no shared rx | KiB without, no shared rx | ratio |"
    );
    println!("|------:|---------:|------------:|------:|---------:|------------:|------:|");
    for r in ratios {
        println!("{r}");
    }
    println!();
    println!(
        "shared sync messages (`sync.share_messages`) off and on, {older_docs} older walks: time to acked and server CPU, and off / on"
    );
    println!(
        "|     N | p50 off | p50 on | ratio | p95 off | p95 on | ratio | CPU s off | CPU s on | ratio |"
    );
    println!(
        "|------:|--------:|-------:|------:|--------:|-------:|------:|------:|------:|------:|"
    );
    for r in sharing {
        println!("{r}");
    }
    println!();
    println!(
        "server time by phase (seconds, from /metrics), group commits, live pushes, sync messages generated and shared"
    );
    println!(
        "|     N | older, sharing | frames s | pushes s | acks s | project s | commit s | commits | pushes | coalesced | generated | shared |"
    );
    println!(
        "|------:|----------:|---------:|---------:|-------:|----------:|---------:|--------:|-------:|----------:|----------:|-------:|"
    );
    for line in phases {
        println!("{line}");
    }
}
