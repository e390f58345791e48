//! The `wijklog` binary: user add/disable, demo, backup and restore, serve
//! with graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wijklog_server::auth::password::verify_password;
use wijklog_server::domain::{DocKind, Role};
use wijklog_server::storage::{SqliteStore, Store, StoreInspect};
use wijklog_testing::cli::{self, text};

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

struct Server {
    child: Child,
    port: u16,
}

fn start_server(data: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wijklog"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data",
            data,
            "--static",
            "/nonexistent-pwa",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        assert!(Instant::now() < deadline, "server did not start");
        let line = lines.next().expect("server exited early").expect("read");
        if let Some(rest) = line.strip_prefix("wijklog listening on port ") {
            break rest.trim().parse().expect("port");
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
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

    let mut server = start_server(&data);
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
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_wijklog"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data",
            &data,
            "--log-format",
            "json",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "server exited early"
        );
        if let Some(rest) = line.strip_prefix("wijklog listening on port ") {
            break rest.trim().parse().expect("port");
        }
    };
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
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read logs");
    assert!(child.wait().expect("wait").success());

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
