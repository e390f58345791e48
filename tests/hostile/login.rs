//! Logins and refresh tokens under attack (docs/security.md, "Logins").

use std::thread;

use serde_json::json;

use crate::client::{self, lo, normal};
use crate::{PASSWORD, assert_survived, login_ok, start, token};

fn wrong_login(port: u16, from: std::net::IpAddr, user: &str) -> client::Reply {
    client::post_json(
        port,
        from,
        "/api/v1/auth/login",
        &json!({"username": user, "password": "not-the-password-at-all"}),
    )
}

/// 40 parallel guesses from one address against a budget of 5: at most 5
/// passwords are checked, the rest are refused before hashing.
#[test]
fn parallel_guesses_from_one_address_are_counted_before_hashing() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let attacker = lo(0, 5, 5);
    let replies: Vec<client::Reply> = (0..40)
        .map(|_| thread::spawn(move || wrong_login(port, attacker, "anna")))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let evaluated = replies.iter().filter(|r| r.status == 401).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 429 && r.code() == "rate_limited")
        .count();
    assert!(
        evaluated <= 5,
        "{evaluated} of 40 parallel guesses were checked; the budget is 5"
    );
    assert_eq!(
        evaluated
            + refused
            + replies
                .iter()
                .filter(|r| r.status == 503 && r.code() == "busy")
                .count(),
        40,
        "every guess got 401, 429 rate_limited or 503 busy"
    );
    // The real user, elsewhere, is not affected.
    login_ok(port, normal(), "anna");
    assert_survived(&mut server, "40 parallel guesses");
}

/// 100 concurrent logins from 100 addresses: Argon2id runs one per core
/// with a bounded queue (503 `busy` beyond), so memory stays bounded, and a
/// logged-in user keeps working meanwhile.
#[test]
fn a_login_flood_is_bounded_and_logged_in_users_keep_working() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let anna = token(&login_ok(port, normal(), "anna"));
    let flood: Vec<_> = (0..100u8)
        .map(|i| thread::spawn(move || wrong_login(port, lo(0, 6, i + 1), &format!("gast{i}"))))
        .collect();
    // During the flood: the logged-in user's requests are answered.
    let me = client::get_auth(port, normal(), "/api/v1/auth/me", &anna);
    assert_eq!(me.status, 200, "{}", me.text());
    for h in flood {
        let r = h.join().expect("thread");
        assert!(
            (r.status == 401 && r.code() == "invalid_credentials")
                || (r.status == 503 && r.code() == "busy"),
            "{} {}",
            r.status,
            r.text()
        );
    }
    assert_survived(&mut server, "100 concurrent logins");
}

/// Guessing one account's password from many addresses locks out unknown
/// clients for the window, but not the real user's device, which presents
/// the login-trust token an earlier login gave it: also after a restart
/// and from an address it never used.
#[test]
fn distributed_guessing_does_not_lock_out_the_real_user() {
    let env = [
        ("WIJKLOG_LOGIN_RATE_LIMIT_ACCOUNT_MAX_FAILURES", "20"),
        ("WIJKLOG_LOGIN_RATE_LIMIT_PAIR_MAX_FAILURES", "2"),
    ];
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), &env);
    let first = login_ok(server.port, lo(0, 7, 1), "anna");
    let trust = first["login_trust"].as_str().unwrap_or_default().to_owned();
    server.kill();
    // After a restart nothing is remembered in memory.
    let mut server = start(data.path(), &env);
    let port = server.port;
    let attackers: Vec<_> = (0..11u8)
        .map(|i| {
            thread::spawn(move || {
                (0..2)
                    .map(|_| wrong_login(port, lo(0, 8, i + 1), "anna").status)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in attackers {
        for status in h.join().expect("thread") {
            assert!(status == 401 || status == 429, "attacker got {status}");
        }
    }
    // An unknown client is held back, even with the right password...
    let stranger = client::post_json(
        port,
        lo(0, 7, 99),
        "/api/v1/auth/login",
        &json!({"username": "anna", "password": PASSWORD}),
    );
    assert_eq!(
        (stranger.status, stranger.code().as_str()),
        (429, "rate_limited")
    );
    // ...the real user's device is not, from a new address too.
    let real = client::post_json(
        port,
        lo(0, 7, 100),
        "/api/v1/auth/login",
        &json!({"username": "anna", "password": PASSWORD, "login_trust": trust}),
    );
    assert_eq!(
        real.status,
        200,
        "the real user was locked out: {}",
        real.text()
    );
    assert_survived(&mut server, "distributed guessing");
}

fn refresh(port: u16, from: std::net::IpAddr, token: &str) -> client::Reply {
    client::post_json(
        port,
        from,
        "/api/v1/auth/refresh",
        &json!({"refresh_token": token}),
    )
}

/// A thief replaying the just-used refresh token inside the grace window
/// gets the same successor the phone got (no second session); any later
/// reuse revokes the device and is audited.
#[test]
fn a_replayed_refresh_token_gets_the_same_successor_and_later_reuse_revokes() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let phone = normal();
    let thief = lo(0, 9, 9);
    let login = login_ok(port, phone, "anna");
    let r0 = login["refresh_token"].as_str().expect("refresh").to_owned();
    let first = refresh(port, phone, &r0);
    assert_eq!(first.status, 200);
    let r1 = first.json()["refresh_token"]
        .as_str()
        .expect("r1")
        .to_owned();
    let replay = refresh(port, thief, &r0);
    assert_eq!(replay.status, 200, "{}", replay.text());
    assert_eq!(
        replay.json()["refresh_token"].as_str(),
        Some(r1.as_str()),
        "the replay must get the same successor, not a fresh session"
    );
    let second = refresh(port, phone, &r1);
    assert_eq!(second.status, 200);
    let r2 = second.json()["refresh_token"]
        .as_str()
        .expect("r2")
        .to_owned();
    let again = refresh(port, thief, &r0);
    assert_eq!((again.status, again.code().as_str()), (401, "token_reused"));
    let after = refresh(port, phone, &r2);
    assert_eq!(
        (after.status, after.code().as_str()),
        (401, "revoked"),
        "reuse revokes the whole device"
    );
    let db = rusqlite::Connection::open(data.path().join("wijklog.db")).expect("db");
    let audited: i64 = db
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'auth.refresh_reuse'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(audited, 1);
    assert_survived(&mut server, "refresh replay");
}
