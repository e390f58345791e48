//! Kills at every crash point of a scripted run, not at random moments.
//!
//! The server's crash points (`wijklog_server::crashpoint`, armed only by
//! the test-only variable `WIJKLOG_TEST_CRASH_AT`) name the moments of the
//! sync write path: inside the group commit's transaction before COMMIT,
//! after the commit before any write is answered, after an ack is decided
//! before it is written to the socket, after it is written. A dry run of a
//! scripted upload (two phones, three uploads, each waiting for its ack)
//! with `trace` lists every point it passes; then, for each of them, a copy
//! of the same data directory and the same script run until a real
//! `wijklog serve` kills itself (SIGKILL) exactly there. After each kill:
//! - the database passes `PRAGMA integrity_check`;
//! - every change an ack named is stored;
//! - at the point itself: the changes of the killed transaction are not
//!   stored (`store.commit.before`), those of a committed batch are stored
//!   and were acked to nobody (`committer.committed`), an ack decided or
//!   sent names stored changes only (`sync.ack.*`);
//! - after a restart, the phones resend what they hold and every change of
//!   every phone is stored and acked: the phones and the store converge.
//!
//! The same for compaction (`wijklog compact` killed inside and after each
//! document's transaction: every document still loads with every change)
//! and for `wijklog backup` (killed during the copy, after it, after the
//! photos: no backup file at all, and the next backup to that name is
//! complete and restores every change and photo), and for `wijklog
//! retention run` (killed inside and after each erasure's transaction:
//! each erasure is whole or absent, and the next run finishes the job).
//!
//! Power loss (the `power` tests): the same script with the server's
//! power-loss VFS armed, killed right after each ack or before a write,
//! then every write no sync covered taken back (`cut_power`): every acked
//! change is still stored. With `synchronous=OFF` the same cut loses acked
//! changes (the negative control: the cut really drops unsynced writes).
//!
//! And at seeded moments of history rewrites: one of the hundreds of
//! `erasure.step` points of a retention run picked by each seed, and a kill
//! from outside after a seeded delay (`make crash` runs 50 seeds).

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use automerge::{AutoCommit, Automerge, ChangeHash};
use image::ImageFormat;
use uuid::Uuid;
use wijklog_server::domain::DocId;
use wijklog_server::storage::{SqliteStore, Store};
use wijklog_testing::cli::{run, text};
use wijklog_testing::data::{intact, stored_changes};
use wijklog_testing::images::noise;
use wijklog_testing::powerloss::{Cut, Record, Survivors, cut_power, read_journal};
use wijklog_tests::server_process::{add_user, serve, wijklog_bin};
use wijklog_tests::sync_client::{ClientDoc, SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "kill-punt-wachtwoord";
const CRASH_AT: &str = "WIJKLOG_TEST_CRASH_AT";
const SIGKILL: i32 = 9;
/// Bounds against a hang; every wait is for a state.
const WAIT: Duration = Duration::from_secs(30);
/// The crash points of the sync write path, in the order a write passes them.
const SYNC_POINTS: [&str; 4] = [
    "store.commit.before",
    "committer.committed",
    "sync.ack.before_send",
    "sync.ack.sent",
];

/// Copies a stopped server's data directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The lines `wijklog crash point <name>@<n>` a traced run printed, as
/// (name, n), in order.
fn traced(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("wijklog crash point "))
        .filter_map(|rest| {
            let (name, n) = rest.split_once('@')?;
            Some((name.to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

/// A copy of the stopped server's data directory `from`, in a temporary
/// directory that lives as long as the returned guard.
fn copy_of(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_dir(from, &data);
    (tmp, data)
}

/// The crash points whose names start with `prefix` that a traced run of
/// the command `args` passes, in order; the run must succeed.
fn traced_run(args: &[&str], prefix: &str) -> Vec<(String, u64)> {
    let out = wijklog(args, &[(CRASH_AT, "trace")]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> = text(&out).lines().map(str::to_owned).collect();
    traced(&lines)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect()
}

/// Runs the command `args` armed to kill itself at `what` (`point@n`);
/// panics unless it died there, by SIGKILL.
fn kill_at(args: &[&str], what: &str) {
    let out = wijklog(args, &[(CRASH_AT, what)]);
    assert_eq!(out.status.signal(), Some(SIGKILL), "{what}: {}", text(&out));
}

/// The detail of the kill line of `point@n`, e.g. `changes=ab..,cd..`.
fn kill_detail(lines: &[String], point: &str, n: u64) -> Option<String> {
    let prefix = format!("wijklog crash point {point}@{n}: kill");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix).map(|d| d.trim().to_owned()))
}

/// The hashes listed under `key=` in a crash point's detail.
fn detail_hashes(detail: &str, key: &str) -> Vec<ChangeHash> {
    detail
        .split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{key}=")))
        .map(|list| {
            list.split(',')
                .filter(|h| !h.is_empty())
                .map(|h| h.parse().expect("hash in the crash point's detail"))
                .collect()
        })
        .unwrap_or_default()
}

fn killed(status: Option<std::process::ExitStatus>, what: &str) {
    let status = status.unwrap_or_else(|| panic!("{what}: the process did not die"));
    assert_eq!(
        status.signal(),
        Some(SIGKILL),
        "{what}: the process ended with {status:?}, not by SIGKILL at the crash point"
    );
}

fn all_changes(doc: &mut AutoCommit) -> HashSet<ChangeHash> {
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

/// The changes of `doc` that `heads` cover; panics if a head is not in `doc`
/// (an ack naming a change the phone never made).
fn covered(doc: &mut AutoCommit, heads: &[ChangeHash]) -> HashSet<ChangeHash> {
    for h in heads {
        assert!(
            doc.get_change_by_hash(h).is_some(),
            "an ack names a change the phone does not have"
        );
    }
    let after: HashSet<ChangeHash> = doc.get_changes(heads).iter().map(|c| c.hash()).collect();
    all_changes(doc)
        .into_iter()
        .filter(|h| !after.contains(h))
        .collect()
}

/// One phone of the script: its walk in every version it will upload.
struct Phone {
    walk: Uuid,
    versions: Vec<AutoCommit>,
    /// The version it holds (the last one it started to upload).
    at: Option<usize>,
    /// Every change an ack to it covered.
    acked: HashSet<ChangeHash>,
    client: Option<SyncClient>,
}

impl Phone {
    fn held(&self) -> Option<AutoCommit> {
        self.at.map(|v| self.versions[v].clone())
    }

    /// Turns the acks its client received into acked changes.
    fn record_acks(&mut self) {
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let acks = std::mem::take(&mut client.acks);
        let Some(mut doc) = self.held() else {
            assert!(acks.is_empty(), "an ack before the phone uploaded anything");
            return;
        };
        for (id, heads) in acks {
            assert_eq!(
                id, self.walk,
                "an ack for a document the phone did not write"
            );
            let heads: Vec<ChangeHash> = heads.iter().map(|h| h.parse().expect("hash")).collect();
            self.acked.extend(covered(&mut doc, &heads));
        }
    }
}

/// The script: which phone uploads which version, one at a time.
const SCRIPT: [(usize, usize); 3] = [(0, 0), (1, 0), (0, 1)];

/// A data directory with one account and its token, and the phones' walks.
struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    token: String,
    walks: Vec<(Uuid, Vec<AutoCommit>)>,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    add_user(&data, "boa", PASSWORD, &["boa"], Some("noord"));
    let mut server = serve(&data).start();
    let tokens = login(&server.base, "boa", PASSWORD).await;
    assert!(
        server.terminate(WAIT).is_some(),
        "the set-up server did not stop"
    );
    checkpointed(&data);
    let user = tokens["user"]["id"].as_str().expect("user id").to_owned();
    let walks = (0..2)
        .map(|_| {
            let walk = Uuid::new_v4();
            let created = new_walk(walk, &user, "noord");
            let observed = add_observation(walk, created.clone(), &user, 0);
            (walk, vec![created, observed])
        })
        .collect();
    Fixture {
        _tmp: tmp,
        data,
        token: tokens["access_token"].as_str().expect("token").to_owned(),
        walks,
    }
}

impl Fixture {
    fn phones(&self) -> Vec<Phone> {
        self.walks
            .iter()
            .map(|(walk, versions)| Phone {
                walk: *walk,
                versions: versions.clone(),
                at: None,
                acked: HashSet::new(),
                client: None,
            })
            .collect()
    }
}

/// Moves a stopped server's write-ahead log into the database file and
/// removes it (whether the server's own shutdown did varies), so every run
/// of the script starts from the same files and makes the same writes.
fn checkpointed(data: &Path) {
    let db = rusqlite::Connection::open(data.join("wijklog.db")).expect("open db");
    let busy: i64 = db
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint was blocked");
    drop(db);
    assert!(
        !data.join("wijklog.db-wal").exists(),
        "the log is still there"
    );
}

/// Runs the script until it ends or the server goes away; false if it went.
async fn run_script(base: &str, token: &str, phones: &mut [Phone]) -> bool {
    for phone in phones.iter_mut() {
        // A power-loss run may be killed at a write while a phone connects.
        let Some(client) = SyncClient::try_connect(base, token).await else {
            return false;
        };
        phone.client = Some(client);
    }
    for (p, v) in SCRIPT {
        let phone = &mut phones[p];
        phone.at = Some(v);
        let doc = phone.versions[v].clone();
        let want: HashSet<ChangeHash> = doc.clone().get_heads().into_iter().collect();
        let walk = phone.walk;
        let client = phone.client.as_mut().expect("connected");
        match client.docs.remove(&walk) {
            Some(d) => {
                client.docs.insert(
                    walk,
                    ClientDoc {
                        doc,
                        state: d.state,
                        acked: d.acked,
                    },
                );
            }
            None => client.add_doc(walk, doc),
        }
        client.sync_doc(walk).await;
        let acked = client
            .pump_until(WAIT, |c| {
                c.closed.is_some()
                    || c.docs[&walk].acked.iter().copied().collect::<HashSet<_>>() == want
            })
            .await;
        let closed = client.closed.is_some();
        phone.record_acks();
        if closed {
            return false;
        }
        assert!(acked, "step ({p}, {v}) was not acked");
        assert!(
            client_errors(phone).is_empty(),
            "{:?}",
            client_errors(phone)
        );
    }
    true
}

fn client_errors(phone: &Phone) -> Vec<String> {
    phone
        .client
        .as_ref()
        .map(|c| c.errors.iter().map(|e| e.code.clone()).collect())
        .unwrap_or_default()
}

/// After a restart, each phone resends what it holds until the ack covers
/// it; then every change of every phone is stored.
async fn recover(data: &Path, token: &str, phones: &mut [Phone], what: &str) {
    let mut server = serve(data).start();
    for phone in phones.iter_mut() {
        let Some(doc) = phone.held() else { continue };
        let want: HashSet<ChangeHash> = doc.clone().get_heads().into_iter().collect();
        let walk = phone.walk;
        let mut client = SyncClient::connect(&server.base, token).await;
        // Stored before the kill: `ready` says so, and a frame without new
        // changes gets no ack.
        let stored_already = client.ready_heads(walk).into_iter().collect::<HashSet<_>>() == want;
        client.add_doc(walk, doc);
        client.sync_doc(walk).await;
        let acked = client
            .pump_until(WAIT, |c| {
                stored_already
                    || c.docs[&walk].acked.iter().copied().collect::<HashSet<_>>() == want
            })
            .await;
        assert!(
            acked,
            "{what}: the resend was not acked: {:?}",
            client.errors
        );
        phone.client = Some(client);
        phone.record_acks();
    }
    let status = server.terminate(WAIT).expect("the server stops");
    assert!(status.success(), "{what}: exit {status:?}");
    for phone in phones.iter() {
        let Some(mut doc) = phone.held() else {
            continue;
        };
        assert_eq!(
            stored_changes(data, phone.walk),
            all_changes(&mut doc),
            "{what}: after the resend the store does not hold exactly the phone's walk"
        );
    }
}

#[actix_rt::test]
async fn a_kill_at_every_commit_point_of_a_scripted_run_loses_no_ack() {
    let t0 = std::time::Instant::now();
    let fx = fixture().await;

    // Dry run: which points, how often.
    let dry = tempfile::tempdir().expect("tempdir");
    let data = dry.path().join("data");
    copy_dir(&fx.data, &data);
    let server = serve(&data).envs(&[(CRASH_AT, "trace")]).start();
    let mut phones = fx.phones();
    assert!(
        run_script(&server.base, &fx.token, &mut phones).await,
        "the dry run was interrupted"
    );
    let lines = {
        let mut server = server;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &server.pid().to_string()])
            .status();
        let status = server.wait_exit(WAIT).expect("the dry run's server stops");
        assert!(status.success(), "{status:?}");
        server.stdout_lines()
    };
    let points: Vec<(String, u64)> = traced(&lines)
        .into_iter()
        .filter(|(name, _)| SYNC_POINTS.contains(&name.as_str()))
        .collect();
    for name in SYNC_POINTS {
        let times = points.iter().filter(|(n, _)| n == name).count();
        assert!(
            times >= SCRIPT.len(),
            "the script passed {name} {times} times, fewer than its {} uploads",
            SCRIPT.len()
        );
    }
    eprintln!(
        "crash points: the script passes {} points, listed at {:?}",
        points.len(),
        t0.elapsed()
    );

    for (point, n) in &points {
        let what = format!("{point}@{n}");
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        copy_dir(&fx.data, &data);
        let armed = format!("{point}@{n}");
        let mut server = serve(&data).envs(&[(CRASH_AT, &armed)]).start();
        let mut phones = fx.phones();
        let finished = run_script(&server.base, &fx.token, &mut phones).await;
        assert!(
            !finished,
            "{what}: the script ended without reaching the point"
        );
        killed(server.wait_exit(WAIT), &what);
        let lines = server.stdout_lines();
        let detail = kill_detail(&lines, point, *n)
            .unwrap_or_else(|| panic!("{what}: no kill line in the server's output"));
        for phone in phones.iter_mut() {
            phone.record_acks();
        }
        let acked: HashSet<ChangeHash> = phones.iter().flat_map(|p| p.acked.clone()).collect();
        let mut in_store = HashSet::new();
        for phone in &phones {
            let s = stored_changes(&data, phone.walk);
            for h in &phone.acked {
                assert!(s.contains(h), "{what}: acked change {h} is not stored");
            }
            in_store.extend(s);
        }
        match point.as_str() {
            "store.commit.before" => {
                for h in detail_hashes(&detail, "changes") {
                    assert!(
                        !in_store.contains(&h),
                        "{what}: a change of the killed transaction is stored"
                    );
                }
            }
            "committer.committed" => {
                for h in detail_hashes(&detail, "changes") {
                    assert!(
                        in_store.contains(&h),
                        "{what}: a committed change is not stored"
                    );
                    assert!(
                        !acked.contains(&h),
                        "{what}: a change was acked before its batch was answered"
                    );
                }
            }
            _ => {
                let heads = detail_hashes(&detail, "heads");
                assert!(!heads.is_empty(), "{what}: an ack without heads: {detail}");
                for h in heads {
                    assert!(
                        in_store.contains(&h),
                        "{what}: the ack names a change that is not stored"
                    );
                }
            }
        }
        recover(&data, &fx.token, &mut phones, &what).await;
        eprintln!("crash points: {what} checked at {:?}", t0.elapsed());
    }
}

/// A walk with `n` observations uploaded by one phone and acked.
async fn upload(base: &str, token: &str, user: &str, observations: usize) -> (Uuid, AutoCommit) {
    let walk = Uuid::new_v4();
    let mut doc = new_walk(walk, user, "noord");
    for i in 0..observations {
        doc = add_observation(walk, doc, user, i);
    }
    let mut client = SyncClient::connect(base, token).await;
    client.add_doc(walk, doc.clone());
    client.sync_doc(walk).await;
    let want = doc.clone().get_heads();
    assert!(
        client
            .pump_until(WAIT, |c| c.docs[&walk].acked == want)
            .await,
        "the walk was not acked"
    );
    (walk, doc)
}

/// A data directory with two walks of several changes each and one photo.
struct Stocked {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    walks: Vec<(Uuid, AutoCommit)>,
    photo: (String, Vec<u8>),
}

async fn stocked() -> Stocked {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    add_user(&data, "boa", PASSWORD, &["boa"], Some("noord"));
    let mut server = serve(&data).start();
    let tokens = login(&server.base, "boa", PASSWORD).await;
    let user = tokens["user"]["id"].as_str().expect("user id");
    let token = tokens["access_token"].as_str().expect("token");
    let mut walks = Vec::new();
    for n in [4, 6] {
        walks.push(upload(&server.base, token, user, n).await);
    }
    let photo = noise(ImageFormat::Png, 32, 32, 7);
    let hex = sha256_hex(&photo);
    let res = awc::Client::default()
        .put(format!("{}/api/v1/blobs/{hex}", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "image/png"))
        .send_body(photo.clone())
        .await
        .expect("photo upload");
    assert_eq!(res.status().as_u16(), 201);
    assert!(
        server.terminate(WAIT).is_some(),
        "the set-up server did not stop"
    );
    Stocked {
        _tmp: tmp,
        data,
        walks,
        photo: (hex, photo),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn wijklog(args: &[&str], env: &[(&str, &str)]) -> Output {
    run(&wijklog_bin(), args, env, &[CRASH_AT], None)
}

/// Every change of each walk, as the store loads it (snapshot + changes).
fn loaded_changes(data: &Path, walk: Uuid) -> HashSet<ChangeHash> {
    let store = SqliteStore::open_in_dir(data).expect("open store");
    let stored = store
        .load_doc(wijklog_tests::walks::doc_id(walk))
        .expect("load")
        .expect("the walk is stored");
    let mut doc = match &stored.snapshot {
        Some(bytes) => Automerge::load(bytes).expect("snapshot loads"),
        None => Automerge::new(),
    };
    for change in &stored.changes {
        doc.load_incremental(change).expect("change loads");
    }
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

#[actix_rt::test]
async fn a_kill_inside_or_after_any_compaction_loses_nothing() {
    let fx = stocked().await;
    let data_arg = |d: &Path| d.to_str().expect("utf-8").to_owned();

    let (_dry, data) = copy_of(&fx.data);
    let points = traced_run(
        &["compact", "--min-changes", "1", "--data", &data_arg(&data)],
        "compaction.",
    );
    // Each walk and the catalog document is compacted once.
    assert_eq!(
        points.len(),
        2 * (fx.walks.len() + 1),
        "two points per compacted document: {points:?}"
    );

    for (point, n) in &points {
        let what = format!("{point}@{n}");
        let (_tmp, data) = copy_of(&fx.data);
        let data_text = data_arg(&data);
        let compact = ["compact", "--min-changes", "1", "--data", &data_text];
        kill_at(&compact, &what);
        for (walk, doc) in &fx.walks {
            let mut doc = doc.clone();
            let want = all_changes(&mut doc);
            assert_eq!(
                stored_changes(&data, *walk),
                want,
                "{what}: the change rows"
            );
            assert_eq!(
                loaded_changes(&data, *walk),
                want,
                "{what}: the walk no longer loads with every change"
            );
        }
        // The next pass finishes the job.
        let out = wijklog(&compact, &[]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        for (walk, doc) in &fx.walks {
            let mut doc = doc.clone();
            assert_eq!(
                loaded_changes(&data, *walk),
                all_changes(&mut doc),
                "{what}"
            );
        }
    }
}

#[actix_rt::test]
async fn a_kill_during_backup_leaves_no_backup_and_the_next_one_is_complete() {
    let fx = stocked().await;
    let arg = |p: &Path| p.to_str().expect("utf-8").to_owned();

    let dry = tempfile::tempdir().expect("tempdir");
    let target = dry.path().join("b.db");
    let points = traced_run(
        &["backup", "--to", &arg(&target), "--data", &arg(&fx.data)],
        "backup.",
    );
    for name in [
        "backup.step",
        "backup.database_copied",
        "backup.before_rename",
    ] {
        assert!(
            points.iter().any(|(n, _)| n == name),
            "the backup never passed {name}: {points:?}"
        );
    }

    for (point, n) in &points {
        let what = format!("{point}@{n}");
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("b.db");
        let (to, from) = (arg(&target), arg(&fx.data));
        let backup = ["backup", "--to", &to, "--data", &from];
        kill_at(&backup, &what);
        assert!(
            !target.exists(),
            "{what}: a killed backup left a file under the backup's name"
        );
        // A restore of the name finds nothing to restore.
        let nowhere = dir.path().join("nowhere");
        let out = wijklog(
            &["restore", "--from", &arg(&target), "--data", &arg(&nowhere)],
            &[],
        );
        assert!(!out.status.success(), "{what}: restored an absent backup");

        // The next backup to the same name removes the leftovers and completes.
        let out = wijklog(&backup, &[]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        assert!(target.is_file());
        let leftovers: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: left {leftovers:?}");

        let restored = dir.path().join("restored");
        let out = wijklog(
            &[
                "restore",
                "--from",
                &arg(&target),
                "--data",
                &arg(&restored),
            ],
            &[],
        );
        assert!(out.status.success(), "{what}: {}", text(&out));
        for (walk, doc) in &fx.walks {
            let mut doc = doc.clone();
            assert_eq!(
                stored_changes(&restored, *walk),
                all_changes(&mut doc),
                "{what}"
            );
        }
        let (hex, bytes) = &fx.photo;
        let photo = restored.join("blobs").join(&hex[..2]).join(&hex[2..]);
        assert_eq!(
            std::fs::read(&photo).ok().as_ref(),
            Some(bytes),
            "{what}: the photo was not restored"
        );
    }
}

const DAY_MS: i64 = 86_400_000;

fn wall_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    i64::try_from(d.as_millis()).expect("ms")
}

/// A spreekuur session held 10 days ago, stored in `data` the way a sync
/// commit stores it, with one note per name, written 400 days ago, holding
/// that resident's contact details: under the default retention rules (365
/// days) every note's contact details are due. `filler_edits` more changes
/// of history come from one recent note without contact details (nothing
/// of it is due) whose text is edited that many times, so that every
/// erasure rewrites that much more. Returns the document id and the due
/// notes' ids.
fn due_session(
    data: &Path,
    names: &[&str],
    filler_edits: usize,
) -> (wijklog_server::domain::DocId, Vec<String>) {
    use wijklog_server::domain::DocKind;
    use wijklog_server::storage::{DocMeta, DocWrite, NewChange, NewDoc};
    use wijklog_shared::{
        Catalog, DocId, Document, NewItem, NewSpreekuur, ResidentContact, Severity, Timestamp,
        UserId,
    };
    let store = SqliteStore::open_in_dir(data).expect("open store");
    let staff = UserId::parse("staff-1").expect("user");
    let cat = Catalog::defaults();
    let now = wall_ms();
    let held = now - 10 * DAY_MS;
    let written = now - 400 * DAY_MS;
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        &cat,
        &staff,
        Timestamp::from_millis(held),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "bovenmaten".into(),
            held_on: Timestamp::from_millis(held),
            team: "noord".into(),
        },
    )
    .expect("session");
    let mut notes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = written + i64::try_from(i).expect("small") * 1000;
        let id = doc
            .add_note(
                &cat,
                &staff,
                Timestamp::from_millis(at),
                NewItem {
                    id: None,
                    category: "woonoverlast".into(),
                    severity: Severity::Aandacht,
                    text: "Overlast".into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("note");
        doc.set_resident_contact(
            &staff,
            Timestamp::from_millis(at + 1),
            &id,
            ResidentContact {
                name: Some((*name).into()),
                phone: Some("06 9182 7364".into()),
                email: None,
                consent: true,
            },
        )
        .expect("contact");
        notes.push(id.to_string());
    }
    if filler_edits > 0 {
        let recent = now - 5 * DAY_MS;
        let filler = doc
            .add_note(
                &cat,
                &staff,
                Timestamp::from_millis(recent),
                NewItem {
                    id: None,
                    category: "woonoverlast".into(),
                    severity: Severity::Aandacht,
                    text: "Vuilnis".into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("filler note");
        for e in 0..filler_edits {
            let at = recent + 1 + i64::try_from(e).expect("small");
            doc.splice_text(&staff, Timestamp::from_millis(at), &filler, 0, 0, "x")
                .expect("filler edit");
        }
    }
    let id = doc.id();
    let am = doc.automerge_mut();
    am.commit();
    let changes: Vec<NewChange> = am
        .get_changes(&[])
        .iter()
        .map(NewChange::from_change)
        .collect();
    let meta = DocMeta {
        id,
        kind: DocKind::Spreekuur,
        owner: staff.clone(),
        team: Some("noord".into()),
        created_at: held,
    };
    let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut |_| {
        Some("staff-1".into())
    });
    let out = store
        .commit(&[DocWrite {
            epoch: None,
            doc_id: id,
            user_id: staff.clone(),
            device_id: None,
            create: Some(NewDoc {
                kind: DocKind::Spreekuur,
                owner: staff,
                team: Some("noord".into()),
            }),
            changes,
            projection: rows,
            schedule: None,
        }])
        .expect("commit");
    out.writes[0].as_ref().expect("accepted");
    let id = wijklog_server::domain::DocId::parse(&id.to_string()).expect("doc id");
    (id, notes)
}

/// Which notes' contact details are erased, after checking that each note
/// is erased wholly or not at all: `integrity_check` ok, and the projection
/// row's erasure mark, its resident name, the name's presence anywhere in
/// the stored history and the note's `item.erase_contact` audit entry all
/// agree.
fn erased_notes(
    data: &Path,
    doc: DocId,
    notes: &[String],
    names: &[&str],
    what: &str,
) -> Vec<bool> {
    use wijklog_server::storage::StoreInspect;
    drop(intact(data, what));
    let store = SqliteStore::open_in_dir(data).expect("open store");
    let rows = store.projection_rows(doc).expect("rows");
    let stored = store
        .load_doc(doc)
        .expect("load")
        .expect("the session is stored");
    let history: String = stored
        .to_automerge()
        .expect("the stored history loads")
        .get_changes(&[])
        .iter()
        .map(|c| format!("{:?}\n", c.decode()))
        .collect();
    let audit = store.audit_entries(1000).expect("audit");
    notes
        .iter()
        .zip(names)
        .map(|(note, name)| {
            let row = rows
                .iter()
                .find(|r| r.item_id == *note)
                .unwrap_or_else(|| panic!("{what}: no row for a note"));
            let row: serde_json::Value = serde_json::from_str(&row.row_json).expect("json");
            let marked = !row["erased"]["contact"].is_null();
            let audited = audit
                .iter()
                .filter(|a| {
                    a.entry.action == "item.erase_contact"
                        && a.entry.subject.as_deref() == Some(&format!("{doc}/{note}"))
                })
                .count();
            assert_eq!(
                row["resident"]["name"].is_null(),
                marked,
                "{what}: the row's name and its erasure mark disagree: {row}"
            );
            assert_eq!(
                history.contains(name),
                !marked,
                "{what}: the history and the row disagree on an erasure"
            );
            assert_eq!(
                audited,
                usize::from(marked),
                "{what}: the audit log and the row disagree on an erasure"
            );
            marked
        })
        .collect()
}

#[test]
fn a_kill_inside_or_after_a_retention_erasure_leaves_it_whole_or_undone() {
    // A session held 10 days ago whose two notes, written 400 days ago,
    // hold contact details: under the default retention rules (365 days)
    // both are due.
    let names = ["Eerstebewoner Qzv", "Tweedebewoner Qzv"];
    let fixture = tempfile::tempdir().expect("tempdir");
    let fixture_data = fixture.path().join("data");
    std::fs::create_dir_all(&fixture_data).expect("data dir");
    let (doc, notes) = due_session(&fixture_data, &names, 0);
    let arg = |p: &Path| p.to_str().expect("utf-8").to_owned();

    // The dry run lists the points a run passes: inside and after the
    // transaction of each of the two erasures.
    let dry = tempfile::tempdir().expect("tempdir");
    let data = dry.path().join("data");
    copy_dir(&fixture_data, &data);
    let out = wijklog(
        &["retention", "run", "--data", &arg(&data)],
        &[(CRASH_AT, "trace")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> = text(&out).lines().map(str::to_owned).collect();
    let points: Vec<(String, u64)> = traced(&lines)
        .into_iter()
        .filter(|(name, _)| name == "erasure.before_commit" || name == "erasure.committed")
        .collect();
    let want: Vec<(String, u64)> = [1, 2]
        .into_iter()
        .flat_map(|n| {
            [
                ("erasure.before_commit".to_owned(), n),
                ("erasure.committed".to_owned(), n),
            ]
        })
        .collect();
    assert_eq!(points, want);
    assert_eq!(
        erased_notes(&data, doc, &notes, &names, "the dry run"),
        [true, true]
    );

    for (point, n) in &points {
        let what = format!("{point}@{n}");
        let (_tmp, data) = copy_of(&fixture_data);
        let data_text = arg(&data);
        let retention = ["retention", "run", "--data", &data_text];
        kill_at(&retention, &what);
        // The erasures before this one are whole; this one is whole after
        // its COMMIT and absent before it.
        let done = if point == "erasure.committed" {
            *n
        } else {
            n - 1
        };
        let erased = erased_notes(&data, doc, &notes, &names, &what);
        assert_eq!(
            erased.iter().filter(|e| **e).count(),
            usize::try_from(done).expect("small"),
            "{what}: {erased:?}"
        );
        // The next run finishes what the killed one began.
        let out = wijklog(&retention, &[]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        assert_eq!(
            erased_notes(&data, doc, &notes, &names, &what),
            [true, true],
            "{what}: after the second run"
        );
    }
}

const POWERLOSS_JOURNAL: &str = "WIJKLOG_TEST_POWERLOSS_JOURNAL";
const POWERLOSS_SYNCHRONOUS: &str = "WIJKLOG_TEST_POWERLOSS_SYNCHRONOUS";
/// How many of a scripted run's writes `make test` cuts the power before.
const POWERLOSS_SAMPLE: usize = 12;

/// The script on a copy of the fixture's data in `dir`, with the power-loss
/// VFS armed, until the server kills itself at `armed`; then the power cut.
/// Returns the phones (their acks recorded), the changes an ack decided or
/// sent at the kill covers (the phone may not have read it), and what the
/// cut did.
async fn run_to_power_cut(
    fx: &Fixture,
    dir: &Path,
    armed: &str,
    synchronous_off: bool,
    survivors: Survivors,
) -> (Vec<Phone>, HashSet<ChangeHash>, Cut) {
    let data = dir.join("data");
    copy_dir(&fx.data, &data);
    let journal = dir.join("powerloss.journal");
    let journal_arg = journal.to_str().expect("utf-8 path");
    let mut envs = vec![(CRASH_AT, armed), (POWERLOSS_JOURNAL, journal_arg)];
    if synchronous_off {
        envs.push((POWERLOSS_SYNCHRONOUS, "OFF"));
    }
    let mut server = serve(&data).envs(&envs).start();
    let mut phones = fx.phones();
    if run_script(&server.base, &fx.token, &mut phones).await {
        // The point is in the graceful shutdown (its final checkpoint).
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &server.pid().to_string()])
            .status();
    }
    killed(server.wait_exit(WAIT), armed);
    for phone in phones.iter_mut() {
        phone.record_acks();
    }
    let (point, n) = armed.split_once('@').expect("point@n");
    let detail = kill_detail(&server.stdout_lines(), point, n.parse().expect("n"))
        .unwrap_or_else(|| panic!("{armed}: no kill line in the server's output"));
    let heads = detail_hashes(&detail, "heads");
    let mut sent = HashSet::new();
    for phone in &phones {
        if let Some(mut doc) = phone.held()
            && heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
            && !heads.is_empty()
        {
            sent.extend(covered(&mut doc, &heads));
        }
    }
    let cut = cut_power(&journal, survivors);
    (phones, sent, cut)
}

/// After `integrity_check` passed, how many of the changes acked to a
/// phone, or covered by the ack `sent` at the kill, are not stored.
fn acked_lost(data: &Path, phones: &[Phone], sent: &HashSet<ChangeHash>) -> usize {
    let mut in_store = HashSet::new();
    for phone in phones {
        in_store.extend(stored_changes(data, phone.walk));
    }
    acked(phones, sent)
        .iter()
        .filter(|h| !in_store.contains(h))
        .count()
}

/// Every change acked to a phone or covered by the ack sent at the kill.
fn acked(phones: &[Phone], sent: &HashSet<ChangeHash>) -> HashSet<ChangeHash> {
    phones
        .iter()
        .flat_map(|p| p.acked.iter().copied())
        .chain(sent.iter().copied())
        .collect()
}

#[actix_rt::test]
async fn a_power_cut_right_after_each_ack_loses_no_acked_change() {
    let t0 = std::time::Instant::now();
    let fx = fixture().await;
    for k in 1..=SCRIPT.len() {
        let what = format!("power cut at sync.ack.sent@{k}");
        let tmp = tempfile::tempdir().expect("tempdir");
        let (mut phones, sent, cut) = run_to_power_cut(
            &fx,
            tmp.path(),
            &format!("sync.ack.sent@{k}"),
            false,
            Survivors::None,
        )
        .await;
        let data = tmp.path().join("data");
        assert!(!sent.is_empty(), "{what}: the kill line names no ack");
        assert!(
            cut.writes > 0 && cut.syncs > 0,
            "{what}: the VFS saw no I/O: {cut:?}"
        );
        assert_eq!(
            acked_lost(&data, &phones, &sent),
            0,
            "{what}: an acked change is lost ({cut:?})"
        );
        recover(&data, &fx.token, &mut phones, &what).await;
        eprintln!("power loss: {what}: {cut:?}, checked at {:?}", t0.elapsed());
    }
}

/// The negative control: the same power cut with `synchronous=OFF` loses
/// acked changes, so the cut really takes back what was not synced.
#[actix_rt::test]
async fn with_synchronous_off_the_same_power_cut_loses_acked_changes() {
    let fx = fixture().await;
    let what = format!(
        "synchronous=OFF, power cut at sync.ack.sent@{}",
        SCRIPT.len()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut phones, sent, cut) = run_to_power_cut(
        &fx,
        tmp.path(),
        &format!("sync.ack.sent@{}", SCRIPT.len()),
        true,
        Survivors::None,
    )
    .await;
    let data = tmp.path().join("data");
    let lost = acked_lost(&data, &phones, &sent);
    eprintln!(
        "power loss: {what}: {cut:?}, {lost} of {} acked changes lost",
        acked(&phones, &sent).len()
    );
    assert!(cut.unsynced > 0, "{what}: nothing was unsynced: {cut:?}");
    assert!(
        lost > 0,
        "{what}: no acked change was lost: the cut took back nothing that mattered"
    );
    // Resending still converges: the phones hold what the disk lost.
    recover(&data, &fx.token, &mut phones, &what).await;
}

#[actix_rt::test]
async fn a_power_cut_before_any_write_of_a_scripted_run_loses_no_acked_change() {
    let t0 = std::time::Instant::now();
    let fx = fixture().await;

    // Dry run: the writes the script makes once the server listens.
    let dry = tempfile::tempdir().expect("tempdir");
    let data = dry.path().join("data");
    copy_dir(&fx.data, &data);
    let journal = dry.path().join("powerloss.journal");
    let server = serve(&data)
        .envs(&[
            (CRASH_AT, "trace"),
            (POWERLOSS_JOURNAL, journal.to_str().expect("utf-8")),
        ])
        .start();
    let mut phones = fx.phones();
    assert!(
        run_script(&server.base, &fx.token, &mut phones).await,
        "the dry run was interrupted"
    );
    // The script's writes: journaled before they are made, so all there
    // once the last ack arrived. (The shutdown's final checkpoint is left
    // out: whether it runs before the process exits varies.)
    let script_writes = read_journal(&journal)
        .iter()
        .filter(|r| matches!(r, Record::Write { .. }))
        .count() as u64;
    let lines = {
        let mut server = server;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &server.pid().to_string()])
            .status();
        let status = server.wait_exit(WAIT).expect("the dry run's server stops");
        assert!(status.success(), "{status:?}");
        server.stdout_lines()
    };
    let listening = lines
        .iter()
        .position(|l| l.starts_with("wijklog listening on port"))
        .expect("the listening line");
    let writes: Vec<u64> = traced(&lines[listening..])
        .into_iter()
        .filter(|(name, n)| name == "sqlite.write" && *n <= script_writes)
        .map(|(_, n)| n)
        .collect();
    eprintln!("power loss: the script makes {} writes", writes.len());
    assert_eq!(
        writes.len() as u64,
        script_writes,
        "every journaled write passed the crash point once the server listened"
    );
    assert!(writes.len() >= SCRIPT.len(), "{writes:?}");

    // All of them with `POWERLOSS_ALL_WRITES=1` (`make soak`); in `make
    // test` an even spread of at most POWERLOSS_SAMPLE, first and last
    // included (each costs two server starts).
    let all = std::env::var("POWERLOSS_ALL_WRITES").is_ok_and(|v| v == "1");
    let chosen: Vec<u64> = if all || writes.len() <= POWERLOSS_SAMPLE {
        writes
    } else {
        (0..POWERLOSS_SAMPLE)
            .map(|i| writes[i * (writes.len() - 1) / (POWERLOSS_SAMPLE - 1)])
            .collect()
    };
    for n in chosen {
        // Every other point loses all unsynced writes; the others keep a
        // seeded part of them.
        let survivors = if n % 2 == 0 {
            Survivors::None
        } else {
            Survivors::Seeded(n)
        };
        let what = format!("power cut before sqlite.write@{n} ({survivors:?})");
        let tmp = tempfile::tempdir().expect("tempdir");
        let (mut phones, sent, cut) = run_to_power_cut(
            &fx,
            tmp.path(),
            &format!("sqlite.write@{n}"),
            false,
            survivors,
        )
        .await;
        let data = tmp.path().join("data");
        assert_eq!(
            acked_lost(&data, &phones, &sent),
            0,
            "{what}: an acked change is lost ({cut:?})"
        );
        recover(&data, &fx.token, &mut phones, &what).await;
        eprintln!("power loss: {what}: {cut:?}, checked at {:?}", t0.elapsed());
    }
}

/// The number of changes in the stored history of `doc`.
fn history_len(data: &Path, doc: wijklog_server::domain::DocId) -> usize {
    let store = SqliteStore::open_in_dir(data).expect("open store");
    store
        .load_doc(doc)
        .expect("load")
        .expect("the session is stored")
        .to_automerge()
        .expect("the stored history loads")
        .get_changes(&[])
        .len()
}

/// splitmix64: the seed's kill moment, the same on every machine.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A variable of the seeded kills (`CRASH_KILLS`, `CRASH_SEED`).
fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Changes of history the seeded kills' session has beyond its due notes.
const FILLER_EDITS: usize = 200;

/// SIGKILL at seeded moments of a retention run's history rewrites, not
/// only at the two named points: `erasure.step` is reached at every small
/// step of an erasure (after the edit, after the rewrite, inside the
/// transaction after each rewritten change row and each table it
/// replaces, after COMMIT's checkpoint, after the cache eviction), so a
/// traced run lists a few hundred moments of three erasures of a session
/// with a long history. Each seed picks one of them (splitmix64); the run
/// is killed exactly there. After each kill: `integrity_check` ok, each
/// note erased wholly or not at all (row mark, row name, name in the
/// stored history and audit entry agree), exactly the erasures committed
/// before the moment are done, the history has every change (the original
/// ones plus one erasure edit per done erasure, none lost or doubled), and
/// a second run erases the rest. Each seed also SIGKILLs a run from
/// outside after a seeded delay within an untraced run's length (moments
/// between the steps: inside COMMIT or the checkpoint), with the same
/// checks except which erasures are done (unknowable there).
///
/// `CRASH_KILLS` seeds from `CRASH_SEED` (defaults 5 and 0; `make crash`
/// runs 50). Each seed prints itself and its replay command first, so a
/// failing one is on the failure's output; the same seed kills at the same
/// step again.
#[test]
fn kills_at_seeded_moments_of_a_retention_rewrite_leave_each_erasure_whole_or_undone() {
    let kills = env_u64("CRASH_KILLS", 5);
    let first_seed = env_u64("CRASH_SEED", 0);
    let names = ["Eerstebewoner Rwx", "Tweedebewoner Rwx", "Derdebewoner Rwx"];
    let fixture = tempfile::tempdir().expect("tempdir");
    let fixture_data = fixture.path().join("data");
    std::fs::create_dir_all(&fixture_data).expect("data dir");
    let (doc, notes) = due_session(&fixture_data, &names, FILLER_EDITS);
    let original = history_len(&fixture_data, doc);
    let arg = |p: &Path| p.to_str().expect("utf-8").to_owned();

    // The traced run: every erasure.step in order, each with the number of
    // erasures committed before it.
    let dry = tempfile::tempdir().expect("tempdir");
    let data = dry.path().join("data");
    copy_dir(&fixture_data, &data);
    let out = wijklog(
        &["retention", "run", "--data", &arg(&data)],
        &[(CRASH_AT, "trace")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> = text(&out).lines().map(str::to_owned).collect();
    let mut committed = 0u64;
    let mut steps: Vec<(u64, u64)> = Vec::new();
    for (name, n) in traced(&lines) {
        match name.as_str() {
            "erasure.committed" => committed += 1,
            "erasure.step" => steps.push((n, committed)),
            _ => {}
        }
    }
    assert_eq!(committed, 3, "the traced run erased the three notes");
    // At least one step per rewritten change row of each erasure: the
    // moments are inside the rewrite, not only around it.
    assert!(
        steps.len() > names.len() * original,
        "{} steps for {} changes",
        steps.len(),
        original
    );
    assert_eq!(
        erased_notes(&data, doc, &notes, &names, "the traced run"),
        [true, true, true]
    );
    assert_eq!(history_len(&data, doc), original + names.len());
    // An untraced run's length: the range of the timed kills' delays.
    let timed = tempfile::tempdir().expect("tempdir");
    let data = timed.path().join("data");
    copy_dir(&fixture_data, &data);
    let t0 = std::time::Instant::now();
    let out = wijklog(&["retention", "run", "--data", &arg(&data)], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let run_us = u64::try_from(t0.elapsed().as_micros()).expect("short");
    println!(
        "{original} changes, 3 erasures: {} moments; an untraced run takes {:.2} s",
        steps.len(),
        run_us as f64 / 1e6
    );

    for seed in first_seed..first_seed + kills {
        let pick = splitmix64(seed) % u64::try_from(steps.len()).expect("small");
        let (n, done) = steps[usize::try_from(pick).expect("small")];
        let point = format!("erasure.step@{n}");
        let what = format!("seed {seed} ({point})");
        println!(
            "{what}; replay: CRASH_SEED={seed} CRASH_KILLS=1 cargo test -p wijklog-tests --test crash_points kills_at_seeded -- --nocapture"
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        copy_dir(&fixture_data, &data);
        let out = wijklog(
            &["retention", "run", "--data", &arg(&data)],
            &[(CRASH_AT, &point)],
        );
        assert_eq!(out.status.signal(), Some(SIGKILL), "{what}: {}", text(&out));
        let lines: Vec<String> = text(&out).lines().map(str::to_owned).collect();
        let step = kill_detail(&lines, "erasure.step", n)
            .unwrap_or_else(|| panic!("{what}: no kill line: {}", text(&out)));
        let what = format!("{what} [{step}]");
        let erased = erased_notes(&data, doc, &notes, &names, &what);
        assert_eq!(
            erased.iter().filter(|e| **e).count(),
            usize::try_from(done).expect("small"),
            "{what}: exactly the erasures committed before the kill are done: {erased:?}"
        );
        assert_eq!(
            history_len(&data, doc),
            original + usize::try_from(done).expect("small"),
            "{what}: the stored history lost or doubled a change"
        );
        let out = wijklog(&["retention", "run", "--data", &arg(&data)], &[]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        assert_eq!(
            erased_notes(&data, doc, &notes, &names, &what),
            [true, true, true],
            "{what}: after the second run"
        );
        assert_eq!(
            history_len(&data, doc),
            original + names.len(),
            "{what}: after the second run"
        );

        // The same seed also kills a run from outside after a delay in
        // the run's length: moments between the steps (inside SQLite's
        // COMMIT or checkpoint, the process's start). Not exactly
        // replayable (the machine's speed moves the moment), so only the
        // whole-or-nothing checks; what the moment was is unknown.
        let delay = splitmix64(seed ^ 0x7469_6d65) % run_us.max(1);
        let what = format!("seed {seed} (SIGKILL after {delay} us)");
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        copy_dir(&fixture_data, &data);
        let mut child = std::process::Command::new(wijklog_bin())
            .args(["retention", "run", "--data", &arg(&data)])
            .env_remove(CRASH_AT)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn wijklog");
        std::thread::sleep(Duration::from_micros(delay));
        // Fails only if the run already ended (then it was not killed).
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let done = erased_notes(&data, doc, &notes, &names, &what)
            .iter()
            .filter(|e| **e)
            .count();
        println!("{what}: {status:?}, {done} erasures done");
        if status.signal() != Some(SIGKILL) {
            assert!(status.success(), "{what}: {status:?}");
            assert_eq!(done, names.len(), "{what}: a finished run erased all");
        }
        assert_eq!(
            history_len(&data, doc),
            original + done,
            "{what}: the stored history lost or doubled a change"
        );
        let out = wijklog(&["retention", "run", "--data", &arg(&data)], &[]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        assert_eq!(
            erased_notes(&data, doc, &notes, &names, &what),
            [true, true, true],
            "{what}: after the second run"
        );
    }
}
