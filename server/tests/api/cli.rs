//! The `wijklog` binary: user add/disable, demo, backup and restore, serve
//! with graceful shutdown on SIGTERM.

use std::io::Write;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use wijklog_server::auth::password::verify_password;
use wijklog_server::domain::{DocKind, Role, now_ms};
use wijklog_server::storage::{SqliteStore, Store, StoreInspect};
use wijklog_testing::cli::{self, text};
use wijklog_testing::data::{dump, store_contact_session};
use wijklog_testing::server::Serve;

fn wijklog(args: &[&str], stdin: Option<&str>) -> Output {
    cli::run(
        Path::new(env!("CARGO_BIN_EXE_wijklog")),
        args,
        &[],
        &[],
        stdin,
    )
}

fn data_arg(dir: &Path) -> String {
    dir.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn user_add_reads_the_password_from_stdin_and_disable_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(dir.path());
    let out = wijklog(
        &[
            "user",
            "add",
            "--username",
            "anna",
            "--role",
            "boa",
            "--role",
            "spreekuur",
            "--team",
            "noord",
            "--data",
            &data,
        ],
        Some("een-goed-wachtwoord\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("een-goed-wachtwoord"),
        "password echoed"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let fresh = dir.path().join("nested/data");
        let out = wijklog(
            &[
                "user",
                "add",
                "--username",
                "x",
                "--role",
                "boa",
                "--data",
                fresh.to_str().expect("utf-8"),
            ],
            Some("een-goed-lang-wachtwoord\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
        let mode = std::fs::metadata(&fresh)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "a data directory wijklog creates is private"
        );
    }
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    let user = store
        .user_by_username("anna")
        .expect("lookup")
        .expect("created");
    assert_eq!(user.roles, vec![Role::Boa, Role::Spreekuur]);
    assert_eq!(user.team.as_deref(), Some("noord"));
    assert!(verify_password("een-goed-wachtwoord", &user.password_hash));
    drop(store);

    let dup = wijklog(
        &[
            "user",
            "add",
            "--username",
            "ANNA",
            "--role",
            "boa",
            "--data",
            &data,
        ],
        Some("nog-een-wachtwoord\n"),
    );
    assert!(!dup.status.success());
    assert!(text(&dup).contains("already exists"), "{}", text(&dup));

    let out = wijklog(&["user", "disable", "anna", "--data", &data], None);
    assert!(out.status.success(), "{}", text(&out));
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    assert!(
        store
            .user_by_username("anna")
            .expect("lookup")
            .expect("exists")
            .disabled
    );
    let actions: Vec<String> = store
        .audit_entries(10)
        .expect("audit")
        .into_iter()
        .map(|a| a.entry.action)
        .collect();
    assert_eq!(actions, vec!["user.disable", "user.add"]);

    let missing = wijklog(&["user", "disable", "nobody", "--data", &data], None);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("no user named nobody"));
}

#[test]
fn user_add_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(dir.path());
    let bad_role = wijklog(
        &[
            "user",
            "add",
            "--username",
            "x",
            "--role",
            "root",
            "--data",
            &data,
        ],
        Some("wachtwoord123\n"),
    );
    assert!(!bad_role.status.success());
    let short = wijklog(
        &[
            "user",
            "add",
            "--username",
            "x",
            "--role",
            "boa",
            "--data",
            &data,
        ],
        Some("kort\n"),
    );
    assert!(!short.status.success());
    assert!(
        text(&short).contains("10 to 256 characters"),
        "{}",
        text(&short)
    );
    let weak = wijklog(
        &[
            "user",
            "add",
            "--username",
            "x",
            "--role",
            "boa",
            "--data",
            &data,
        ],
        Some("Wachtwoord2026!\n"),
    );
    assert!(!weak.status.success());
    assert!(text(&weak).contains("too easy to guess"), "{}", text(&weak));
    let no_role = wijklog(
        &["user", "add", "--username", "x", "--data", &data],
        Some("wachtwoord123\n"),
    );
    assert!(!no_role.status.success());
}

fn parse_logins(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| l.trim_start().starts_with("demo-"))
        .map(|l| {
            let mut parts = l.split_whitespace();
            (
                parts.next().expect("user").to_owned(),
                parts.next().expect("password").to_owned(),
            )
        })
        .collect()
}

#[test]
fn demo_is_idempotent_and_its_logins_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(dir.path());
    let first = wijklog(&["demo", "--data", &data], None);
    assert!(first.status.success(), "{}", text(&first));
    let second = wijklog(&["demo", "--data", &data], None);
    assert!(second.status.success(), "{}", text(&second));
    let logins = parse_logins(&String::from_utf8_lossy(&first.stdout));
    assert_eq!(logins.len(), 6);
    assert_eq!(
        logins,
        parse_logins(&String::from_utf8_lossy(&second.stdout)),
        "same logins on a rerun"
    );

    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    for (user, password) in &logins {
        let u = store
            .user_by_username(user)
            .expect("lookup")
            .expect("exists");
        assert!(verify_password(password, &u.password_hash), "{user}");
    }
    let both = store
        .user_by_username("demo-boa-spreekuur")
        .expect("lookup")
        .expect("exists");
    assert_eq!(both.roles, vec![Role::Boa, Role::Spreekuur]);
    let walks = store.docs_of_kind(DocKind::Walk).expect("walks");
    assert_eq!(walks.len(), 5, "one demo walk per wijk, not duplicated");
    assert_eq!(
        store
            .docs_of_kind(DocKind::Spreekuur)
            .expect("sessions")
            .len(),
        1
    );
    assert_eq!(
        store.docs_of_kind(DocKind::Catalog).expect("catalog").len(),
        1
    );
    for walk in &walks {
        let rows = store.projection_rows(walk.id).expect("rows");
        assert_eq!(rows.len(), 4, "projected observations");
        assert!(rows.iter().all(|r| r.row_json.contains(&format!(
            "\"team\":\"{}\"",
            walk.team.as_deref().expect("team")
        ))));
    }
    assert!(
        !store
            .search_items("lantaarnpalen", 10)
            .expect("search")
            .is_empty()
    );
    let heads_before: Vec<_> = walks
        .iter()
        .map(|w| {
            let doc = store.load_doc(w.id).expect("load").expect("exists");
            doc.to_automerge().expect("doc").get_heads()
        })
        .collect();
    drop(store);

    // 5 walks, 1 spreekuur session, the catalog.
    let out = wijklog(&["compact", "--data", &data], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("compacted 7 documents"),
        "{}",
        text(&out)
    );
    let out = wijklog(&["compact", "--data", &data], None);
    assert!(
        text(&out).contains("compacted 0 documents"),
        "{}",
        text(&out)
    );
    let store = SqliteStore::open_in_dir(dir.path()).expect("open");
    for (walk, heads) in walks.iter().zip(heads_before) {
        let doc = store.load_doc(walk.id).expect("load").expect("exists");
        assert!(doc.changes.is_empty() && doc.snapshot.is_some());
        assert_eq!(doc.to_automerge().expect("doc").get_heads(), heads);
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn serve_backup_restore_and_graceful_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(&dir.path().join("data"));
    let added = wijklog(
        &[
            "user",
            "add",
            "--username",
            "anna",
            "--role",
            "boa",
            "--team",
            "noord",
            "--data",
            &data,
        ],
        Some("een-goed-wachtwoord\n"),
    );
    assert!(added.status.success(), "{}", text(&added));

    let mut server = Serve::new(env!("CARGO_BIN_EXE_wijklog"), &data).start();
    assert!(http_get(server.port, "/healthz").contains("\"status\":\"ok\""));

    // A second server on the same data directory is refused.
    let second = wijklog(&["serve", "--bind", "127.0.0.1:0", "--data", &data], None);
    assert!(!second.status.success());
    assert!(
        text(&second).contains("already running"),
        "{}",
        text(&second)
    );

    // Online backup while serving.
    let backup = dir.path().join("backup.db");
    let out = wijklog(
        &[
            "backup",
            "--to",
            backup.to_str().expect("utf-8"),
            "--data",
            &data,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = wijklog(
        &[
            "backup",
            "--to",
            backup.to_str().expect("utf-8"),
            "--data",
            &data,
        ],
        None,
    );
    assert!(!again.status.success(), "never overwrites a backup");

    // Restore refuses to touch a running server's database without --force.
    let out = wijklog(
        &[
            "restore",
            "--from",
            backup.to_str().expect("utf-8"),
            "--data",
            &data,
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("stop it first"), "{}", text(&out));
    // --force restores into the live database through the backup API.
    let out = wijklog(
        &[
            "restore",
            "--from",
            backup.to_str().expect("utf-8"),
            "--data",
            &data,
            "--force",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(http_get(server.port, "/readyz").contains("\"status\":\"ready\""));

    // SIGTERM: the server stops gracefully and exits 0.
    let status = server
        .terminate(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
    assert!(status.success(), "exit status {status:?}");

    // Offline restore into a fresh data directory.
    let fresh = data_arg(&dir.path().join("restored"));
    let out = wijklog(
        &[
            "restore",
            "--from",
            backup.to_str().expect("utf-8"),
            "--data",
            &fresh,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let store = SqliteStore::open_in_dir(Path::new(&fresh)).expect("open");
    assert!(store.user_by_username("anna").expect("lookup").is_some());
    assert_eq!(
        store.docs_of_kind(DocKind::Catalog).expect("catalog").len(),
        1,
        "the seeded catalog came along"
    );
}

#[test]
fn json_logs_carry_request_ids_and_never_names_passwords_or_tokens() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(dir.path());
    let added = wijklog(
        &[
            "user",
            "add",
            "--username",
            "wilhelmina",
            "--role",
            "boa",
            "--team",
            "noord",
            "--name",
            "Wilhelmina Jansen",
            "--data",
            &data,
        ],
        Some("geheim-wachtwoord-123\n"),
    );
    assert!(added.status.success(), "{}", text(&added));
    // The default log filter (info): one line per finished request.
    let mut server = Serve::new(env!("CARGO_BIN_EXE_wijklog"), &data)
        .arg("--log-format")
        .arg("json")
        .env("WIJKLOG_LOG_FILTER", "info")
        .start();
    let port = server.port;
    let login = |password: &str| {
        let body = format!("{{\"username\":\"wilhelmina\",\"password\":\"{password}\"}}");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            s,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    };
    let ok = login("geheim-wachtwoord-123");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let token = ok
        .split("\"refresh_token\":\"")
        .nth(1)
        .expect("refresh token")
        .split('"')
        .next()
        .expect("end")
        .to_owned();
    assert!(login("fout-wachtwoord-456").starts_with("HTTP/1.1 401"));
    assert!(http_get(port, "/healthz").contains("ok"));
    let status = server
        .terminate(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    let rest = server.stdout_lines().join("\n");

    let lines: Vec<serde_json::Value> = rest
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let finished: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "request finished")
        .collect();
    assert_eq!(finished.len(), 3, "one line per request:\n{rest}");
    for line in &finished {
        let id = line["span"]["request_id"]
            .as_str()
            .expect("request_id on the line");
        assert_eq!(id.len(), 36, "a UUID");
    }
    let statuses: Vec<i64> = finished
        .iter()
        .map(|l| l["status"].as_i64().expect("status"))
        .collect();
    assert_eq!(statuses, vec![200, 401, 200]);
    for secret in [
        "geheim-wachtwoord-123",
        "fout-wachtwoord-456",
        "Wilhelmina Jansen",
        "wilhelmina",
        &token,
    ] {
        assert!(
            !rest.contains(secret),
            "{secret:?} appeared in the logs:\n{rest}"
        );
    }
}

const DAY_MS: i64 = 86_400_000;

/// The tables a retention run may change.
const TABLES: [&str; 5] = ["documents", "changes", "snapshots", "notes", "audit_log"];

#[test]
fn retention_run_lists_without_changing_then_erases_what_is_due_and_audits_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(dir.path());
    let now = now_ms();
    // Default rules: contact details of a note without a closed task go
    // 365 days after the note. One note is 400 days old, one 10 days.
    let (doc, notes) = store_contact_session(
        dir.path(),
        now - 10 * DAY_MS,
        &[
            (now - 400 * DAY_MS, "Oudbewoner Zxq"),
            (now - 10 * DAY_MS, "Jongbewoner Zxq"),
        ],
    );
    let before = dump(dir.path(), &TABLES);

    let out = wijklog(&["retention", "run", "--dry-run", "--data", &data], None);
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    assert!(
        listing.contains(&format!("contact {doc}/{} due since", notes[0])),
        "{listing}"
    );
    assert!(!listing.contains(&notes[1]), "{listing}");
    assert!(
        listing.contains(": 1 contact details, 0 items' content"),
        "{listing}"
    );
    assert!(!listing.contains("bewoner Zxq"), "no values: {listing}");
    assert_eq!(
        dump(dir.path(), &TABLES),
        before,
        "a dry run changes nothing"
    );

    // A real run is refused while a server holds the data directory.
    {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.path().join("wijklog.lock"))
            .expect("lock file");
        lock.lock().expect("lock");
        let out = wijklog(&["retention", "run", "--data", &data], None);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("server is running"), "{}", text(&out));
        assert_eq!(
            dump(dir.path(), &TABLES),
            before,
            "a refused run changes nothing"
        );
    }

    let out = wijklog(&["retention", "run", "--data", &data], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("erased 1 contact details and 0 items' content"),
        "{}",
        text(&out)
    );
    let store = SqliteStore::open_in_dir(dir.path()).expect("store");
    let rows = store.projection_rows(doc).expect("rows");
    let row = |item: &str| {
        let r = rows.iter().find(|r| r.item_id == item).expect("row");
        serde_json::from_str::<serde_json::Value>(&r.row_json).expect("json")
    };
    let old = row(&notes[0]);
    assert_eq!(old["erased"]["contact"]["basis"], "bewaartermijn", "{old}");
    assert!(old["resident"]["name"].is_null(), "{old}");
    let young = row(&notes[1]);
    assert!(young["erased"].is_null(), "{young}");
    assert_eq!(young["resident"]["name"], "Jongbewoner Zxq");
    let audit = store.audit_entries(100).expect("audit");
    let run = audit
        .iter()
        .find(|a| a.entry.action == "retention.run")
        .expect("the run is audited");
    assert_eq!(run.entry.detail["via"], "cli");
    assert_eq!(run.entry.detail["contact"], 1);
    assert_eq!(run.entry.detail["content"], 0);
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.entry.action == "item.erase_contact")
            .count(),
        1
    );
    // The erased name is gone from the stored history too.
    let stored = store.load_doc(doc).expect("load").expect("doc");
    let am = stored.to_automerge().expect("automerge");
    // Every value of every change, decoded.
    let history: String = am
        .get_changes(&[])
        .iter()
        .map(|c| format!("{:?}\n", c.decode()))
        .collect();
    assert!(
        !history.contains("Oudbewoner Zxq"),
        "the erased name is not in the history"
    );
    assert!(history.contains("Jongbewoner Zxq"), "positive control");
}

#[test]
fn backup_to_dir_rotates_exactly_the_backups_older_than_the_kept_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_arg(&dir.path().join("data"));
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).expect("mkdir");
    let out = wijklog(&["migrate", "--data", &data], None);
    assert!(out.status.success(), "{}", text(&out));
    let name = |ms: i64| {
        let t = jiff::Timestamp::from_millisecond(ms).expect("time");
        format!("wijklog-{}.db", t.strftime("%Y%m%dT%H%M%SZ"))
    };
    let now = now_ms();
    let old = name(now - 31 * DAY_MS);
    let kept = name(now - 29 * DAY_MS);
    for f in [&old, &kept] {
        std::fs::write(backups.join(f), b"backup").expect("write");
    }
    std::fs::create_dir(backups.join(format!("{old}.blobs"))).expect("mkdir");
    std::fs::write(backups.join(format!("{old}.blobs/x")), b"photo").expect("write");
    // Not wijklog's backups: never touched, whatever their age.
    for f in [
        "notes.txt",
        "wijklog-oud.db",
        "wijklog-20000101T000000Z.sqlite",
    ] {
        std::fs::write(backups.join(f), b"other").expect("write");
    }
    let b = data_arg(&backups);
    let out = wijklog(
        &[
            "backup",
            "--to-dir",
            &b,
            "--keep-days",
            "30",
            "--data",
            &data,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deleted 1 backup(s) older than 30 days"),
        "{}",
        text(&out)
    );
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    left.sort();
    let fresh: Vec<&String> = left
        .iter()
        .filter(|n| n.starts_with("wijklog-") && n.ends_with(".db") && **n != kept && n.len() == 27)
        .collect();
    assert_eq!(fresh.len(), 1, "one new backup: {left:?}");
    let new_backup = fresh[0].clone();
    let mut want = vec![
        kept.clone(),
        new_backup.clone(),
        format!("{new_backup}.blobs"),
        "notes.txt".to_owned(),
        "wijklog-20000101T000000Z.sqlite".to_owned(),
        "wijklog-oud.db".to_owned(),
    ];
    want.sort();
    assert_eq!(left, want);
    // The new backup is a sound database.
    let conn = rusqlite::Connection::open(backups.join(&new_backup)).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");

    // --keep-days needs --to-dir; --to and --to-dir exclude each other.
    let single = data_arg(&dir.path().join("single.db"));
    let out = wijklog(
        &[
            "backup",
            "--to",
            &single,
            "--keep-days",
            "3",
            "--data",
            &data,
        ],
        None,
    );
    assert!(!out.status.success(), "{}", text(&out));
    let out = wijklog(
        &["backup", "--to", &single, "--to-dir", &b, "--data", &data],
        None,
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!dir.path().join("single.db").exists());
}
