//! The review conformance suite (`wijklog_server::review::conformance`)
//! against PostgreSQL: the store and the review queries on the store's own
//! pool, each test on its own database.

use wijklog_server::review::ReviewDb;
use wijklog_server::review::conformance::Fixture;
use wijklog_server::storage::{PgOptions, PgStore};
use wijklog_server::testing_pg::PgCluster;

/// An empty, migrated PostgreSQL database and the review layer on its pool.
fn fresh_pg() -> Fixture {
    let url = PgCluster::shared().fresh_migrated_database();
    let store = PgStore::connect(&url, PgOptions::default()).expect("connect");
    let db = ReviewDb::postgres(store.handle());
    Fixture {
        store: Box::new(store),
        db,
    }
}

/// The review conformance suite against PostgreSQL: one test per case.
mod pg_review_conformance {
    use super::fresh_pg;

    wijklog_server::review_conformance_tests!(fresh_pg);
}
