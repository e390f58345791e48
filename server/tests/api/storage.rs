//! The storage conformance suite, run against SQLite on disk.

use wijklog_server::storage::{SqliteStore, Store, conformance};

#[test]
fn sqlite_store_passes_the_conformance_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    let factory = || -> Box<dyn Store> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("open");
        dirs.lock().expect("lock").push(dir);
        Box::new(store)
    };
    conformance::run_all(&factory);
}
