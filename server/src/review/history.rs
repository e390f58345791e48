//! An item's history: which stored automerge changes touched it, who sent
//! each (the user the server attributed it to when it was received), when,
//! and which fields it changed — never the values.
//!
//! For every change of the document (in causal order) the patches between
//! the change's dependencies and the change itself (`Automerge::diff`) are
//! the change's own effect; the ones under `observations.<item>` (or
//! `notes.<item>`) name the fields.

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, PatchAction, Prop};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::ReviewError;
use crate::domain::DocId;

/// One change that touched the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Change hash (hex).
    pub hash: String,
    /// The user the server attributed the change to (`null` if the change
    /// is not in the server's change table, e.g. created by a migration).
    pub user_id: Option<String>,
    /// That user's display name, if the account exists.
    pub user_name: Option<String>,
    /// When the server received it (ms).
    pub received_at: Option<i64>,
    /// The change's own timestamp (ms; set by the client, second precision).
    pub time: i64,
    /// The change's message (the typed edit's name, e.g. `set_follow_up`).
    pub message: Option<String>,
    /// This change created the item.
    pub created: bool,
    /// Field paths changed, e.g. `text`, `severity`, `follow_up.politie.status`.
    pub fields: Vec<String>,
}

fn prop_name(p: &Prop) -> Option<&str> {
    match p {
        Prop::Map(k) => Some(k.as_str()),
        Prop::Seq(_) => None,
    }
}

/// The history of `item` in `doc`, oldest first. `items_key` is
/// `observations` (walks) or `notes` (spreekuur).
pub fn item_history(
    conn: &Connection,
    doc_id: DocId,
    doc: &Automerge,
    items_key: &str,
    item: &str,
) -> Result<Vec<HistoryEntry>, ReviewError> {
    let mut who: HashMap<Vec<u8>, (String, i64)> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT hash, user_id, received_at FROM changes WHERE doc_id = ?1")?;
        let rows = stmt.query_map([&doc_id.as_bytes()[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (hash, user, at) = row?;
            who.insert(hash, (user, at));
        }
    }
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for change in doc.get_changes(&[]) {
        let hash = change.hash();
        let patches = doc.diff(change.deps(), &[hash]);
        let mut fields = BTreeSet::new();
        let mut created = false;
        for patch in &patches {
            let props: Vec<&Prop> = patch.path.iter().map(|(_, p)| p).collect();
            if props.first().and_then(|p| prop_name(p)) != Some(items_key) {
                continue;
            }
            if props.len() == 1 {
                match &patch.action {
                    PatchAction::PutMap { key, .. } if key == item => created = true,
                    PatchAction::DeleteMap { key } if key == item => {
                        fields.insert("(removed)".to_owned());
                    }
                    _ => {}
                }
                continue;
            }
            if props.get(1).and_then(|p| prop_name(p)) != Some(item) {
                continue;
            }
            let mut path: Vec<&str> = props[2..].iter().filter_map(|p| prop_name(p)).collect();
            match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    path.push(key.as_str())
                }
                PatchAction::Increment { prop, .. } | PatchAction::Conflict { prop } => {
                    if let Some(k) = prop_name(prop) {
                        path.push(k)
                    }
                }
                _ => {}
            }
            if !path.is_empty() {
                fields.insert(path.join("."));
            }
        }
        if !created && fields.is_empty() {
            continue;
        }
        let attributed = who.get(hash.as_ref());
        let user_id = attributed.map(|(u, _)| u.clone());
        let user_name = match &user_id {
            Some(u) => match names.get(u) {
                Some(n) => n.clone(),
                None => {
                    let n: Option<String> = conn
                        .query_row("SELECT display_name FROM users WHERE id = ?1", [u], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    names.insert(u.clone(), n.clone());
                    n
                }
            },
            None => None,
        };
        out.push(HistoryEntry {
            hash: hex::encode(hash.as_ref()),
            user_id,
            user_name,
            received_at: attributed.map(|(_, at)| *at),
            time: change.timestamp().saturating_mul(1000),
            message: change.message().map(str::to_owned),
            created,
            fields: fields.into_iter().collect(),
        });
    }
    Ok(out)
}
