//! An item's history: which stored automerge changes touched it, who sent
//! each (the user the server attributed it to when it was received), when,
//! and which fields it changed — never the values.
//!
//! One pass over the document's changes in causal order reads each change's
//! operations: the objects created under `observations.<item>` (or
//! `notes.<item>`) are remembered with their field path, and every operation
//! on the item or one of those objects names a field. The work is linear in
//! the document's operations (an earlier version diffed the document once
//! per change, which grew with the square of the history).

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ActorId, Automerge, Change};
use rusqlite::types::Value;
use serde::Serialize;

use crate::domain::DocId;
use crate::edge::ApiError;

use super::ReviewDb;

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

/// An object's place relative to the item.
#[derive(Debug, Clone)]
enum Place {
    /// The items map (`observations` or `notes`).
    Items,
    /// The item itself.
    Item,
    /// An object inside the item, at this field path.
    Field(String),
}

/// Follows the objects of one item through the changes.
struct Tracker<'a> {
    items_key: &'a str,
    item: &'a str,
    objects: HashMap<(u64, ActorId), Place>,
}

impl<'a> Tracker<'a> {
    fn new(items_key: &'a str, item: &'a str) -> Self {
        Self {
            items_key,
            item,
            objects: HashMap::new(),
        }
    }

    /// Whether `change` created the item, and the field paths it touched.
    fn change(&mut self, change: &Change) -> (bool, BTreeSet<String>) {
        let mut fields = BTreeSet::new();
        let mut created = false;
        let start = change.start_op().get();
        let actor = change.actor_id().clone();
        for (i, op) in change.decode().operations.into_iter().enumerate() {
            let place = match &op.obj {
                ObjectId::Root => None,
                ObjectId::Id(id) => self.objects.get(&(id.0, id.1.clone())).cloned(),
            };
            let key = match &op.key {
                Key::Map(k) => Some(k.to_string()),
                Key::Seq(_) => None,
            };
            let made = matches!(op.action, OpType::Make(_));
            let new_place = match (&op.obj, place) {
                (ObjectId::Root, _) => {
                    (made && key.as_deref() == Some(self.items_key)).then_some(Place::Items)
                }
                (_, Some(Place::Items)) => {
                    if key.as_deref() == Some(self.item) {
                        if matches!(op.action, OpType::Delete) {
                            fields.insert("(removed)".to_owned());
                        } else {
                            created = true;
                        }
                        made.then_some(Place::Item)
                    } else {
                        None
                    }
                }
                (_, Some(Place::Item)) => match key {
                    Some(k) => {
                        fields.insert(k.clone());
                        made.then_some(Place::Field(k))
                    }
                    None => None,
                },
                (_, Some(Place::Field(path))) => {
                    let path = match key {
                        Some(k) => format!("{path}.{k}"),
                        None => path,
                    };
                    fields.insert(path.clone());
                    made.then_some(Place::Field(path))
                }
                (_, None) => None,
            };
            if let Some(p) = new_place {
                self.objects.insert((start + i as u64, actor.clone()), p);
            }
        }
        (created, fields)
    }
}

/// The history of `item` in `doc`, oldest first. `items_key` is
/// `observations` (walks) or `notes` (spreekuur).
pub fn item_history(
    db: &ReviewDb,
    doc_id: DocId,
    doc: &Automerge,
    items_key: &str,
    item: &str,
) -> Result<Vec<HistoryEntry>, ApiError> {
    let mut who: HashMap<Vec<u8>, (String, i64)> = HashMap::new();
    db.each_row(
        "SELECT hash, user_id, received_at FROM changes WHERE doc_id = ?1",
        &[Value::Blob(doc_id.as_bytes().to_vec())],
        |r| {
            who.insert(r.blob(0)?, (r.text(1)?, r.int(2)?));
            Ok(())
        },
    )?;
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    let mut tracker = Tracker::new(items_key, item);
    for change in doc.get_changes(&[]) {
        let hash = change.hash();
        let (created, fields) = tracker.change(&change);
        if !created && fields.is_empty() {
            continue;
        }
        let attributed = who.get(hash.as_ref());
        let user_id = attributed.map(|(u, _)| u.clone());
        let user_name = match &user_id {
            Some(u) => match names.get(u) {
                Some(n) => n.clone(),
                None => {
                    let n = db.first_row(
                        "SELECT display_name FROM users WHERE id = ?1",
                        &[Value::Text(u.clone())],
                        |r| r.text(0),
                    )?;
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
