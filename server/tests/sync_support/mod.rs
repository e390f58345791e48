//! Shared helpers of the sync integration tests: the Rust sync client (the
//! same file the benchmark and the crash test use) and document builders.

#![allow(dead_code)]

#[path = "../../../tests/src/sync_client.rs"]
pub mod client;

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_server::domain::Role;
use wijklog_server::testing::TestApp;
use wijklog_shared::{Catalog, DocId, Document, NewItem, NewWalk, Severity, Timestamp, UserId};

pub use client::{SyncClient, hex_heads};

/// A logged-in test user.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id (JWT `sub`).
    pub id: String,
    /// Access token.
    pub token: String,
    /// Device id of the login.
    pub device_id: String,
}

/// Creates an account and logs in.
pub async fn user(app: &TestApp, name: &str, roles: &[Role], team: Option<&str>) -> TestUser {
    let password = "een-lang-test-wachtwoord";
    let created = app.add_user(name, password, roles, team);
    let tokens = client::login(&app.address, name, password).await;
    TestUser {
        id: created.id.to_string(),
        token: tokens["access_token"].as_str().expect("token").to_owned(),
        device_id: tokens["device_id"].as_str().expect("device").to_owned(),
    }
}

/// Connects a sync client for `user`.
pub async fn connect(app: &TestApp, user: &TestUser) -> SyncClient {
    SyncClient::connect(&app.address, &user.token).await
}

const T0: i64 = 1_767_265_200_000;

/// A walk by `by` for `team` with `observations` observations, as automerge.
pub fn walk(id: Uuid, by: &str, team: &str, observations: usize) -> AutoCommit {
    walk_planned(id, by, team, observations, None)
}

/// A walk planned for tomorrow: in the sync scope of every device of the
/// team until it starts.
pub fn planned_walk(id: Uuid, by: &str, team: &str, observations: usize) -> AutoCommit {
    let tomorrow = wijklog_server::domain::now_ms() + 24 * 60 * 60 * 1000;
    walk_planned(id, by, team, observations, Some(tomorrow))
}

/// A walk, planned at `planned_at` (ms) if given.
pub fn walk_planned(
    id: Uuid,
    by: &str,
    team: &str,
    observations: usize,
    planned_at: Option<i64>,
) -> AutoCommit {
    let catalog = Catalog::defaults();
    let by = UserId::parse(by).expect("user id");
    let mut doc = Document::new_walk(
        DocId::from_bytes(*id.as_bytes()),
        &catalog,
        &by,
        Timestamp::from_millis(T0),
        NewWalk {
            title: "Avondronde".into(),
            wijk: "oostermeent".into(),
            route: String::new(),
            team: team.into(),
            planned_at: planned_at.map(Timestamp::from_millis),
        },
    )
    .expect("new walk");
    for i in 0..observations {
        add_observation(&mut doc, &by, i);
    }
    doc.automerge().clone()
}

fn add_observation(doc: &mut Document, by: &UserId, i: usize) {
    doc.add_observation(
        &Catalog::defaults(),
        by,
        Timestamp::from_millis(T0 + i as i64 * 1000),
        NewItem {
            id: None,
            category: "jeugdoverlast".into(),
            severity: Severity::Aandacht,
            text: format!("waarneming {i}"),
            place: Some("winkelcentrum Oostermeent".into()),
            location: None,
            feedback_needed: false,
        },
    )
    .expect("add observation");
}

/// Adds an observation to a held document.
pub fn observe(client: &mut SyncClient, id: Uuid, by: &str, i: usize) {
    let held = client.docs.remove(&id).expect("document held");
    let mut doc = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), held.doc);
    add_observation(&mut doc, &UserId::parse(by).expect("user id"), i);
    client.docs.insert(
        id,
        client::ClientDoc {
            doc: doc.automerge().clone(),
            state: held.state,
            acked: held.acked,
        },
    );
}

/// The observation texts of a held walk, sorted.
pub fn observation_texts(client: &SyncClient, id: Uuid) -> Vec<String> {
    let Some(held) = client.docs.get(&id) else {
        return Vec::new();
    };
    let doc = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), held.doc.clone());
    let mut texts: Vec<String> = doc
        .project()
        .map(|rows| rows.into_iter().filter_map(|r| r.text).collect())
        .unwrap_or_default();
    texts.sort();
    texts
}
