//! Admin actions that end sessions: a password reset and a role or team
//! change sign every device of the user out (log in again, keep the data:
//! refresh and access tokens answer `session_ended`, open sync connections
//! close with 4001), disabling revokes them (4003, the device wipes), a name
//! change does neither; and every one of these admin actions is audited.

use std::time::Duration;

use serde_json::{Value, json};
use wijklog_server::domain::Role;
use wijklog_server::routes::auth::TokenResponse;
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_testing::users::{TestUser, connect, user};

const PW: &str = "een-lang-test-wachtwoord";
const WAIT: Duration = Duration::from_secs(10);

async fn admin_call(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> Response {
    let auth = format!("Bearer {token}");
    let body = (method != "GET").then(|| body.to_string().into_bytes());
    app.request(
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
    .await
}

async fn me(app: &TestApp, access: &str) -> Response {
    let auth = format!("Bearer {access}");
    app.request("GET", "/api/v1/auth/me", &[("Authorization", &auth)], None)
        .await
}

fn code(res: &Response) -> (u16, String) {
    (
        res.status,
        res.json()["code"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The admin's `admin.*` audit entries, newest first: (action, subject, detail).
async fn admin_audit(app: &TestApp, admin: &str, admin_id: &str) -> Vec<(String, String, Value)> {
    let res = admin_call(
        app,
        admin,
        "GET",
        &format!("/api/v1/admin/audit?actor={admin_id}&action=admin.user."),
        Value::Null,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["subject"].as_str().unwrap_or_default().to_owned(),
                e["detail"].clone(),
            )
        })
        .collect()
}

struct World {
    app: TestApp,
    admin: String,
    admin_id: String,
    bert_id: String,
    /// Bert's second device, logged in over REST (keeps its refresh token).
    laptop: TokenResponse,
}

async fn world() -> World {
    let app = spawn_app_with(|c| c.auth.session_check_secs = 1).await;
    let admin = user(&app, "beheer", &[Role::Admin], None).await;
    let bert = app.add_user("bert", PW, &[Role::Boa], Some("noord"));
    let laptop = app.login("bert", PW).await.expect("login");
    World {
        admin: admin.token,
        admin_id: admin.id,
        bert_id: bert.id.to_string(),
        laptop,
        app,
    }
}

#[actix_web::test]
async fn a_password_reset_signs_every_device_out_without_revoking_it() {
    let w = world().await;
    let phone = TestUser {
        id: w.bert_id.clone(),
        token: w.app.login("bert", PW).await.expect("login").access_token,
        device_id: String::new(),
    };
    let mut sync = connect(&w.app, &phone).await;
    assert_eq!(me(&w.app, &w.laptop.access_token).await.status, 200);

    let res = admin_call(
        &w.app,
        &w.admin,
        "POST",
        &format!("/api/v1/admin/users/{}/password", w.bert_id),
        json!({"password": "een-nieuw-wachtwoord"}),
    )
    .await;
    assert_eq!(res.status, 204, "{}", res.text());

    // The open sync connection is closed as "log in again", not "revoked".
    sync.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(sync.closed, Some(Some((4001, "unauthenticated".into()))));
    // The other device's access token and refresh token are refused the same way.
    assert_eq!(
        code(&me(&w.app, &w.laptop.access_token).await),
        (401, "session_ended".into())
    );
    let refused = w
        .app
        .refresh(&w.laptop.refresh_token)
        .await
        .expect_err("refused");
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (401, "session_ended")
    );
    // Presenting it again is not treated as token reuse.
    let again = w
        .app
        .refresh(&w.laptop.refresh_token)
        .await
        .expect_err("refused");
    assert_eq!(again.code, "session_ended");
    // Signed out, not revoked (a revoked device would wipe its unsent work).
    let res = admin_call(
        &w.app,
        &w.admin,
        "GET",
        &format!("/api/v1/admin/users/{}/devices", w.bert_id),
        Value::Null,
    )
    .await;
    let devices = res.json()["devices"].as_array().expect("devices").clone();
    assert_eq!(devices.len(), 2);
    for d in &devices {
        assert!(d["signed_out_at"].is_i64(), "{d}");
        assert!(d["revoked_at"].is_null(), "{d}");
    }
    // The old password is gone, the new one logs in on a fresh device.
    assert!(w.app.login("bert", PW).await.is_err());
    let fresh = w
        .app
        .login("bert", "een-nieuw-wachtwoord")
        .await
        .expect("login");
    assert_eq!(me(&w.app, &fresh.access_token).await.status, 200);
    // Audited, with the admin as actor and never the password.
    let audit = admin_audit(&w.app, &w.admin, &w.admin_id).await;
    assert_eq!(audit[0].0, "admin.user.password");
    assert_eq!(audit[0].1, w.bert_id);
    assert!(!audit[0].2.to_string().contains("nieuw-wachtwoord"));
}

#[actix_web::test]
async fn a_role_or_team_change_signs_the_user_out_and_a_name_change_does_not() {
    let w = world().await;
    let user_path = format!("/api/v1/admin/users/{}", w.bert_id);

    // A new name only: the session continues.
    let res = admin_call(
        &w.app,
        &w.admin,
        "PATCH",
        &user_path,
        json!({"name": "Bert B."}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(me(&w.app, &w.laptop.access_token).await.status, 200);
    // The same roles and team again: nothing changes, the session continues.
    let res = admin_call(
        &w.app,
        &w.admin,
        "PATCH",
        &user_path,
        json!({"roles": ["boa"], "team": "noord"}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(me(&w.app, &w.laptop.access_token).await.status, 200);

    // A new role: every device must log in again (and gets the new role).
    let res = admin_call(
        &w.app,
        &w.admin,
        "PATCH",
        &user_path,
        json!({"roles": ["boa", "spreekuur"]}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["active_devices"], 0);
    assert_eq!(
        code(&me(&w.app, &w.laptop.access_token).await),
        (401, "session_ended".into())
    );
    let again = w.app.login("bert", PW).await.expect("login");
    assert_eq!(again.user.roles, vec!["boa", "spreekuur"]);

    // A new team: the same.
    let res = admin_call(
        &w.app,
        &w.admin,
        "PATCH",
        &user_path,
        json!({"team": "zuid"}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        code(&me(&w.app, &again.access_token).await),
        (401, "session_ended".into())
    );
    let third = w.app.login("bert", PW).await.expect("login");
    assert_eq!(third.user.team.as_deref(), Some("zuid"));

    // Disabling revokes (the device is told to wipe), not just signs out.
    let res = admin_call(
        &w.app,
        &w.admin,
        "PATCH",
        &user_path,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        code(&me(&w.app, &third.access_token).await),
        (401, "revoked".into())
    );

    // Every change is in the audit log, newest first, with what it did.
    let audit = admin_audit(&w.app, &w.admin, &w.admin_id).await;
    let actions: Vec<&str> = audit.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(actions, vec!["admin.user.update"; 5]);
    assert!(audit.iter().all(|a| a.1 == w.bert_id));
    assert_eq!(audit[0].2["disabled"], true);
    assert_eq!(audit[1].2["team"], "zuid");
    assert_eq!(audit[1].2["devices_signed_out"], 1);
    assert_eq!(audit[2].2["roles"], json!(["boa", "spreekuur"]));
    assert_eq!(audit[2].2["devices_signed_out"], 1);
    assert!(audit[3].2.get("devices_signed_out").is_none());
    assert!(audit[4].2.get("devices_signed_out").is_none());
    assert_eq!(audit[4].2["fields"], json!(["name"]));
}

#[actix_web::test]
async fn every_admin_call_is_audited_even_reads_and_refusals_are_not_actions() {
    let w = world().await;
    let boa = w.app.login("bert", PW).await.expect("login");
    // A boa calling an admin endpoint is refused and nothing is recorded as done.
    let res = admin_call(
        &w.app,
        &boa.access_token,
        "GET",
        "/api/v1/admin/users",
        Value::Null,
    )
    .await;
    assert_eq!(res.status, 403);
    let calls = [
        (
            "GET",
            "/api/v1/admin/users".to_owned(),
            Value::Null,
            "admin.users.list",
        ),
        (
            "POST",
            "/api/v1/admin/users".to_owned(),
            json!({"username": "nina", "name": "Nina", "password": "nog-een-wachtwoord", "roles": ["coordinator"]}),
            "admin.user.create",
        ),
        (
            "GET",
            format!("/api/v1/admin/users/{}/devices", w.bert_id),
            Value::Null,
            "admin.devices.list",
        ),
        (
            "POST",
            format!("/api/v1/admin/devices/{}/revoke", boa.device_id),
            json!({}),
            "admin.device.revoke",
        ),
        (
            "GET",
            "/api/v1/admin/audit?limit=5".to_owned(),
            Value::Null,
            "admin.audit.read",
        ),
    ];
    for (method, path, body, action) in calls {
        let res = admin_call(&w.app, &w.admin, method, &path, body).await;
        assert!(res.status < 300, "{method} {path}: {}", res.text());
        let res = admin_call(
            &w.app,
            &w.admin,
            "GET",
            &format!("/api/v1/admin/audit?actor={}&limit=2", w.admin_id),
            Value::Null,
        )
        .await;
        // Newest first: the call just made (this read is recorded after it answers).
        let entries = res.json()["entries"].as_array().expect("entries").clone();
        assert_eq!(entries[0]["action"], action, "{method} {path}");
        assert_eq!(entries[0]["actor"], w.admin_id.as_str());
    }
    let res = admin_call(
        &w.app,
        &w.admin,
        "GET",
        &format!("/api/v1/admin/audit?actor={}", w.bert_id),
        Value::Null,
    )
    .await;
    assert!(
        res.json()["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| !e["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("admin.")),
        "the refused call is not an admin action"
    );
}

#[actix_web::test]
async fn the_device_list_shows_when_a_phone_last_synced_not_only_when_it_logged_in() {
    let w = world().await;
    let phone = w.app.login("bert", PW).await.expect("login");
    // Pretend the login was long ago.
    let db = rusqlite::Connection::open(w.app.data_dir.join("wijklog.db")).expect("open db");
    db.execute(
        "UPDATE devices SET last_seen_at = 1000 WHERE id = ?1",
        [&phone.device_id],
    )
    .expect("backdate");
    let before = wijklog_server::domain::now_ms();

    // The phone connects to sync: its session is checked at auth (the
    // answer `ready` comes after that) and then every second here.
    let sync = connect(
        &w.app,
        &TestUser {
            id: w.bert_id.clone(),
            token: phone.access_token.clone(),
            device_id: phone.device_id.clone(),
        },
    )
    .await;
    assert_eq!(sync.ready["type"], "ready");

    let res = admin_call(
        &w.app,
        &w.admin,
        "GET",
        &format!("/api/v1/admin/users/{}/devices", w.bert_id),
        Value::Null,
    )
    .await;
    let devices = res.json()["devices"].as_array().expect("devices").clone();
    let row = devices
        .iter()
        .find(|d| d["id"] == phone.device_id.as_str())
        .expect("the phone");
    let seen = row["last_seen_at"].as_i64().expect("last_seen_at");
    assert!(
        seen >= before,
        "last contact {seen} is the sync, not the login"
    );
    let users = admin_call(&w.app, &w.admin, "GET", "/api/v1/admin/users", Value::Null).await;
    let bert = users.json()["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["id"] == w.bert_id.as_str())
        .cloned()
        .expect("bert");
    assert!(bert["last_seen_at"].as_i64().expect("seen") >= before);
}

#[actix_web::test]
async fn coordinators_see_every_account_change_that_can_open_content() {
    let w = world().await;
    let cora = user(&w.app, "cora", &[Role::Coordinator], None).await;
    let boa = user(&w.app, "bo", &[Role::Boa], Some("noord")).await;
    // The admin makes a new coordinator, moves Bert to another team, resets
    // his password, and renames him (a rename opens nothing).
    let created = admin_call(
        &w.app,
        &w.admin,
        "POST",
        "/api/v1/admin/users",
        json!({"username": "nico", "name": "Nico Nieuw", "password": "zeven-blauwe-reigers-bij-de-sluis", "roles": ["coordinator"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let bert = format!("/api/v1/admin/users/{}", w.bert_id);
    for (path, body) in [
        (bert.clone(), json!({"team": "zuid"})),
        (
            format!("{bert}/password"),
            json!({"password": "paars-fietsen-onder-de-brug"}),
        ),
        (bert.clone(), json!({"name": "Bert B."})),
    ] {
        let method = if path.ends_with("password") {
            "POST"
        } else {
            "PATCH"
        };
        let res = admin_call(&w.app, &w.admin, method, &path, body).await;
        assert!(res.status < 300, "{path}: {}", res.text());
    }
    let res = admin_call(
        &w.app,
        &cora.token,
        "GET",
        "/api/v1/access-changes",
        Value::Null,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let changes = res.json()["changes"].as_array().expect("changes").clone();
    let summary: Vec<(String, String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default().to_owned(),
                c["actor"]["id"].as_str().unwrap_or_default().to_owned(),
                c["subject"]["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "admin.user.password".to_owned(),
                w.admin_id.clone(),
                "Bert B.".to_owned()
            ),
            (
                "admin.user.update".to_owned(),
                w.admin_id.clone(),
                "Bert B.".to_owned()
            ),
            (
                "admin.user.create".to_owned(),
                w.admin_id.clone(),
                "Nico Nieuw".to_owned()
            ),
        ],
        "newest first; the rename is not listed"
    );
    assert_eq!(changes[1]["team"], json!("zuid"));
    assert_eq!(changes[2]["roles"], json!(["coordinator"]));
    // Only coordinators: a boa and the admin get 403.
    for token in [&boa.token, &w.admin] {
        let res = admin_call(&w.app, token, "GET", "/api/v1/access-changes", Value::Null).await;
        assert_eq!(code(&res), (403, "forbidden".to_owned()));
    }
}

/// Expected answer: status, code, sentence.
type Want = (u16, &'static str, &'static str);

/// Every refused admin body gets its own stable answer (status, code and
/// sentence) and changes nothing: the account list and Bert's account are
/// the same after all of them.
#[actix_web::test]
async fn bad_admin_bodies_get_a_stable_answer_and_change_nothing() {
    let w = world().await;
    let bert = format!("/api/v1/admin/users/{}", w.bert_id);
    let password = format!("{bert}/password");
    let before = admin_call(&w.app, &w.admin, "GET", "/api/v1/admin/users", Value::Null).await;
    assert_eq!(before.status, 200, "{}", before.text());

    const NOT_OBJECT: &str = "The request body is not a JSON object of the expected shape.";
    const UNKNOWN: &str = "The request body has a field this endpoint does not know.";
    const USERNAME: &str = "username must be a non-empty text of at most 64 characters.";
    const NAME: &str = "name must be a non-empty text of at most 200 characters.";
    const ROLES: &str = "roles must be a non-empty list of boa, spreekuur, coordinator, admin.";
    const TEAM: &str = "team must be a non-empty text of at most 64 characters, or null.";
    const LENGTH: &str = "The password must be 10 to 256 characters long.";
    const WEAK: &str = "This password is too easy to guess (a common or leaked password, or built from the name); choose a longer phrase.";
    let ok = || json!({"username": "nieuw", "name": "Nieuw", "password": PW, "roles": ["boa"], "team": "noord"});
    let with = |key: &str, v: Value| {
        let mut b = ok();
        b[key] = v;
        b
    };
    let without = |key: &str| {
        let mut b = ok();
        b.as_object_mut().expect("object").remove(key);
        b
    };
    let invalid = |m: &'static str| (400, "invalid_parameter", m);
    let cases: Vec<(&str, &str, Value, Want)> = vec![
        (
            "POST",
            "/api/v1/admin/users",
            json!([]),
            invalid(NOT_OBJECT),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            json!("x"),
            invalid(NOT_OBJECT),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("extra", json!(1)),
            invalid(UNKNOWN),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            without("username"),
            invalid(USERNAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("username", json!("  ")),
            invalid(USERNAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("username", json!(7)),
            invalid(USERNAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("username", json!("a".repeat(65))),
            invalid(USERNAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("username", json!("twee woorden")),
            invalid("username must not contain spaces."),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            without("name"),
            invalid(NAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("name", json!("a\u{0}b")),
            invalid(NAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("name", json!("a".repeat(201))),
            invalid(NAME),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            without("roles"),
            invalid(ROLES),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("roles", json!([])),
            invalid(ROLES),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("roles", json!(["root"])),
            invalid(ROLES),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("roles", json!("boa")),
            invalid(ROLES),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("team", json!("")),
            invalid(TEAM),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("team", json!(3)),
            invalid(TEAM),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            without("password"),
            invalid(LENGTH),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("password", json!("kort")),
            invalid(LENGTH),
        ),
        (
            "POST",
            "/api/v1/admin/users",
            with("password", json!("aaaaaaaaaaaa")),
            (422, "weak_password", WEAK),
        ),
        // The first bad field is the one reported.
        (
            "POST",
            "/api/v1/admin/users",
            json!({"username": "", "name": "", "roles": []}),
            invalid(USERNAME),
        ),
        ("PATCH", &bert, json!(null), invalid(NOT_OBJECT)),
        ("PATCH", &bert, json!({"password": PW}), invalid(UNKNOWN)),
        ("PATCH", &bert, json!({"name": null}), invalid(NAME)),
        ("PATCH", &bert, json!({"name": ""}), invalid(NAME)),
        ("PATCH", &bert, json!({"roles": null}), invalid(ROLES)),
        (
            "PATCH",
            &bert,
            json!({"roles": ["boa", "root"]}),
            invalid(ROLES),
        ),
        ("PATCH", &bert, json!({"team": false}), invalid(TEAM)),
        (
            "PATCH",
            &bert,
            json!({"disabled": "ja"}),
            invalid("disabled must be true or false."),
        ),
        (
            "PATCH",
            &bert,
            json!({"disabled": null}),
            invalid("disabled must be true or false."),
        ),
        ("POST", &password, json!([PW]), invalid(NOT_OBJECT)),
        (
            "POST",
            &password,
            json!({"password": PW, "name": "x"}),
            invalid(UNKNOWN),
        ),
        ("POST", &password, json!({}), invalid(LENGTH)),
        (
            "POST",
            &password,
            json!({"password": null}),
            invalid(LENGTH),
        ),
        (
            "POST",
            &password,
            json!({"password": "bert-bert-bert"}),
            (422, "weak_password", WEAK),
        ),
    ];
    for (method, path, body, want) in cases {
        let res = admin_call(&w.app, &w.admin, method, path, body.clone()).await;
        let got = (
            res.status,
            res.json()["code"].as_str().unwrap_or_default().to_owned(),
            res.json()["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        assert_eq!(
            got,
            (want.0, want.1.to_owned(), want.2.to_owned()),
            "{method} {path} {body}"
        );
    }
    // A body that is not JSON at all.
    for (method, path) in [
        ("POST", "/api/v1/admin/users"),
        ("PATCH", bert.as_str()),
        ("POST", password.as_str()),
    ] {
        let auth = format!("Bearer {}", w.admin);
        let res = w
            .app
            .request(
                method,
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                Some(b"{username".to_vec()),
            )
            .await;
        assert_eq!(
            code(&res),
            (400, "invalid_parameter".to_owned()),
            "{method} {path}"
        );
        assert_eq!(res.json()["message"], NOT_OBJECT);
    }
    let after = admin_call(&w.app, &w.admin, "GET", "/api/v1/admin/users", Value::Null).await;
    assert_eq!(after.json(), before.json());
    // Bert still logs in with his old password.
    w.app
        .login("bert", PW)
        .await
        .expect("old password still works");
}

/// "Team Oost" typed by hand used to make a team nobody was in. Once the
/// catalog keeps teams, an account's team must be one of its active teams;
/// before that (an installation from before teams were kept) any team is
/// taken, and an account keeps its team when other fields change.
#[actix_web::test]
async fn once_the_catalog_keeps_teams_an_account_takes_only_one_of_them() {
    use wijklog_server::domain::DocKind;
    use wijklog_shared::{Document, Timestamp};
    use wijklog_testing::stored::{StoredDoc, person};

    let app = spawn_app_with(|_| {}).await;
    let admin = person(&app, "beheer", &[Role::Admin], None).await;
    let new = |username: &str, team: &str| json!({"username": username, "name": "N", "password": PW, "roles": ["boa"], "team": team});
    let create = |body: Value| admin_call(&app, &admin.token, "POST", "/api/v1/admin/users", body);
    let res = create(new("vroeg", "team-noord")).await;
    assert_eq!(
        res.status,
        201,
        "no teams in the catalog yet: {}",
        res.text()
    );
    let vroeg = res.json()["id"].as_str().expect("id").to_owned();

    // The admin adds two teams and retires one, as the catalog screen does.
    let meta = app
        .store()
        .docs_of_kind(DocKind::Catalog)
        .expect("catalog")
        .into_iter()
        .next()
        .expect("seeded");
    let stored = app
        .store()
        .load_doc(meta.id)
        .expect("load")
        .expect("stored");
    let bytes = stored.to_automerge().expect("automerge").save();
    let mut catalog = StoredDoc {
        doc: Document::load(meta.id, &bytes).expect("document"),
        kind: DocKind::Catalog,
        team: None,
        stored: Vec::new(),
    };
    catalog.stored = catalog.doc.heads();
    let at = Timestamp::from_millis(1_796_000_000_000);
    let d = catalog.as_user(&admin);
    d.add_team(&admin.uid(), at, "team-oost", "Team Oost")
        .expect("add");
    d.add_team(&admin.uid(), at, "team-zuid", "Team Zuid")
        .expect("add");
    d.retire_team(&admin.uid(), at, "team-zuid")
        .expect("retire");
    catalog.commit(&app, &admin);

    for (team, why) in [
        ("Team Oost", "the label typed by hand"),
        ("team-west", "not in the list"),
        ("team-zuid", "retired"),
    ] {
        let res = create(new("laat", team)).await;
        assert_eq!(code(&res), (400, "invalid_parameter".into()), "{why}");
        assert_eq!(
            res.json()["message"],
            "The team is not one of the catalog's active teams.",
            "{why}"
        );
    }
    let res = create(new("laat", "team-oost")).await;
    assert_eq!(res.status, 201, "{}", res.text());

    // The early account keeps its old team when its name changes, and can
    // only move to a team of the list.
    let path = format!("/api/v1/admin/users/{vroeg}");
    let res = admin_call(&app, &admin.token, "PATCH", &path, json!({"name": "Vroeg"})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = admin_call(
        &app,
        &admin.token,
        "PATCH",
        &path,
        json!({"team": "Team Oost"}),
    )
    .await;
    assert_eq!(code(&res), (400, "invalid_parameter".into()));
    let res = admin_call(
        &app,
        &admin.token,
        "PATCH",
        &path,
        json!({"team": "team-oost"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = admin_call(&app, &admin.token, "PATCH", &path, json!({"team": null})).await;
    assert_eq!(res.status, 200, "no team is always allowed: {}", res.text());
}
