//! The `wijklog` binary on PostgreSQL: every command that touches the
//! database takes `--database URL` (password from the environment), the
//! file-level ones refuse with the tool to use instead, and `serve` runs on
//! PostgreSQL with tokens valid on every node.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use wijklog_server::testing_pg::PgCluster;
use wijklog_testing::cli::{self, text};
use wijklog_testing::server::{Serve, ServerProcess};

const JWT_SECRET: &str = "a-secret-all-nodes-share-0123456789abcdef";

/// Runs `wijklog` with `args`, the cluster's password in
/// `WIJKLOG_DATABASE_PASSWORD` (the URLs carry none) and `stdin`.
fn wijklog(args: &[&str], password: &str, stdin: Option<&str>) -> Output {
    cli::run(
        Path::new(env!("CARGO_BIN_EXE_wijklog")),
        args,
        &[("WIJKLOG_DATABASE_PASSWORD", password)],
        &["WIJKLOG_DATABASE_URL"],
        stdin,
    )
}

/// A fresh empty database: its name and its URL without the password.
fn fresh(cluster: &PgCluster) -> (String, String) {
    let url = cluster.fresh_database();
    let name = url.rsplit('/').next().expect("db name").to_owned();
    let bare = cluster.url_without_password(&name);
    (name, bare)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The number of `.sql` files in server/migrations/postgres: the version a
/// migrated database must report (counted here, not taken from the code).
fn postgres_migration_files() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "sql"))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn every_database_command_takes_database_url_and_works_on_postgres() {
    let cluster = PgCluster::shared();
    let pw = cluster.password();
    let (db, url) = fresh(cluster);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = path(dir.path());

    // migrate: an empty database gets the whole schema.
    let out = wijklog(&["migrate", "--database", &url, "--data", data], pw, None);
    assert!(out.status.success(), "{}", text(&out));
    let expected = postgres_migration_files().to_string();
    assert_eq!(
        cluster
            .psql(&db, "SELECT version FROM wijklog_schema")
            .trim(),
        expected
    );
    assert!(
        text(&out).contains(&format!("schema version {expected}")),
        "{}",
        text(&out)
    );
    assert!(
        !dir.path().join("wijklog.db").exists(),
        "no SQLite file is made when the data lives in PostgreSQL"
    );
    // Migrating again changes nothing.
    let out = wijklog(&["migrate", "--database", &url, "--data", data], pw, None);
    assert!(out.status.success(), "{}", text(&out));

    // user add / disable / enable.
    let out = wijklog(
        &[
            "user",
            "add",
            "--username",
            "Anna",
            "--role",
            "boa",
            "--role",
            "coordinator",
            "--team",
            "noord",
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        Some("een-goed-wachtwoord-voor-pg\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("een-goed-wachtwoord-voor-pg"));
    assert_eq!(
        cluster
            .psql(
                &db,
                "SELECT username || '|' || team || '|' || (disabled_at IS NULL) FROM users"
            )
            .trim(),
        "Anna|noord|true"
    );
    let out = wijklog(
        &[
            "user",
            "add",
            "--username",
            "anna",
            "--role",
            "boa",
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        Some("een-ander-goed-wachtwoord\n"),
    );
    assert!(!out.status.success(), "a taken name (any case) is refused");
    assert!(text(&out).contains("already exists"), "{}", text(&out));

    let out = wijklog(
        &[
            "user",
            "disable",
            "anna",
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cluster
            .psql(&db, "SELECT disabled_at IS NOT NULL FROM users")
            .trim(),
        "t"
    );
    let out = wijklog(
        &["user", "enable", "anna", "--database", &url, "--data", data],
        pw,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cluster
            .psql(&db, "SELECT disabled_at IS NULL FROM users")
            .trim(),
        "t"
    );
    assert_eq!(
        cluster
            .psql(
                &db,
                "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE actor IS NULL"
            )
            .trim(),
        "user.add,user.disable,user.enable"
    );

    // demo: accounts and walks in PostgreSQL, twice (idempotent).
    for _ in 0..2 {
        let out = wijklog(&["demo", "--database", &url, "--data", data], pw, None);
        assert!(out.status.success(), "{}", text(&out));
    }
    let users: u32 = cluster
        .psql(&db, "SELECT count(*) FROM users")
        .trim()
        .parse()
        .expect("count");
    assert!(users > 1, "demo accounts were created: {users}");
    let walks: u32 = cluster
        .psql(&db, "SELECT count(*) FROM documents WHERE kind = 'walk'")
        .trim()
        .parse()
        .expect("count");
    assert!(walks > 0, "demo walks were stored");

    // compact moves the demo changes into snapshots.
    let out = wijklog(
        &[
            "compact",
            "--min-changes",
            "1",
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let snapshots: u32 = cluster
        .psql(&db, "SELECT count(*) FROM snapshots")
        .trim()
        .parse()
        .expect("count");
    assert!(snapshots > 0, "compaction wrote snapshots on PostgreSQL");

    // The file-level commands name the PostgreSQL tool instead.
    let to = dir.path().join("backup.db");
    let out = wijklog(
        &[
            "backup",
            "--to",
            path(&to),
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("pg_dump"), "{}", text(&out));
    assert!(!to.exists());
    std::fs::write(&to, b"not a backup").expect("file");
    let out = wijklog(
        &[
            "restore",
            "--from",
            path(&to),
            "--database",
            &url,
            "--data",
            data,
        ],
        pw,
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("pg_restore"), "{}", text(&out));
    // Photos are in the database: their garbage collection runs here too
    // (and refuses while a node holds the lead).
    cluster.psql(
        &db,
        &format!(
            "INSERT INTO blobs (sha256, size, mime, uploaded_by, uploaded_at, width, height, bytes) \
             VALUES ('{}', 1, 'image/png', 'u', 0, 1, 1, '\\x00')",
            "ab".repeat(32)
        ),
    );
    let out = wijklog(
        &["blobs", "gc", "--database", &url, "--data", data],
        pw,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deleted 1 unreferenced photo"),
        "{}",
        text(&out)
    );
    assert_eq!(cluster.psql(&db, "SELECT count(*) FROM blobs").trim(), "0");
    assert!(!dir.path().join("wijklog.db").exists());
    assert!(!dir.path().join("blobs").exists());
}

#[test]
fn a_bad_database_url_or_password_is_a_clear_error_without_the_password() {
    let cluster = PgCluster::shared();
    let (db, url) = fresh(cluster);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = path(dir.path());

    // Wrong password from the environment.
    let out = wijklog(
        &["migrate", "--database", &url, "--data", data],
        "wrong-password-xyzzy",
        None,
    );
    assert!(!out.status.success());
    assert!(!text(&out).contains("xyzzy"), "{}", text(&out));
    assert!(
        text(&out).contains("opening the database"),
        "{}",
        text(&out)
    );

    // A wrong password in the URL is not echoed either.
    let with_pw = url.replace("wijklog@", "wijklog:plugh-in-url@");
    let out = wijklog(
        &["migrate", "--database", &with_pw, "--data", data],
        "",
        None,
    );
    assert!(!out.status.success());
    assert!(!text(&out).contains("plugh"), "{}", text(&out));

    // Not a PostgreSQL URL.
    let out = wijklog(
        &[
            "migrate",
            "--database",
            "/var/lib/wijklog.db",
            "--data",
            data,
        ],
        cluster.password(),
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("postgres://"), "{}", text(&out));

    // A database written by a newer wijklog is refused, untouched.
    let out = wijklog(
        &["migrate", "--database", &url, "--data", data],
        cluster.password(),
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    cluster.psql(&db, "UPDATE wijklog_schema SET version = 999");
    let out = wijklog(
        &["migrate", "--database", &url, "--data", data],
        cluster.password(),
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("999"), "{}", text(&out));
    assert_eq!(
        cluster
            .psql(&db, "SELECT version FROM wijklog_schema")
            .trim(),
        "999"
    );
}

/// A `wijklog serve` on PostgreSQL, signing tokens with `secret` (none: the
/// variable is unset); the error is the server's standard error.
fn serve(
    url: &str,
    password: &str,
    data: &Path,
    secret: Option<&str>,
) -> Result<ServerProcess, String> {
    let mut serve = Serve::new(env!("CARGO_BIN_EXE_wijklog"), data)
        .database(url)
        .env("WIJKLOG_DATABASE_PASSWORD", password)
        .env_remove("WIJKLOG_AUTH_JWT_SECRET");
    if let Some(s) = secret {
        serve = serve.env("WIJKLOG_AUTH_JWT_SECRET", s);
    }
    serve.try_start().map_err(|failed| failed.stderr)
}

fn add_user(url: &str, password: &str, data: &Path, name: &str, roles: &[&str]) {
    let mut args = vec!["user", "add", "--username", name, "--team", "noord"];
    for r in roles {
        args.extend(["--role", r]);
    }
    args.extend(["--database", url, "--data", path(data)]);
    let out = wijklog(&args, password, Some("een-goed-wachtwoord-voor-pg\n"));
    assert!(out.status.success(), "{}", text(&out));
}

#[actix_web::test]
async fn serve_on_postgres_shares_tokens_across_nodes_serves_review_and_names_what_is_sqlite_only()
{
    let cluster = PgCluster::shared();
    let pw = cluster.password().to_owned();
    let (_db, url) = fresh(cluster);
    let dir1 = tempfile::tempdir().expect("tempdir");
    let dir2 = tempfile::tempdir().expect("tempdir");

    // Without a shared signing secret a node would refuse the others' tokens.
    let err = serve(&url, &pw, dir1.path(), None)
        .expect_err("serve without a shared secret refuses to start");
    assert!(err.contains("WIJKLOG_AUTH_JWT_SECRET"), "{err}");

    add_user(&url, &pw, dir1.path(), "coco", &["coordinator"]);
    let node1 = serve(&url, &pw, dir1.path(), Some(JWT_SECRET)).expect("node 1");
    let node2 = serve(&url, &pw, dir2.path(), Some(JWT_SECRET)).expect("node 2");

    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    for node in [&node1, &node2] {
        let res = client
            .get(format!("{}/readyz", node.base))
            .send()
            .await
            .expect("readyz");
        assert_eq!(res.status().as_u16(), 200);
    }
    let mut res = client
        .post(format!("{}/api/v1/auth/login", node1.base))
        .send_json(&serde_json::json!({
            "username": "coco",
            "password": "een-goed-wachtwoord-voor-pg",
            "device_name": "laptop"
        }))
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    let access = body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    // The token from node 1 is valid on node 2, and node 2 rotates its refresh token.
    let mut me = client
        .get(format!("{}/api/v1/auth/me", node2.base))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status().as_u16(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["user"]["name"], "coco");
    let res = client
        .post(format!("{}/api/v1/auth/refresh", node2.base))
        .send_json(&serde_json::json!({ "refresh_token": refresh }))
        .await
        .expect("refresh");
    assert_eq!(res.status().as_u16(), 200);
    // Node 1 sees node 2's rotation: the same token again within the grace
    // window is a retry and gets the same successor (on a node that had not
    // seen the rotation it would be an unknown-token or reuse answer).
    let res = client
        .post(format!("{}/api/v1/auth/refresh", node1.base))
        .send_json(&serde_json::json!({ "refresh_token": refresh }))
        .await
        .expect("refresh again");
    assert_eq!(
        res.status().as_u16(),
        200,
        "a retry within the grace window"
    );

    // The review layer answers on PostgreSQL (its queries: the review
    // conformance suite in review.rs).
    for p in [
        "/api/v1/items?q=fiets&sort=severity",
        "/api/v1/callbacks",
        "/api/v1/feedback/open",
        "/api/v1/stats",
        "/api/v1/export.csv",
        "/api/v1/export.xlsx",
        "/api/v1/export.geojson",
    ] {
        let mut res = client
            .get(format!("{}{p}", node1.base))
            .bearer_auth(&access)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status().as_u16(), 200, "{p}");
        // The whole body arrives (an export cut off would fail here).
        let body = res.body().limit(1 << 20).await.expect("body");
        assert!(!body.is_empty(), "{p}");
    }
    // What still reads the SQLite file says so with a stable code.
    for p in ["/api/v1/people"] {
        let mut res = client
            .get(format!("{}{p}", node2.base))
            .bearer_auth(&access)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status().as_u16(), 503, "{p}");
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body["code"], "sqlite_only", "{p}");
    }
    assert!(!dir1.path().join("wijklog.db").exists());
    assert!(!dir2.path().join("wijklog.db").exists());
}
