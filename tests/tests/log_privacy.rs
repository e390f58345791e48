//! No personal data in any log line: a real `wijklog serve` logging at
//! debug level is driven through every endpoint that carries personal data
//! (login, a spreekuur note with resident contact synced over the
//! WebSocket, the coordinator's item read, the export with contact details)
//! with marker strings, and its whole log output is searched for them.

use std::time::Duration;

use uuid::Uuid;
use wijklog_shared::{
    Catalog, DocId, Document, NewItem, NewSpreekuur, ResidentContact, Severity, Timestamp, UserId,
};
use wijklog_tests::server_process::{add_user, serve};
use wijklog_tests::sync_client::{SyncClient, login};

const PASSWORD: &str = "Wachtwoord-MRKpw-7731-lang";
const MARKERS: &[&str] = &[
    "MRKpw",
    "MRKuser",
    "MRKnaam",
    "0611223344",
    "mrkmail@example.org",
    "MRKtekst",
    "MRKplek",
    "MRKreden",
];

async fn get(base: &str, token: &str, path: &str) -> (u16, String) {
    let client = awc::Client::default();
    let mut res = client
        .get(format!("{base}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .expect("request");
    let body = res.body().limit(64 << 20).await.expect("body");
    (
        res.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_rt::test]
async fn no_marker_of_personal_data_reaches_the_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().to_owned();
    // One account with both roles: every password hash costs seconds in a
    // debug build.
    add_user(
        &data,
        "sp-coord",
        PASSWORD,
        &["spreekuur", "coordinator"],
        Some("noord"),
    );
    let server = serve(&data)
        .envs(&[("WIJKLOG_LOG_FILTER", "debug")])
        .start();
    let base = server.base.clone();

    // A failed login: an unknown user name and a password, both markers.
    let res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .send_json(&serde_json::json!({"username": "MRKuser-onbekend", "password": "MRKpw-fout-maar-lang"}))
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401);
    let sp = login(&base, "sp-coord", PASSWORD).await;
    let sp_id = sp["user"]["id"].as_str().expect("id").to_owned();
    let sp_token = sp["access_token"].as_str().expect("token").to_owned();
    let coord_token = sp_token.clone();

    // A spreekuur note with resident contact, synced like the phone does.
    let catalog = Catalog::defaults();
    let uid = UserId::parse(&sp_id).expect("uid");
    let doc_id = Uuid::new_v4();
    let now = Timestamp::from_millis(wijklog_server::domain::now_ms());
    let mut doc = Document::new_spreekuur(
        DocId::from_bytes(*doc_id.as_bytes()),
        &catalog,
        &uid,
        now,
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "oostermeent".into(),
            held_on: now,
            team: "noord".into(),
        },
    )
    .expect("session");
    let item = doc
        .add_note(
            &catalog,
            &uid,
            now,
            NewItem {
                id: None,
                category: "woonoverlast".into(),
                severity: Severity::Zorgelijk,
                text: "MRKtekst over de buren".into(),
                place: Some("MRKplek 12".into()),
                location: None,
                feedback_needed: true,
            },
        )
        .expect("note");
    doc.set_resident_contact(
        &uid,
        now,
        &item,
        ResidentContact {
            name: Some("MRKnaam Jansen".into()),
            phone: Some("0611223344".into()),
            email: Some("mrkmail@example.org".into()),
            consent: true,
        },
    )
    .expect("contact");
    let mut phone = SyncClient::connect(&base, &sp_token).await;
    phone.add_doc(doc_id, doc.automerge().clone());
    assert!(
        phone
            .sync_until_acked(doc_id, Duration::from_secs(20))
            .await,
        "the note is stored"
    );
    phone.close().await;

    // The coordinator reads the item (with contact) and exports it.
    let (status, body) = get(
        &base,
        &coord_token,
        &format!("/api/v1/items/{doc_id}/{item}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("MRKnaam"),
        "the read carries the contact: {body}"
    );
    let (status, body) = get(
        &base,
        &coord_token,
        "/api/v1/export.csv?include_personal=true&reason=MRKreden%20terugbellen",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("0611223344"),
        "the export carries the contact"
    );

    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let log = server.log.lock().expect("log").join("\n");
    server.kill();
    assert!(
        log.contains("DEBUG") && log.contains("/api/v1/export.csv"),
        "the log is captured at debug level: {log}"
    );
    for marker in MARKERS {
        assert!(
            !log.contains(marker),
            "{marker} in the log:\n{}",
            log.lines()
                .filter(|l| l.contains(marker))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
