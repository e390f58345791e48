//! Photos on PostgreSQL: the photo backend conformance suite (the same
//! cases as the SQLite installation's files), garbage collection on one
//! node at a time, an upload that survives PostgreSQL crashing right after
//! it was answered, and references of rows that existed before the
//! migration.

use std::sync::Arc;

use wijklog_server::blobs::conformance::{BlobFixture, png};
use wijklog_server::blobs::{BlobHash, BlobStore, Uploaded};
use wijklog_server::config::BlobsConfig;
use wijklog_server::domain::{UserId, now_ms};
use wijklog_server::storage::{PgOptions, PgStore, Singleton, Store};
use wijklog_server::testing_pg::PgCluster;

fn connect(url: &str) -> Arc<dyn Store> {
    Arc::new(PgStore::connect(url, PgOptions::default()).expect("connect"))
}

/// A fresh database and the photo layer on it.
fn fresh_pg_blobs(config: BlobsConfig) -> BlobFixture {
    let store = connect(&PgCluster::shared().fresh_migrated_database());
    // The data directory is not used on PostgreSQL: a path that does not
    // exist proves it.
    let blobs = BlobStore::for_store(&store, std::path::Path::new("/nonexistent"), config);
    BlobFixture {
        store,
        blobs,
        keep: None,
    }
}

mod pg_blob_conformance {
    use super::fresh_pg_blobs;

    wijklog_server::blob_conformance_tests!(fresh_pg_blobs);
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("user id")
}

#[test]
fn garbage_collection_runs_on_one_node_at_a_time() {
    let url = PgCluster::shared().fresh_migrated_database();
    let config = BlobsConfig {
        gc_grace_secs: 0,
        ..BlobsConfig::default()
    };
    let (store1, store2) = (connect(&url), connect(&url));
    let node1 = BlobStore::for_store(
        &store1,
        std::path::Path::new("/nonexistent"),
        config.clone(),
    );
    let node2 = BlobStore::for_store(&store2, std::path::Path::new("/nonexistent"), config);
    let bytes = png(8, 8, 1);
    let hash = BlobHash::of(&bytes);
    node1
        .store(&hash, &bytes, &uid("boa-1"), now_ms() - 1000)
        .expect("store");
    // Node 2 sees the photo node 1 stored.
    assert!(node2.record(&hash).expect("row").is_some());
    // While node 1 holds the lead, node 2's collection does nothing.
    let lead = store1
        .try_lead(Singleton::BlobGc)
        .expect("lead")
        .expect("free");
    let report = node2.collect_garbage(now_ms()).expect("gc");
    assert!(report.skipped && report.deleted.is_empty(), "{report:?}");
    assert!(node1.record(&hash).expect("row").is_some());
    drop(lead);
    // Once it is free, node 2 collects.
    let report = wijklog_server::testing_pg::wait_for(std::time::Duration::from_secs(10), || {
        let r = node2.collect_garbage(now_ms()).expect("gc");
        (!r.skipped).then_some(r)
    })
    .expect("the lead is released");
    assert_eq!(report.deleted, vec![hash]);
    assert!(node1.record(&hash).expect("row").is_none());
}

#[test]
fn an_answered_upload_survives_postgresql_crashing() {
    // A cluster of this test's own: it is crashed in the middle.
    let cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let store = connect(&url);
    let blobs = BlobStore::for_store(
        &store,
        std::path::Path::new("/nonexistent"),
        BlobsConfig::default(),
    );
    let bytes = png(300, 200, 2);
    let hash = BlobHash::of(&bytes);
    assert_eq!(
        blobs
            .store(&hash, &bytes, &uid("boa-1"), now_ms())
            .expect("store"),
        Uploaded::Created
    );
    // Killed at once (no checkpoint, no clean shutdown), then recovered
    // from the write-ahead log.
    cluster.crash();
    drop(blobs);
    drop(store);
    cluster.start_again();
    let store = connect(&url);
    let blobs = BlobStore::for_store(
        &store,
        std::path::Path::new("/nonexistent"),
        BlobsConfig::default(),
    );
    assert_eq!(blobs.records().expect("rows").len(), 1);
    let stored: Vec<u8> = hex::decode(
        cluster
            .psql(
                db_name(&url),
                &format!("SELECT encode(bytes, 'hex') FROM blobs WHERE sha256 = '{hash}'"),
            )
            .trim(),
    )
    .expect("hex");
    assert_eq!(stored, bytes, "the bytes are the photo's");
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().expect("database name")
}

#[test]
fn rows_projected_before_the_migration_get_their_references() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_database();
    let db = db_name(&url).to_owned();
    let hash = BlobHash::of(b"photo");
    // Up to the version before photos (0007 and 0008, the review columns, undone
    // too), with one observation showing it.
    let store = PgStore::connect(&url, PgOptions::default()).expect("connect");
    drop(store);
    cluster.psql(
        &db,
        "UPDATE wijklog_schema SET version = 5; \
         DROP TABLE item_partners; \
         DROP FUNCTION item_partners_in_step, wijklog_item_partners CASCADE; \
         ALTER TABLE observations DROP COLUMN sort_at, DROP COLUMN sev_rank, \
           DROP COLUMN fb_needed, DROP COLUMN fb_given_at, DROP COLUMN lat, DROP COLUMN lon, \
           DROP COLUMN fb_due_at; \
         ALTER TABLE notes DROP COLUMN sort_at, DROP COLUMN sev_rank, \
           DROP COLUMN fb_needed, DROP COLUMN fb_given_at, DROP COLUMN lat, DROP COLUMN lon, \
           DROP COLUMN fb_due_at, DROP COLUMN cb_due_at; \
         DROP INDEX observations_author, notes_author, observations_stats, notes_stats, \
           device_subscriptions_opened; \
         DROP FUNCTION wijklog_json_ms, wijklog_json_float; \
         DROP TABLE blob_thumbs, blob_refs, blobs; \
         DROP FUNCTION wijklog_item_blob_refs, wijklog_blob_orphans, wijklog_photo_refs CASCADE;",
    );
    cluster.psql(
        &db,
        &format!(
            "INSERT INTO documents (id, kind, owner, team, created_at) \
             VALUES ('\\x00112233445566778899aabbccddeeff', 'walk', 'boa-1', 'noord', 1); \
             INSERT INTO observations (doc_id, item_id, row_json) \
             VALUES ('\\x00112233445566778899aabbccddeeff', 'o1', \
                     '{{\"photos\": [\"sha256:{hash}\", \"sha256:nope\"]}}')"
        ),
    );
    let store = connect(&url);
    let blobs = BlobStore::for_store(
        &store,
        std::path::Path::new("/nonexistent"),
        BlobsConfig::default(),
    );
    assert_eq!(blobs.reference_count(&hash).expect("refs"), 1);
}
