//! Health, readiness, metrics, the catalog seed and the static PWA.

use wijklog_server::domain::DocKind;
use wijklog_server::routes::static_files::{IMMUTABLE, NO_CACHE};

use crate::helpers::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn healthz_reports_ok_and_the_version() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ok");
    assert_eq!(res.json()["version"], env!("CARGO_PKG_VERSION"));
}

#[actix_web::test]
async fn readyz_is_ready_then_refuses_once_shutdown_starts() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ready");

    // Flip the readiness check without stopping the server: a guard keeps it up.
    let guard = app.state.shutdown.guard();
    app.state.shutdown.trigger();
    let res = app.get("/readyz").await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json()["status"], "shutting_down");
    drop(guard);
}

#[actix_web::test]
async fn readyz_fails_when_the_database_is_not_writable() {
    let app = spawn_app().await;
    // Another connection holds the write lock longer than the busy timeout would wait? No:
    // make the database read-only for everyone by taking an exclusive lock.
    let conn = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(1))
        .expect("timeout");
    conn.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let res = app.get("/readyz").await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json()["status"], "not_ready");
    conn.execute_batch("ROLLBACK").expect("unlock");
    assert_eq!(app.get("/readyz").await.status, 200);
}

#[actix_web::test]
async fn metrics_expose_every_series_in_prometheus_text() {
    let app = spawn_app().await;
    app.state.metrics.sync_connections.inc();
    app.state.metrics.changes_committed.inc_by(7);
    app.state.metrics.commit_latency.observe(0.002);
    app.state.metrics.commit_batch_size.observe(3.0);
    app.state.metrics.count_error("too_large");

    let res = app.metrics().await;

    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.contains("text"))
    );
    let text = res.text();
    for line in [
        "wijklog_sync_connections 1",
        "wijklog_changes_committed_total 7",
        "wijklog_commit_latency_seconds_count 1",
        "wijklog_commit_batch_size_count 1",
        "wijklog_errors_total{code=\"too_large\"} 1",
        "wijklog_login_failures_total 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[actix_web::test]
async fn first_start_seeds_exactly_one_catalog() {
    let app = spawn_app().await;
    let catalogs = app
        .store()
        .docs_of_kind(DocKind::Catalog)
        .expect("catalogs");
    assert_eq!(catalogs.len(), 1);
    let doc = app
        .store()
        .load_doc(catalogs[0].id)
        .expect("load")
        .expect("exists")
        .to_automerge()
        .expect("doc");
    let catalog = wijklog_shared::Catalog::from_doc(&doc).expect("typed catalog");
    assert!(catalog.categories.contains_key("positief_signaal"));
    assert_eq!(catalog.wijken.len(), 5);
    // Seeding again (as on every start) adds nothing.
    let again = wijklog_server::seed::seed_catalog(app.store()).expect("seed");
    assert_eq!(again, catalogs[0].id);
    assert_eq!(
        app.store()
            .docs_of_kind(DocKind::Catalog)
            .expect("catalogs")
            .len(),
        1
    );
}

fn write_pwa(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("assets")).expect("mkdir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Wijklog</title>",
    )
    .expect("index");
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .expect("sw");
    std::fs::write(dir.join("assets/index-4f2a9c1b.js"), "console.log('app')").expect("asset");
}

#[actix_web::test]
async fn pwa_files_are_served_with_the_right_cache_headers() {
    let app = spawn_app_with(|c| write_pwa(&c.static_dir)).await;

    let index = app.get("/").await;
    assert_eq!(index.status, 200);
    assert!(index.text().contains("<title>Wijklog</title>"));
    assert_eq!(index.header("cache-control"), Some(NO_CACHE));

    let sw = app.get("/sw.js").await;
    assert_eq!(sw.status, 200);
    assert_eq!(sw.header("cache-control"), Some(NO_CACHE));

    let asset = app.get("/assets/index-4f2a9c1b.js").await;
    assert_eq!(asset.status, 200);
    assert_eq!(asset.header("cache-control"), Some(IMMUTABLE));

    // Client-side routes get the app shell; missing files and API paths do not.
    let route = app.get("/walk/0b6f5e3c-8f57-4a8e-9a43-2f1c9c0d6a01").await;
    assert_eq!(route.status, 200);
    assert!(route.text().contains("<title>Wijklog</title>"));
    assert_eq!(route.header("cache-control"), Some(NO_CACHE));
    assert_eq!(app.get("/assets/missing-00000000.js").await.status, 404);
    let api = app.get("/api/v1/nothing-here").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["code"], "not_found");
    assert_eq!(app.get("/../../etc/passwd").await.status, 404);
}

#[actix_web::test]
async fn missing_pwa_directory_leaves_the_api_working() {
    let app = spawn_app().await; // the test config points at a directory that does not exist
    assert_eq!(app.get("/").await.status, 404);
    assert_eq!(app.get("/healthz").await.status, 200);
}
