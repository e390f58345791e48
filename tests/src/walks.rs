//! Walk documents for the cross-component tests and benchmarks, built with
//! `wijklog-shared`'s typed edits (the same code the PWA runs as wasm).

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_shared::{Catalog, DocId, Document, NewItem, NewWalk, Severity, Timestamp, UserId};

const T0: i64 = 1_767_265_200_000;

/// A new walk by `by` for `team`, as automerge.
pub fn new_walk(id: Uuid, by: &str, team: &str) -> AutoCommit {
    let by = UserId::parse(by).expect("user id");
    let doc = Document::new_walk(
        DocId::from_bytes(*id.as_bytes()),
        &Catalog::defaults(),
        &by,
        Timestamp::from_millis(T0),
        NewWalk {
            title: "Avondronde".into(),
            wijk: "oostermeent".into(),
            route: String::new(),
            team: team.into(),
            planned_at: None,
        },
    )
    .expect("new walk");
    doc.automerge().clone()
}

/// Adds observation number `i` to a walk.
pub fn add_observation(id: Uuid, doc: AutoCommit, by: &str, i: usize) -> AutoCommit {
    let mut d = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), doc);
    d.add_observation(
        &Catalog::defaults(),
        &UserId::parse(by).expect("user id"),
        Timestamp::from_millis(T0 + i as i64 * 1000),
        NewItem {
            id: None,
            category: "vervuiling".into(),
            severity: Severity::Informatief,
            text: format!("waarneming {i}"),
            place: Some("de Roef".into()),
            location: None,
            feedback_needed: false,
        },
    )
    .expect("add observation");
    d.automerge().clone()
}

/// The projection rows of a document as JSON (what the server stores).
pub fn projection_json(id: Uuid, doc: &AutoCommit) -> serde_json::Value {
    let d = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), doc.clone());
    match d.project() {
        Ok(rows) => serde_json::to_value(rows).unwrap_or(serde_json::Value::Null),
        Err(e) => serde_json::json!({"error": e.code()}),
    }
}
