//! From `wijklog_shared::project` rows to the store's [`ProjectionRow`]s.
//! The server's own record of the team overrides the document's `team`.

use automerge::Automerge;
use tracing::warn;

use crate::storage::{DocMeta, ProjectionRow};

/// The projection rows of a document, or `None` if it cannot be projected
/// (no readable kind; the sync core refuses such documents before this).
pub fn rows(meta: &DocMeta, doc: &Automerge) -> Option<Vec<ProjectionRow>> {
    let id = wijklog_shared::DocId::from_bytes(meta.id.as_bytes());
    let rows = match wijklog_shared::project(id, doc) {
        Ok(rows) => rows,
        Err(e) => {
            warn!(doc = %meta.id, code = e.code(), "document could not be projected");
            return None;
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        row.team = meta.team.clone();
        let Ok(row_json) = serde_json::to_string(&row) else {
            warn!(doc = %meta.id, "projection row did not serialize");
            return None;
        };
        let severity = row
            .severity
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        out.push(ProjectionRow {
            item_id: row.item_id,
            wijk: row.wijk,
            category: row.category,
            severity,
            created_at: row.created_at,
            created_by: row.created_by,
            deleted: row.deleted.is_some(),
            text: row.text.unwrap_or_default(),
            place: row.place,
            row_json,
        });
    }
    Some(out)
}
