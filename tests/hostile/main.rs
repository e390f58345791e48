//! The hostile suite (docs/security.md): each test attacks a real
//! `wijklog serve` (the debug binary, spawned under a 3 GiB address-space
//! limit like the original findings) the way a hostile client would, and
//! checks that
//! - the server stays up,
//! - its peak resident memory (VmHWM) stays under [`RSS_BOUND_KB`],
//! - a normal client keeps working during the attack,
//! - the attacker gets the documented error.
//!
//! Run: `cargo test -p wijklog-tests --test hostile` (part of `make test`).
//! No assertion depends on timing; reads have a generous hang guard only.

mod client;
mod edge;
mod login;
mod photos;

use std::path::Path;

use wijklog_tests::server_process::{ServerProcess, add_user, serve_capped};

/// The server may map at most this much memory (RLIMIT_AS): the limit the
/// findings were made under. Beyond it an allocation fails and the server
/// dies, which every test would notice.
pub const ADDRESS_SPACE_LIMIT: u64 = 3 * 1024 * 1024 * 1024;

/// Peak resident memory a server may reach during any attack here (kB).
/// An idle debug server uses about 30 MB; Argon2id takes 19 MiB per running
/// hash and an image decode at most 96 MiB, each bounded to one per core;
/// measured peaks are 20-62 MB (docs/security.md).
pub const RSS_BOUND_KB: u64 = 256 * 1024;

/// Passwords of the suite's accounts (long phrases: the policy refuses weak ones).
pub const PASSWORD: &str = "vijf-groene-fietsen-aan-de-gracht";

/// A capped server on a fresh data directory with `env` settings, and the
/// accounts every test uses: `anna` (boa, team noord), `cor`
/// (coordinator), `ada` (admin).
pub fn start(data: &Path, env: &[(&str, &str)]) -> ServerProcess {
    if !data.join("wijklog.db").exists() {
        add_user(data, "anna", PASSWORD, &["boa"], Some("noord"));
        add_user(data, "cor", PASSWORD, &["coordinator"], None);
        add_user(data, "ada", PASSWORD, &["admin"], None);
    }
    serve_capped(data, ADDRESS_SPACE_LIMIT).envs(env).start()
}

/// Asserts that the server is still up and its peak memory under the bound.
pub fn assert_survived(server: &mut ServerProcess, what: &str) {
    assert!(server.is_running(), "{what}: the server died");
    let peak = server.peak_rss_kb().expect("VmHWM from /proc");
    assert!(
        peak < RSS_BOUND_KB,
        "{what}: peak RSS {peak} kB is over the bound of {RSS_BOUND_KB} kB"
    );
    eprintln!("{what}: peak RSS {} MB", peak / 1024);
    let health = client::request(server.port, client::normal(), "GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200, "{what}: /healthz after the attack");
}

/// Logs in from `from`; the JSON answer (panics unless 200).
pub fn login_ok(port: u16, from: std::net::IpAddr, user: &str) -> serde_json::Value {
    let r = client::post_json(
        port,
        from,
        "/api/v1/auth/login",
        &serde_json::json!({"username": user, "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "login {user}: {}", r.text());
    r.json()
}

/// The access token of a login answer.
pub fn token(login: &serde_json::Value) -> String {
    login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}
