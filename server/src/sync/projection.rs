//! From `wijklog_shared::project` rows to the store's [`ProjectionRow`]s.
//! The server's own record of the team overrides the document's `team`, and
//! the server's own record of who sent each change overrides every
//! authorship field the document claims (see [`attribute`]).

use std::collections::HashMap;

use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};
use tracing::warn;

use crate::storage::{DocMeta, ProjectionRow, Store};

/// The projection rows of a document, or `None` if it cannot be projected
/// (no readable kind; the sync core refuses such documents before this).
/// `owner` names the user an actor is bound to (the authenticated sender of
/// that actor's changes).
pub fn rows(
    meta: &DocMeta,
    doc: &Automerge,
    owner: &mut dyn FnMut(&ActorId) -> Option<String>,
) -> Option<Vec<ProjectionRow>> {
    let mut rows = match wijklog_shared::project(meta.id, doc) {
        Ok(rows) => rows,
        Err(e) => {
            warn!(doc = %meta.id, code = e.code(), "document could not be projected");
            return None;
        }
    };
    attribute(doc, &mut rows, owner);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        // One conversion to the stored row: the same as `ProjectionRow::all_for`.
        let Ok(row) = ProjectionRow::from_shared(row, meta.team.clone()) else {
            warn!(doc = %meta.id, "projection row did not serialize");
            return None;
        };
        out.push(row);
    }
    Some(out)
}

/// The projection rows of a document of the sync cache: an actor is the
/// user in `authors` (the senders of the changes applied to the cached copy,
/// whose bindings may not be committed yet), else the user the store binds
/// it to. What a sync commit stores (the session for a new document, the
/// group committer once per batch for a known one).
pub fn rows_with_authors(
    meta: &DocMeta,
    doc: &Automerge,
    authors: &HashMap<ActorId, crate::domain::UserId>,
    store: &dyn Store,
) -> Option<Vec<ProjectionRow>> {
    let mut owner = |actor: &ActorId| -> Option<String> {
        if let Some(user) = authors.get(actor) {
            return Some(user.as_str().to_owned());
        }
        match store.actor_owner(actor.to_bytes()) {
            Ok(user) => user.map(|u| u.as_str().to_owned()),
            Err(e) => {
                tracing::error!(error = ?e, "reading an actor binding failed");
                None
            }
        }
    };
    rows(meta, doc, &mut owner)
}

/// Who wrote what, from the server's records rather than the document.
struct Authors<'a> {
    owner: &'a mut dyn FnMut(&ActorId) -> Option<String>,
    cache: HashMap<ActorId, Option<String>>,
}

impl Authors<'_> {
    /// The user who sent the operation `id` (an object's creation or a value's write).
    fn of(&mut self, id: &ObjId) -> Option<String> {
        match id {
            ObjId::Root => None,
            ObjId::Id(_, actor, _) => {
                if let Some(user) = self.cache.get(actor) {
                    return user.clone();
                }
                let user = (self.owner)(actor);
                self.cache.insert(actor.clone(), user.clone());
                user
            }
        }
    }

    /// The sender of the first of `keys` that `obj` holds.
    fn of_field(&mut self, doc: &Automerge, obj: Option<&ObjId>, keys: &[&str]) -> Option<String> {
        let obj = obj?;
        for key in keys {
            if let Ok(Some((_, id))) = doc.get(obj, *key) {
                return self.of(&id);
            }
        }
        None
    }
}

/// The rows of a document the server itself changed (an erasure, a
/// coordinator's note from the mail worker, changes from another node):
/// each actor is the user the store binds it to, except `fresh`, the
/// server's new actor for this write (bound only when the write commits),
/// which is that user's.
pub fn rows_from_bindings(
    meta: &DocMeta,
    doc: &Automerge,
    store: &dyn Store,
    fresh: Option<(&ActorId, &str)>,
) -> Option<Vec<ProjectionRow>> {
    let mut owner = |a: &ActorId| -> Option<String> {
        if let Some((actor, user)) = fresh
            && a == actor
        {
            return Some(user.to_owned());
        }
        store
            .actor_owner(a.to_bytes())
            .ok()
            .flatten()
            .map(|u| u.as_str().to_owned())
    };
    rows(meta, doc, &mut owner)
}

fn map_at(doc: &Automerge, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map | ObjType::Table), id))) => Some(id),
        _ => None,
    }
}

/// Replaces every authorship field of `rows` — `created_by`,
/// `follow_up.*.updated_by`, `feedback.by`, `deleted.by`, `callback.by` —
/// by the user bound to the actor of the operation that wrote it: an
/// item's creator is whoever sent the change that created the item's map,
/// a follow-up's author whoever sent its `updated_by` (or `status`), and so
/// on. Since the server binds every actor to the authenticated user who
/// first sent a change with it and refuses that actor to anyone else, a
/// client cannot make its changes look like another user's; whatever the
/// document says is ignored. An author the server cannot name is `null`.
pub fn attribute(
    doc: &Automerge,
    rows: &mut [wijklog_shared::Row],
    owner: &mut dyn FnMut(&ActorId) -> Option<String>,
) {
    let mut authors = Authors {
        owner,
        cache: HashMap::new(),
    };
    let mut containers: HashMap<&'static str, Option<ObjId>> = HashMap::new();
    for row in rows {
        let key = match row.doc_kind {
            wijklog_shared::DocKind::Walk => "observations",
            wijklog_shared::DocKind::Spreekuur => "notes",
            wijklog_shared::DocKind::Catalog => continue,
        };
        let items = containers
            .entry(key)
            .or_insert_with(|| map_at(doc, &ROOT, key))
            .clone();
        let item = items.and_then(|items| map_at(doc, &items, &row.item_id));
        row.created_by = item.as_ref().and_then(|id| authors.of(id));
        let follow_ups = item.as_ref().and_then(|i| map_at(doc, i, "follow_up"));
        for (partner, fu) in row.follow_up.iter_mut() {
            let entry = follow_ups.as_ref().and_then(|f| map_at(doc, f, partner));
            fu.updated_by = authors.of_field(
                doc,
                entry.as_ref(),
                &["updated_by", "status", "updated_at", "note"],
            );
        }
        if row.feedback.by.is_some() || row.feedback.given_at.is_some() {
            let fb = item.as_ref().and_then(|i| map_at(doc, i, "feedback"));
            row.feedback.by = authors.of_field(doc, fb.as_ref(), &["by", "given_at"]);
        }
        if let Some(deleted) = row.deleted.as_mut() {
            let d = item.as_ref().and_then(|i| map_at(doc, i, "deleted"));
            deleted.by = authors.of_field(doc, d.as_ref(), &["by", "at"]);
        }
        if let Some(callback) = row.callback.as_mut()
            && (callback.by.is_some() || callback.done_at.is_some())
        {
            let c = item.as_ref().and_then(|i| map_at(doc, i, "callback"));
            callback.by = authors.of_field(doc, c.as_ref(), &["by", "done_at"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;
    use wijklog_shared::{Catalog, Document, NewItem, NewWalk, Severity, Timestamp};

    use super::rows;
    use crate::domain::{DocId, DocKind, UserId};
    use crate::storage::{DocMeta, ProjectionRow};

    /// The sync path (`rows`) and the seed/rebuild path
    /// (`ProjectionRow::all_for`) store the same row, severity included.
    #[test]
    fn sync_and_rebuild_paths_store_the_same_rows_and_severity_names() {
        let id = DocId::new_v4();
        let catalog = Catalog::defaults();
        let boa = UserId::parse("boa-1").expect("user");
        let at = Timestamp::from_millis(1_767_225_600_000);
        let mut walk = Document::new_walk(
            id,
            &catalog,
            &boa,
            at,
            NewWalk {
                title: "Avondronde".into(),
                wijk: "oostermeent".into(),
                route: String::new(),
                team: "team-in-document".into(),
                planned_at: None,
            },
        )
        .expect("walk");
        for severity in Severity::ALL {
            walk.add_observation(
                &catalog,
                &boa,
                at,
                NewItem {
                    id: None,
                    category: "jeugdoverlast".into(),
                    severity: *severity,
                    text: format!("ernst {severity}"),
                    place: Some("de Roef".into()),
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("observation");
        }
        let doc = walk.automerge_mut().document().clone();
        let meta = DocMeta {
            id,
            kind: DocKind::Walk,
            owner: UserId::parse("boa-1").expect("user"),
            team: Some("noord".into()),
            created_at: 0,
        };
        let mut owner = |_: &ActorId| Some("boa-1".to_owned());
        let synced = rows(&meta, &doc, &mut owner).expect("rows");
        let rebuilt = ProjectionRow::all_for(&meta, &doc)
            .expect("projects")
            .expect("not a catalog");
        assert_eq!(synced, rebuilt);
        let mut severities: Vec<_> = synced
            .iter()
            .map(|r| (r.text.clone(), r.severity.clone()))
            .collect();
        severities.sort();
        let mut expected: Vec<_> = Severity::ALL
            .iter()
            .map(|s| (format!("ernst {s}"), Some(s.as_str().to_owned())))
            .collect();
        expected.sort();
        assert_eq!(severities, expected);
        assert!(
            synced
                .iter()
                .all(|r| r.row_json.contains("\"team\":\"noord\""))
        );
    }
}
