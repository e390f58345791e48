//! Documents stored the way a sync commit stores them, without a socket:
//! built with `wijklog-shared`'s typed edits, committed through
//! `Store::commit` with the sync layer's projection and authorship (a new
//! change's actor is the sender's; an older one is looked up in the store's
//! actor bindings). For the tests of what the coordinators' side reads:
//! review, work lists, mail, erasure.

use automerge::{ActorId, AutoCommit, ChangeHash};
use wijklog_server::domain::{DocKind, Role};
use wijklog_server::storage::{DocMeta, DocWrite, NewChange, NewDoc, User};
use wijklog_server::testing::TestApp;
use wijklog_shared::{DocId, Document, UserId};

use crate::users::PASSWORD;

/// A logged-in account and its tokens.
#[derive(Debug)]
pub struct Person {
    /// The stored account.
    pub user: User,
    /// Access token.
    pub token: String,
    /// Refresh token.
    pub refresh: String,
    /// Device id of the login.
    pub device: String,
}

impl Person {
    /// The user id.
    pub fn uid(&self) -> UserId {
        self.user.id.clone()
    }

    /// The user id as a string.
    pub fn id(&self) -> String {
        self.user.id.to_string()
    }

    /// A fixed automerge actor per user (bytes of the id folded into 16),
    /// so that the server binds it to them.
    pub fn actor(&self) -> ActorId {
        let mut bytes = [0u8; 16];
        for (i, b) in self.user.id.as_str().bytes().enumerate() {
            bytes[i % 16] ^= b;
        }
        ActorId::from(&bytes[..])
    }
}

/// Creates an account (password [`PASSWORD`]) and logs in over HTTP.
pub async fn person(app: &TestApp, name: &str, roles: &[Role], team: Option<&str>) -> Person {
    let user = app.add_user(name, PASSWORD, roles, team);
    let t = app.login(name, PASSWORD).await.expect("login");
    Person {
        user,
        token: t.access_token,
        refresh: t.refresh_token,
        device: t.device_id,
    }
}

/// A document plus what the server already has of it.
#[derive(Debug)]
pub struct StoredDoc {
    /// The document as the test edits it.
    pub doc: Document,
    /// Its kind.
    pub kind: DocKind,
    /// Its team (`None` for the catalog).
    pub team: Option<String>,
    /// The heads the server has (empty: not stored yet).
    pub stored: Vec<ChangeHash>,
}

impl StoredDoc {
    /// A document the server does not have yet.
    pub fn new(doc: Document, kind: DocKind, team: Option<&str>) -> StoredDoc {
        StoredDoc {
            doc,
            kind,
            team: team.map(str::to_owned),
            stored: Vec::new(),
        }
    }

    /// The document id as a string.
    pub fn id(&self) -> String {
        self.doc.id().to_string()
    }

    /// The document id.
    pub fn doc_id(&self) -> DocId {
        self.doc.id()
    }

    /// The document, to be edited as `who` (their actor).
    pub fn as_user(&mut self, who: &Person) -> &mut Document {
        self.doc.set_actor(who.actor());
        &mut self.doc
    }

    /// Switches to `who`'s actor, then stores the changes made since the
    /// last commit as sent by `who` (the earlier edits keep their actor).
    pub fn commit_as(&mut self, app: &TestApp, who: &Person) {
        self.doc.set_actor(who.actor());
        self.commit(app, who);
    }

    /// Stores the changes made since the last commit as sent by `who`, with
    /// the projection the sync layer computes; creates the document on the
    /// first commit. Panics unless the store accepts the write, and unless
    /// a document with items projects.
    pub fn commit(&mut self, app: &TestApp, who: &Person) {
        let server_id = self.doc_id();
        let kind = self.kind;
        let am = self.doc.automerge_mut();
        am.commit();
        let changes: Vec<NewChange> = am
            .get_changes(&self.stored)
            .iter()
            .map(NewChange::from_change)
            .collect();
        let heads = am.get_heads();
        let owner = who.uid();
        let meta = DocMeta {
            id: server_id,
            kind,
            owner: owner.clone(),
            team: self.team.clone(),
            created_at: 0,
        };
        // Authorship as the sync server derives it: the new changes' actors
        // are the sender's, the others are looked up in the store's bindings.
        let fresh: Vec<Vec<u8>> = changes.iter().map(|c| c.actor.clone()).collect();
        let store = app.store();
        let mut author = |actor: &ActorId| -> Option<String> {
            if fresh.contains(&actor.to_bytes().to_vec()) {
                return Some(who.id());
            }
            store
                .actor_owner(actor.to_bytes())
                .expect("binding")
                .map(|u| u.as_str().to_owned())
        };
        let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut author);
        assert!(
            rows.is_some() || kind == DocKind::Catalog,
            "the {kind:?} document projects"
        );
        let write = DocWrite {
            epoch: None,
            doc_id: server_id,
            user_id: owner.clone(),
            device_id: None,
            create: self.stored.is_empty().then(|| NewDoc {
                kind,
                owner,
                team: self.team.clone(),
            }),
            changes,
            projection: rows,
            schedule: None,
        };
        let out = app.store().commit(&[write]).expect("commit");
        out.writes[0].as_ref().expect("write accepted");
        self.stored = heads;
    }
}

/// Stores all of `doc`'s changes as a new walk of team `team` owned by
/// `owner`, with no projection and no schedule: what a server that kept
/// neither stored, for the tests of what a later start fills in. Panics
/// unless the store accepts the write.
pub fn store_bare_walk(app: &TestApp, id: DocId, owner: &UserId, team: &str, doc: &mut AutoCommit) {
    doc.commit();
    let write = DocWrite::creating(id, DocKind::Walk, owner, Some(team), doc.document());
    let out = app.store().commit(&[write]).expect("commit");
    out.writes[0].as_ref().expect("write accepted");
}
