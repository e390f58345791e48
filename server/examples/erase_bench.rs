//! Benchmark (not a test) of an erasure on the server, end to end as
//! `POST /api/v1/items/{doc}/{id}/erase` and `wijklog retention run` do it
//! (`wijklog_server::erasure::erase_with`): load the stored document, the
//! erasure edit, the history rewrite, the one transaction that replaces the
//! stored changes, snapshot, projection and full-text rows, and the WAL
//! checkpoint. A SQLite database on disk in a temporary directory, for
//! (a) one observation of a walk of 1,000 observations and (b) one
//! observation of a walk whose history has 10,000 changes (100
//! observations, each edited 99 times).
//!
//! Per case: the wall time of the erasure (median of `RUNS`, each on a fresh
//! copy of the same database), run in a fresh process of this program
//! (`--erase-once`) that opens the database and erases, so its peak
//! resident memory (the kernel's high-water mark, `VmHWM`) is the
//! erasure's and not the fixture's; the resident memory that process had
//! just before the erasure; and the stored document's size before and after:
//! the bytes the database holds for it (stored change bytes plus the
//! snapshot: before, every change as it came in over sync; after, one
//! rewritten snapshot), the same document saved as one automerge file
//! before the erasure (the fair comparison of history sizes) and the
//! database file after the checkpoint.
//!
//! ```sh
//! cargo run --release -p wijklog-server --example erase_bench
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use wijklog_server::blobs::BlobStore;
use wijklog_server::config::BlobsConfig;
use wijklog_server::domain::{DocKind, UserId};
use wijklog_server::erasure::{EraseRequest, Eraser, erase_with};
use wijklog_server::storage::{DocMeta, DocWrite, NewChange, NewDoc, SqliteStore, Store};
use wijklog_shared::automerge::ActorId;
use wijklog_shared::erase::{EraseBasis, EraseWhat};
use wijklog_shared::{
    Catalog, DocId, Document, ItemId, Location, NewItem, NewWalk, Severity, Timestamp,
};

const T0: i64 = 1_767_265_200_000;
const RUNS: usize = 5;

/// A walk of `items` observations, each edited `edits_per_item - 1` times
/// after it was made (one change each), and the first observation's id.
fn walk(items: usize, edits_per_item: usize) -> (Document, ItemId) {
    let catalog = Catalog::defaults();
    let boa = wijklog_shared::UserId::parse("boa-17").expect("user");
    let mut doc = Document::new_walk(
        DocId::parse("0b6f5e3c-8f57-4a8e-9a43-2f1c9c0d6a01").expect("id"),
        &catalog,
        &boa,
        Timestamp::from_millis(T0),
        NewWalk {
            title: "Avondronde".into(),
            wijk: "centrum".into(),
            route: String::new(),
            team: "team-centrum".into(),
            planned_at: None,
        },
    )
    .expect("walk");
    doc.set_actor(ActorId::from([7u8; 16]));
    let mut first = None;
    let mut t = T0;
    for i in 0..items {
        t += 1000;
        let id = doc
            .add_observation(
                &catalog,
                &boa,
                Timestamp::from_millis(t),
                NewItem {
                    id: None,
                    category: "jeugdoverlast".into(),
                    severity: Severity::Aandacht,
                    text: format!("Groep jongeren bij het winkelcentrum, observatie {i}"),
                    place: Some(format!("Marktplein {i}")),
                    location: Some(Location {
                        lat: 52.37 + i as f64 * 1e-5,
                        lon: 5.21,
                        accuracy_m: Some(6.0),
                    }),
                    feedback_needed: false,
                },
            )
            .expect("observation");
        for e in 1..edits_per_item {
            t += 1000;
            doc.splice_text(&boa, Timestamp::from_millis(t), &id, 0, 0, &format!("{e} "))
                .expect("edit");
        }
        first.get_or_insert(id);
    }
    (doc, first.expect("at least one observation"))
}

/// Stores `doc` in a new database in `dir` the way a sync commit stores it
/// (every change, the projection rows).
fn store(dir: &Path, doc: &mut Document) -> wijklog_server::domain::DocId {
    let store = SqliteStore::open_in_dir(dir).expect("store");
    let boa = UserId::parse("boa-17").expect("user");
    let am = doc.automerge_mut();
    am.commit();
    let changes: Vec<NewChange> = am
        .get_changes(&[])
        .iter()
        .map(NewChange::from_change)
        .collect();
    let id = wijklog_server::domain::DocId::parse(&doc.id().to_string()).expect("id");
    let meta = DocMeta {
        id,
        kind: DocKind::Walk,
        owner: boa.clone(),
        team: Some("team-centrum".into()),
        created_at: T0,
    };
    let rows =
        wijklog_server::sync::projection::rows(&meta, doc.automerge_mut().document(), &mut |_| {
            Some("boa-17".into())
        });
    let out = store
        .commit(&[DocWrite {
            doc_id: id,
            user_id: boa.clone(),
            device_id: None,
            create: Some(NewDoc {
                kind: DocKind::Walk,
                owner: boa,
                team: Some("team-centrum".into()),
            }),
            changes,
            epoch: None,
            projection: rows,
            schedule: None,
        }])
        .expect("commit");
    out.writes[0].as_ref().expect("accepted");
    id
}

/// The bytes the database holds for the document: stored change bytes plus
/// its snapshot.
fn stored_bytes(dir: &Path, id: wijklog_server::domain::DocId) -> i64 {
    let db = rusqlite::Connection::open(dir.join("wijklog.db")).expect("db");
    let key = id.as_bytes().to_vec();
    let changes: i64 = db
        .query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM changes WHERE doc_id = ?1",
            [&key],
            |r| r.get(0),
        )
        .expect("changes");
    let snapshot: i64 = db
        .query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM snapshots WHERE doc_id = ?1",
            [&key],
            |r| r.get(0),
        )
        .expect("snapshot");
    changes + snapshot
}

/// The database file and its WAL, in bytes.
fn file_bytes(dir: &Path) -> u64 {
    ["wijklog.db", "wijklog.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// A line of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM/VmRSS line")
}

/// `--erase-once DIR DOC ITEM`: erases ITEM of DOC in the database in DIR
/// and prints `ms rss_kib peak_kib changes`.
fn erase_once(dir: &Path, doc: &str, item: &str) {
    let id = wijklog_server::domain::DocId::parse(doc).expect("doc id");
    let item = ItemId::parse(item).expect("item id");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir).expect("store"));
    let blobs = BlobStore::new(dir, BlobsConfig::default());
    let eraser = Eraser::standalone(store);
    let req = EraseRequest {
        doc: id,
        item,
        what: EraseWhat::Item,
        basis: EraseBasis::Verzoek,
        by: UserId::parse("coord-1").expect("user"),
        reason: Some("benchmark".into()),
    };
    let rss = status_kib("VmRSS");
    let start = Instant::now();
    let report = erase_with(&eraser, &blobs, &req).expect("the erasure succeeds");
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    println!("{ms} {rss} {} {}", status_kib("VmHWM"), report.changes);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--erase-once") {
        erase_once(Path::new(&args[2]), &args[3], &args[4]);
        return;
    }
    println!(
        "| document | changes | erase p50 ms | min ms | max ms | RSS before MiB | peak RSS MiB | stored bytes before | saved as one file before | stored after | after/stored before | after/saved before | db file before | db file after |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (label, items, edits) in [
        ("walk, 1,000 observations", 1000, 1),
        ("walk, 10,000 changes (100 obs x 100)", 100, 100),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fixture = tmp.path().join("fixture");
        std::fs::create_dir_all(&fixture).expect("mkdir");
        let (mut doc, target) = walk(items, edits);
        let changes = doc.automerge_mut().document().get_changes(&[]).len();
        let saved = doc.automerge_mut().document().save().len();
        let id = store(&fixture, &mut doc);
        drop(doc);
        let before = stored_bytes(&fixture, id);
        let mut times = Vec::with_capacity(RUNS);
        let (mut rss, mut peak) = (0, 0);
        let (mut after, mut file_before, mut file_after) = (0, 0, 0);
        for run in 0..RUNS {
            let dir = tmp.path().join(format!("run-{run}"));
            copy_dir(&fixture, &dir);
            // The database as the server leaves it between writes: checkpointed.
            drop(SqliteStore::open_in_dir(&dir).expect("store"));
            file_before = file_bytes(&dir);
            let out = std::process::Command::new(std::env::current_exe().expect("this program"))
                .arg("--erase-once")
                .arg(&dir)
                .arg(id.to_string())
                .arg(target.to_string())
                .output()
                .expect("run the erasure");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8(out.stdout).expect("utf-8");
            let f: Vec<f64> = line
                .split_whitespace()
                .map(|v| v.parse().expect("a number"))
                .collect();
            times.push(f[0]);
            rss = f[1] as u64;
            peak = peak.max(f[2] as u64);
            assert_eq!(f[3] as usize, changes, "every change was rewritten");
            after = stored_bytes(&dir, id);
            file_after = file_bytes(&dir);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {label} | {changes} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {before} | {saved} | {after} | {:.3} | {:.3} | {file_before} | {file_after} |",
            times[RUNS / 2],
            times[0],
            times[RUNS - 1],
            mib(rss),
            mib(peak),
            after as f64 / before as f64,
            after as f64 / saved as f64,
        );
    }
}
