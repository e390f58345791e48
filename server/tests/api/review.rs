//! The review conformance suite (`wijklog_server::review::conformance`)
//! against SQLite on disk: the store and the review connections on one
//! database file in a temporary directory.

use wijklog_server::review::ReviewDb;
use wijklog_server::review::conformance::Fixture;
use wijklog_server::storage::SqliteStore;

thread_local! {
    /// The directories of this test thread's databases, removed when the
    /// thread (one per test) ends.
    static DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty, migrated SQLite database and the review connections to it.
fn fresh_sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    let db = ReviewDb::in_dir(dir.path());
    DIRS.with(|dirs| dirs.borrow_mut().push(dir));
    Fixture {
        store: Box::new(store),
        db,
    }
}

/// The review conformance suite against SQLite: one test per case.
mod sqlite_review_conformance {
    use super::fresh_sqlite;

    wijklog_server::review_conformance_tests!(fresh_sqlite);
}
