//! Walk documents for the tests and benchmarks, built with `wijklog-shared`'s
//! typed edits (the same code the PWA runs as wasm). One observation builder
//! ([`observation`]) serves every test that needs "a walk with n
//! observations".

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_shared::{Catalog, DocId, Document, NewItem, NewWalk, Severity, Timestamp, UserId};

/// 2026-01-01T11:00:00Z: when the test walks are made; observation `i` is
/// made `i` seconds later.
pub const T0: i64 = 1_767_265_200_000;

/// The shared document id of a test id.
pub fn doc_id(id: Uuid) -> DocId {
    DocId::from_bytes(*id.as_bytes())
}

/// A user id of a test id string (panics on a malformed one: test helper).
pub fn user_id(id: &str) -> UserId {
    UserId::parse(id).expect("user id")
}

/// A new walk "Avondronde" in Oostermeent by `by` for `team`, planned at
/// `planned_at` (ms) if given.
pub fn walk_document(id: Uuid, by: &UserId, team: &str, planned_at: Option<i64>) -> Document {
    Document::new_walk(
        doc_id(id),
        &Catalog::defaults(),
        by,
        Timestamp::from_millis(T0),
        NewWalk {
            title: "Avondronde".into(),
            wijk: "oostermeent".into(),
            route: String::new(),
            team: team.into(),
            planned_at: planned_at.map(Timestamp::from_millis),
        },
    )
    .expect("new walk")
}

/// Observation number `i`: "waarneming {i}", youth nuisance at the shopping
/// centre, severity "aandacht".
pub fn observation(i: usize) -> NewItem {
    NewItem {
        id: None,
        category: "jeugdoverlast".into(),
        severity: Severity::Aandacht,
        text: format!("waarneming {i}"),
        place: Some("winkelcentrum Oostermeent".into()),
        location: None,
        feedback_needed: false,
    }
}

/// Adds [`observation`] `i` to `doc` as `by`, made at `T0 + i` seconds.
pub fn observe_document(doc: &mut Document, by: &UserId, i: usize) {
    doc.add_observation(
        &Catalog::defaults(),
        by,
        Timestamp::from_millis(T0 + i as i64 * 1000),
        observation(i),
    )
    .expect("add observation");
}

/// A new walk by `by` for `team`, as automerge.
pub fn new_walk(id: Uuid, by: &str, team: &str) -> AutoCommit {
    walk(id, by, team, 0)
}

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

/// A walk with `observations` observations, planned at `planned_at` (ms) if
/// given, as automerge.
pub fn walk_planned(
    id: Uuid,
    by: &str,
    team: &str,
    observations: usize,
    planned_at: Option<i64>,
) -> AutoCommit {
    let by = user_id(by);
    let mut doc = walk_document(id, &by, team, planned_at);
    for i in 0..observations {
        observe_document(&mut doc, &by, i);
    }
    doc.automerge().clone()
}

/// Adds observation number `i` to a walk held as automerge.
pub fn add_observation(id: Uuid, doc: AutoCommit, by: &str, i: usize) -> AutoCommit {
    let mut d = Document::from_automerge(doc_id(id), doc);
    observe_document(&mut d, &user_id(by), i);
    d.automerge().clone()
}

/// The observation texts of a walk, sorted.
pub fn document_texts(id: Uuid, doc: &AutoCommit) -> Vec<String> {
    let doc = Document::from_automerge(doc_id(id), doc.clone());
    let mut texts: Vec<String> = doc
        .project()
        .map(|rows| rows.into_iter().filter_map(|r| r.text).collect())
        .unwrap_or_default();
    texts.sort();
    texts
}

/// The projection rows of a document as JSON (what the server stores).
pub fn projection_json(id: Uuid, doc: &AutoCommit) -> serde_json::Value {
    let d = Document::from_automerge(doc_id(id), doc.clone());
    match d.project() {
        Ok(rows) => serde_json::to_value(rows).unwrap_or(serde_json::Value::Null),
        Err(e) => serde_json::json!({"error": e.code()}),
    }
}
