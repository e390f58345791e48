//! Accounts on an in-process test server (`wijklog_server::testing`), logged
//! in over HTTP, and their sync clients.

use uuid::Uuid;
use wijklog_server::domain::Role;
use wijklog_server::testing::TestApp;
use wijklog_shared::Document;

use crate::sync_client::{self, ClientDoc, SyncClient};
use crate::walks;

/// The password of every test account.
pub const PASSWORD: &str = "een-lang-test-wachtwoord";

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
    let created = app.add_user(name, PASSWORD, roles, team);
    let tokens = sync_client::login(&app.address, name, PASSWORD).await;
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

/// Adds observation number `i` to a document the client holds.
pub fn observe(client: &mut SyncClient, id: Uuid, by: &str, i: usize) {
    let held = client.docs.remove(&id).expect("document held");
    let mut doc = Document::from_automerge(walks::doc_id(id), held.doc);
    walks::observe_document(&mut doc, &walks::user_id(by), i);
    client.docs.insert(
        id,
        ClientDoc {
            doc: doc.automerge().clone(),
            state: held.state,
            acked: held.acked,
        },
    );
}

/// The observation texts of a walk the client holds, sorted (none when it
/// holds no such document).
pub fn observation_texts(client: &SyncClient, id: Uuid) -> Vec<String> {
    client
        .docs
        .get(&id)
        .map(|held| walks::document_texts(id, &held.doc))
        .unwrap_or_default()
}
