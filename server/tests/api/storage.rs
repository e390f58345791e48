//! The storage conformance suite, run against SQLite on disk, and the
//! SQLite-specific parts (backup and restore).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::transaction::Transactable;
use wijklog_server::domain::{DocId, DocKind, Role, UserId};
use wijklog_server::storage::{
    DocWrite, SqliteStore, Store, StoreInspect, backup_database, restore_database,
};

thread_local! {
    /// The directories of this test thread's stores, removed when the
    /// thread (one per test) ends, after its store is dropped.
    static DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty, migrated SQLite store on disk in its own temporary directory.
fn fresh_sqlite_store() -> Box<dyn StoreInspect> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    DIRS.with(|dirs| dirs.borrow_mut().push(dir));
    Box::new(store)
}

/// The conformance suite against SQLite: one test per case.
mod sqlite_conformance {
    use super::fresh_sqlite_store;

    wijklog_server::store_conformance_tests!(fresh_sqlite_store);
}

fn one_doc_write(n: u32) -> DocWrite {
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "kind", "walk").expect("put");
    doc.put(automerge::ROOT, "n", i64::from(n)).expect("put");
    doc.commit();
    let user = UserId::parse("writer").expect("id");
    DocWrite::creating(
        DocId::new_v4(),
        DocKind::Walk,
        &user,
        Some("noord"),
        doc.document(),
    )
}

#[test]
fn backup_while_writing_is_consistent_and_restores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
    store
        .create_user(wijklog_server::storage::NewUser {
            username: "anna".into(),
            display_name: "Anna".into(),
            password_hash: "x".into(),
            roles: vec![Role::Boa],
            team: Some("noord".into()),
        })
        .expect("user");
    for n in 0..50 {
        store.commit(&[one_doc_write(n)]).expect("commit");
    }
    // A writer keeps committing while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                store
                    .commit(&[one_doc_write(n)])
                    .expect("commit during backup");
                n += 1;
            }
            n - 1000
        })
    };
    let backup = dir.path().join("backup.db");
    backup_database(store.path(), &backup).expect("backup");
    stop.store(true, Ordering::Relaxed);
    let written_during = writer.join().expect("writer");
    assert!(written_during > 0, "the writer ran concurrently");

    let copy = rusqlite::Connection::open(&backup).expect("open copy");
    let ok: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ok, "ok");
    let docs: i64 = copy
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .expect("count");
    let changes: i64 = copy
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .expect("count");
    assert!(docs >= 50);
    assert_eq!(
        docs, changes,
        "every document row has its change: a consistent cut"
    );

    let target = tempfile::tempdir().expect("tempdir");
    let restored_path = target.path().join("wijklog.db");
    restore_database(&backup, &restored_path).expect("restore");
    let restored = SqliteStore::open(&restored_path).expect("open restored");
    assert!(restored.user_by_username("anna").expect("lookup").is_some());
    assert_eq!(
        restored.docs_of_kind(DocKind::Walk).expect("docs").len() as i64,
        docs
    );
    restored.check_ready().expect("restored store is writable");
}

#[test]
fn restore_refuses_a_corrupt_or_foreign_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just text").expect("write");
    assert!(restore_database(&junk, &dir.path().join("out.db")).is_err());
    let newer = dir.path().join("newer.db");
    let conn = rusqlite::Connection::open(&newer).expect("open");
    conn.pragma_update(None, "user_version", 999)
        .expect("version");
    drop(conn);
    let err = restore_database(&newer, &dir.path().join("out2.db")).expect_err("too new");
    assert!(err.to_string().contains("newer wijklog"), "{err}");
}

#[test]
fn opening_a_database_from_a_newer_binary_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wijklog.db");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", 999)
        .expect("version");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("refused");
    assert!(err.to_string().contains("schema version 999"), "{err}");
}

#[test]
fn a_compaction_pass_snapshots_busy_documents_without_changing_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    let user = UserId::parse("writer").expect("id");
    let id = DocId::new_v4();
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "kind", "walk").expect("put");
    for i in 0..30i64 {
        doc.put(automerge::ROOT, "n", i).expect("put");
        doc.commit();
    }
    store
        .commit(&[DocWrite::creating(
            id,
            DocKind::Walk,
            &user,
            Some("noord"),
            doc.document(),
        )])
        .expect("commit");
    let quiet = one_doc_write(1);
    store.commit(std::slice::from_ref(&quiet)).expect("commit");

    let report = wijklog_server::compaction::run_pass(&store, 10).expect("pass");

    assert_eq!(report.documents, 1, "only the busy document");
    assert_eq!(report.covered, 30);
    let stored = store.load_doc(id).expect("load").expect("exists");
    assert!(stored.snapshot.is_some());
    assert!(stored.changes.is_empty());
    assert_eq!(
        stored.to_automerge().expect("rebuild").get_heads(),
        doc.get_heads()
    );
    assert_eq!(
        store
            .load_doc(quiet.doc_id)
            .expect("load")
            .expect("exists")
            .changes
            .len(),
        1
    );
    assert_eq!(
        wijklog_server::compaction::run_pass(&store, 10)
            .expect("pass")
            .documents,
        0
    );
}
