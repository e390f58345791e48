//! Projection: one flat [`Row`] per observation or note.
//!
//! The server stores exactly these rows for the coordinator views (it
//! overrides `team` with its own record). Deleted items are included with
//! `deleted` set. Rows come in item-id order.

use std::collections::BTreeMap;

use automerge::ReadDoc;
use serde::Serialize;

use crate::conflict::Conflicts;
use crate::error::Error;
use crate::ids::{DocId, DocKind, Severity};
use crate::model::{
    Callback, Deleted, Erased, Feedback, FollowUp, InvalidFields, Item, Location, Resident,
    Spreekuur, Walk, doc_kind,
};

/// One observation (walk) or note (spreekuur), flattened with its document's context.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The document's id.
    pub doc_id: DocId,
    /// `walk` or `spreekuur`.
    #[cfg_attr(feature = "ts", tsify(type = "\"walk\" | \"spreekuur\""))]
    pub doc_kind: DocKind,
    /// The item's key (normally a UUID).
    pub item_id: String,
    /// The document's wijk id.
    pub wijk: Option<String>,
    /// The document's team id.
    pub team: Option<String>,
    /// Walk title or spreekuur location.
    pub doc_title: Option<String>,
    /// When the item was created (ms).
    pub created_at: Option<i64>,
    /// Creator's user id.
    pub created_by: Option<String>,
    /// Category id.
    pub category: Option<String>,
    /// Severity.
    pub severity: Option<Severity>,
    /// Free text.
    pub text: Option<String>,
    /// Street or landmark.
    pub place: Option<String>,
    /// GPS position.
    pub location: Option<Location>,
    /// The nearest address of the GPS position, as an address service named
    /// it; `null` without a position, before it was looked up, or when the
    /// position changed after the lookup (see [`crate::Address`]).
    pub address: Option<String>,
    /// Photo references.
    pub photos: Vec<String>,
    /// Follow-up by partner id.
    pub follow_up: BTreeMap<String, FollowUp>,
    /// Feedback to the resident.
    pub feedback: Feedback,
    /// Tombstone.
    pub deleted: Option<Deleted>,
    /// Resident contact (spreekuur only).
    pub resident: Option<Resident>,
    /// Call back (spreekuur only).
    pub callback: Option<Callback>,
    /// What of the item was erased; left out of the JSON when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erased>,
    /// `field_path -> reason` for every invalid field of the item and of the
    /// document fields copied into the row (`wijk`, `team`, `doc_title`).
    pub invalid: InvalidFields,
    /// Losing values of concurrently created sub-maps (see [`Item::conflicts`]);
    /// left out of the JSON when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", tsify(optional))]
    pub conflicts: Conflicts,
}

/// Projects a walk or spreekuur document into rows (a catalog gives no rows).
///
/// Errors only when the document has no readable root `kind`.
pub fn project(doc_id: DocId, doc: &impl ReadDoc) -> Result<Vec<Row>, Error> {
    match doc_kind(doc)? {
        DocKind::Walk => {
            let w = Walk::from_doc(doc)?;
            let doc_invalid = copy_invalid(
                &w.invalid,
                &[("wijk", "wijk"), ("team", "team"), ("title", "doc_title")],
            );
            Ok(w.observations
                .into_values()
                .map(|item| {
                    row(
                        doc_id,
                        DocKind::Walk,
                        &w.wijk,
                        &w.team,
                        &w.title,
                        &doc_invalid,
                        item,
                    )
                })
                .collect())
        }
        DocKind::Spreekuur => {
            let s = Spreekuur::from_doc(doc)?;
            let doc_invalid = copy_invalid(
                &s.invalid,
                &[
                    ("wijk", "wijk"),
                    ("team", "team"),
                    ("location", "doc_title"),
                ],
            );
            Ok(s.notes
                .into_values()
                .map(|item| {
                    row(
                        doc_id,
                        DocKind::Spreekuur,
                        &s.wijk,
                        &s.team,
                        &s.location,
                        &doc_invalid,
                        item,
                    )
                })
                .collect())
        }
        DocKind::Catalog => Ok(Vec::new()),
    }
}

fn copy_invalid(invalid: &InvalidFields, fields: &[(&str, &str)]) -> InvalidFields {
    fields
        .iter()
        .filter_map(|(from, to)| invalid.get(*from).map(|r| ((*to).to_owned(), r.clone())))
        .collect()
}

fn row(
    doc_id: DocId,
    doc_kind: DocKind,
    wijk: &Option<String>,
    team: &Option<String>,
    title: &Option<String>,
    doc_invalid: &InvalidFields,
    item: Item,
) -> Row {
    let mut invalid = doc_invalid.clone();
    let address = item.current_address().map(str::to_owned);
    invalid.extend(item.invalid);
    Row {
        doc_id,
        doc_kind,
        item_id: item.id,
        wijk: wijk.clone(),
        team: team.clone(),
        doc_title: title.clone(),
        created_at: item.created_at,
        created_by: item.created_by,
        category: item.category,
        severity: item.severity,
        text: item.text,
        place: item.place,
        address,
        location: item.location,
        photos: item.photos,
        follow_up: item.follow_up,
        feedback: item.feedback,
        deleted: item.deleted,
        resident: item.resident,
        callback: item.callback,
        erased: item.erased,
        invalid,
        conflicts: item.conflicts,
    }
}
