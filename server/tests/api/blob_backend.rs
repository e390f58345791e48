//! The photo backend conformance suite against the SQLite installation's
//! backend: files under the data directory, rows in `wijklog.db` on disk.

use std::sync::Arc;

use wijklog_server::blobs::BlobStore;
use wijklog_server::blobs::conformance::BlobFixture;
use wijklog_server::config::BlobsConfig;
use wijklog_server::storage::{SqliteStore, Store};

/// A fresh data directory with a migrated database and its photo layer.
fn fresh_local_blobs(config: BlobsConfig) -> BlobFixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
    let blobs = BlobStore::for_store(&store, dir.path(), config);
    BlobFixture {
        store,
        blobs,
        keep: Some(Box::new(dir)),
    }
}

mod local_conformance {
    use super::fresh_local_blobs;

    wijklog_server::blob_conformance_tests!(fresh_local_blobs);
}
