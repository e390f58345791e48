//! The HTTP edge under attack: slow bodies, headers, `/metrics`, hostile
//! query strings, the bearer parser, files on disk, exports, admin rights.

use std::io::Write;
use std::time::Duration;

use automerge::AutoCommit;
use serde_json::json;
use uuid::Uuid;
use wijklog_shared::{Catalog, DocId, Document, NewItem, Severity, Timestamp, UserId};
use wijklog_tests::sync_client::SyncClient;
use wijklog_tests::walks::new_walk;

use crate::client::{self, lo, normal};
use crate::{assert_survived, login_ok, start, token};

/// Connections that send their headers and a piece of the body, then stall:
/// one address gets at most `max_requests_per_address` in flight (429 at
/// once beyond), each stalled body is answered 408 `body_timeout` and
/// closed, and a normal client is served all along.
#[test]
fn stalled_request_bodies_time_out_and_one_address_cannot_take_every_slot() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(
        data.path(),
        &[
            // Long enough that all 60 requests are in before the first
            // times out, so that at most 20 can ever have been admitted.
            ("WIJKLOG_HTTP_BODY_IDLE_TIMEOUT_SECS", "5"),
            ("WIJKLOG_HTTP_MAX_REQUESTS_PER_ADDRESS", "20"),
            ("WIJKLOG_HTTP_HEADER_TIMEOUT_SECS", "2"),
        ],
    );
    let port = server.port;
    // Connections whose headers never end are answered 408 and closed too.
    let mut half_headers = Vec::new();
    for _ in 0..10 {
        let mut s = client::connect(port, lo(0, 11, 2));
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        half_headers.push(s);
    }
    let attacker = lo(0, 11, 1);
    let mut stalled = Vec::new();
    for _ in 0..60 {
        let mut s = client::connect(port, attacker);
        s.write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"user"
            )
            .as_bytes(),
        )
        .expect("write");
        stalled.push(s);
    }
    // Meanwhile a normal client logs in and reads.
    let anna = token(&login_ok(port, normal(), "anna"));
    let me = client::get_auth(port, normal(), "/api/v1/auth/me", &anna);
    assert_eq!(me.status, 200);
    let mut timed_out = 0;
    let mut refused = 0;
    for mut s in stalled {
        let r = client::read_reply(&mut s).expect("every stalled request is answered and closed");
        match (r.status, r.code().as_str()) {
            (408, "body_timeout") => timed_out += 1,
            (429, "too_many_requests") => refused += 1,
            other => panic!("unexpected answer {other:?}: {}", r.text()),
        }
    }
    assert_eq!(timed_out + refused, 60);
    for mut s in half_headers {
        // Answered 408 (actix) or closed without an answer: either way the
        // connection ends instead of waiting forever.
        if let Some(r) = client::read_reply(&mut s) {
            assert_eq!(r.status, 408, "{}", r.text());
        }
    }
    assert!(
        timed_out <= 20,
        "{timed_out} requests in flight from one address; the cap is 20"
    );
    assert!(refused >= 40);
    assert_survived(&mut server, "60 stalled bodies");
}

/// Every answer carries the security headers; the app's policy allows its
/// wasm and the configured tiles and forbids framing.
#[test]
fn every_answer_carries_the_security_headers() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(data.path().join("static")).expect("static");
    std::fs::write(
        data.path().join("static/index.html"),
        "<!doctype html><title>t</title>",
    )
    .expect("index");
    let mut server = start(
        data.path(),
        &[(
            "WIJKLOG_MAP_TILE_URL",
            "https://tiles.example.nl/{z}/{x}/{y}.png",
        )],
    );
    for path in ["/", "/api/v1/auth/me", "/healthz", "/api/v1/items"] {
        let r = client::request(server.port, normal(), "GET", path, &[], b"");
        let csp = r.header("content-security-policy").unwrap_or_default();
        for part in [
            "script-src 'self' 'wasm-unsafe-eval'",
            "https://tiles.example.nl",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{path}: CSP {csp:?} lacks {part}");
        }
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(r.header("referrer-policy").is_some(), "{path}");
    }
    assert_survived(&mut server, "headers");
}

/// `/metrics` is not public: 404 without a configured token, 401 with a
/// wrong one, 200 with the right one.
#[test]
fn metrics_need_the_configured_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), &[]);
    let r = client::request(server.port, normal(), "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    server.kill();
    let secret = "a-long-metrics-token-for-prometheus";
    let mut server = start(data.path(), &[("WIJKLOG_HTTP_METRICS_TOKEN", secret)]);
    let r = client::get_auth(server.port, normal(), "/metrics", "wrong-token-wrong-token");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    let r = client::get_auth(server.port, normal(), "/metrics", secret);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("wijklog_login_failures_total"));
    assert_survived(&mut server, "metrics");
}

/// A NUL byte (or another control character) in a query parameter is a
/// clean 400 `invalid_parameter`, never a 500.
#[test]
fn a_nul_byte_in_a_query_is_a_clean_400() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let cor = token(&login_ok(server.port, normal(), "cor"));
    for path in [
        "/api/v1/items?q=%00",
        "/api/v1/items?q=a%00b",
        "/api/v1/items?wijk=%0Aoost",
        "/api/v1/export.csv?q=%00",
    ] {
        let r = client::get_auth(server.port, normal(), path, &cor);
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_parameter"),
            "{path}: {}",
            r.text()
        );
    }
    assert_survived(&mut server, "NUL in q");
}

/// `authorization: bearer …` (lower case, as some proxies and clients
/// send it) works on every endpoint: items, photos, admin.
#[test]
fn the_bearer_scheme_is_case_insensitive_everywhere() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let cor = token(&login_ok(port, normal(), "cor"));
    let ada = token(&login_ok(port, normal(), "ada"));
    let unknown_blob = format!("/api/v1/blobs/{}", "0".repeat(64));
    for (path, tok, want) in [
        ("/api/v1/items", &cor, 200),
        (unknown_blob.as_str(), &cor, 404),
        ("/api/v1/admin/users", &ada, 200),
    ] {
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let auth = format!("{scheme} {tok}");
            let r = client::request(
                port,
                normal(),
                "GET",
                path,
                &[("authorization", &auth)],
                b"",
            );
            assert_eq!(r.status, want, "{scheme} on {path}: {}", r.text());
        }
    }
    assert_survived(&mut server, "bearer");
}

/// The database (with its WAL and SHM files), the secret, the photo
/// directory and the photos are readable by the owner only.
#[test]
fn data_files_are_private_to_the_server_user() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let anna = token(&login_ok(server.port, normal(), "anna"));
    // A real photo so that the blob directories exist.
    let photo = crate::photos::tiny_png();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&photo));
    let auth = format!("Bearer {anna}");
    let r = client::request(
        server.port,
        normal(),
        "PUT",
        &format!("/api/v1/blobs/{hash}"),
        &[("Authorization", &auth)],
        &photo,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for file in [
        "wijklog.db",
        "wijklog.db-wal",
        "wijklog.db-shm",
        "jwt_secret",
    ] {
        let p = data.path().join(file);
        assert_eq!(mode(&p), 0o600, "{file} is {:o}", mode(&p));
    }
    let blob = data.path().join("blobs").join(&hash[..2]).join(&hash[2..]);
    assert_eq!(mode(&blob), 0o600, "the photo");
    assert_eq!(
        mode(&data.path().join("blobs")),
        0o700,
        "the photo directory"
    );
    assert_eq!(
        mode(blob.parent().expect("dir")),
        0o700,
        "the photo's directory"
    );
    assert_survived(&mut server, "file modes");
}

/// A boa types a formula into an observation; the coordinator's CSV export
/// writes it as text (`'=...`), never as a formula.
#[test]
fn csv_exports_neutralise_formulas() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let formula = "=HYPERLINK(\"https://example.invalid\",\"klik\")";
    actix_rt::System::new().block_on(async {
        let login = wijklog_tests::sync_client::login(&base, "anna", crate::PASSWORD).await;
        let user = login["user"]["id"].as_str().expect("id").to_owned();
        let id = Uuid::new_v4();
        let walk = new_walk(id, &user, "noord");
        let mut doc = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), walk);
        for text in [formula, "+31 6 12345678", "@SUM(1+1)", "-1+1"] {
            doc.add_observation(
                &Catalog::defaults(),
                &UserId::parse(&user).expect("user id"),
                Timestamp::from_millis(1_767_265_200_000),
                NewItem {
                    id: None,
                    category: "vervuiling".into(),
                    severity: Severity::Informatief,
                    text: text.into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("observation");
        }
        let doc: AutoCommit = doc.automerge().clone();
        let mut phone =
            SyncClient::connect(&base, login["access_token"].as_str().expect("t")).await;
        phone.add_doc(id, doc);
        assert!(phone.sync_until_acked(id, Duration::from_secs(30)).await);
    });
    let cor = token(&login_ok(server.port, normal(), "cor"));
    let csv = client::get_auth(server.port, normal(), "/api/v1/export.csv", &cor);
    assert_eq!(csv.status, 200);
    let text = csv.text();
    let cells: Vec<&str> = text.split([',', '\n', '\r']).collect();
    for bad in ["=HYPERLINK", "+31 6", "@SUM", "-1+1"] {
        assert!(
            !cells
                .iter()
                .any(|c| c.trim_start_matches('"').starts_with(bad)),
            "a cell starts with {bad}: {text}"
        );
    }
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert_survived(&mut server, "CSV export");
}

/// Weak passwords are refused (`weak_password`), and an admin cannot give
/// their own account a role that reads content (`self_grant`).
#[test]
fn admins_cannot_set_weak_passwords_or_grant_themselves_content_roles() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let login = login_ok(port, normal(), "ada");
    let ada = token(&login);
    let ada_id = login["user"]["id"].as_str().expect("id").to_owned();
    let auth = format!("Bearer {ada}");
    let post = |path: &str, method: &str, body: serde_json::Value| {
        client::request(
            port,
            normal(),
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    };
    for weak in [
        "password123",
        "Welkom2026!",
        "wijklog-2026",
        "bert.devries1",
    ] {
        let r = post(
            "/api/v1/admin/users",
            "POST",
            json!({"username": "bert.devries", "name": "Bert de Vries", "password": weak, "roles": ["boa"], "team": "noord"}),
        );
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "weak_password"),
            "{weak}: {}",
            r.text()
        );
    }
    let r = post(
        "/api/v1/admin/users",
        "POST",
        json!({"username": "bert.devries", "name": "Bert de Vries", "password": "zeven-blauwe-reigers-bij-de-sluis", "roles": ["boa"], "team": "noord"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post(
        &format!("/api/v1/admin/users/{ada_id}"),
        "PATCH",
        json!({"roles": ["admin", "coordinator"]}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "self_grant"),
        "{}",
        r.text()
    );
    assert_survived(&mut server, "admin rights");
}
