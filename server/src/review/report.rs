//! Document-level reads: loading a stored document, the catalog, the
//! context shown with one item (the walk or the session), the single item
//! row, and the walk report for the wijk meeting.

use std::collections::BTreeMap;

use automerge::Automerge;
use serde::Serialize;
use serde_json::{Value, json};
use wijklog_shared::{Catalog, Spreekuur, Walk};

use crate::domain::{DocId, DocKind};
use crate::edge::ApiError;
use crate::storage::Store;

use super::{Dialect, ReviewDb};

/// Most operations a document loaded for a review read may have: the sync
/// server's default bound on a document (`limits.max_ops_per_document`).
/// Documents stored before that bound existed may be larger; they are
/// refused (`document_too_large`) instead of being loaded into memory.
pub const MAX_REVIEW_OPS: u64 = 300_000;

/// Loads a stored document (snapshot plus changes), unless it holds more
/// than `max_ops` operations (counted from the stored bytes without
/// loading them).
pub fn load_automerge_bounded(
    store: &dyn Store,
    id: DocId,
    max_ops: u64,
) -> Result<Automerge, ApiError> {
    let stored = store.load_doc(id)?.ok_or(ApiError::NotFound)?;
    let mut parts: Vec<&[u8]> = stored.changes.iter().map(Vec::as_slice).collect();
    if let Some(snapshot) = &stored.snapshot {
        parts.push(snapshot);
    }
    match crate::sync::chunks::count_ops(&parts, max_ops, 1 << 30) {
        Ok(n) if n <= max_ops => {}
        Ok(_) | Err(crate::sync::chunks::ChunkError::TooLarge(_)) => {
            return Err(ApiError::DocumentTooLarge);
        }
        Err(e) => {
            return Err(ApiError::Internal(
                anyhow::anyhow!("{e}").context("counting a stored document's operations"),
            ));
        }
    }
    stored
        .to_automerge()
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("loading a document")))
}

/// [`load_automerge_bounded`] with [`MAX_REVIEW_OPS`].
pub fn load_automerge(store: &dyn Store, id: DocId) -> Result<Automerge, ApiError> {
    load_automerge_bounded(store, id, MAX_REVIEW_OPS)
}

/// The installation's catalog (the defaults when none is stored or it
/// does not load).
pub fn load_catalog(store: &dyn Store) -> Catalog {
    let read = || -> Option<Catalog> {
        let meta = store
            .docs_of_kind(DocKind::Catalog)
            .ok()?
            .into_iter()
            .next()?;
        let doc = load_automerge(store, meta.id).ok()?;
        Catalog::from_doc(&doc).ok()
    };
    read().unwrap_or_else(Catalog::defaults)
}

/// The stored projection row of one item (`None` when there is none).
pub fn item_row(
    db: &ReviewDb,
    kind: DocKind,
    doc: DocId,
    item: &str,
) -> Result<Option<String>, ApiError> {
    let table = match kind {
        DocKind::Walk => "observations",
        DocKind::Spreekuur => "notes",
        DocKind::Catalog => return Ok(None),
    };
    db.first_row(
        &format!("SELECT row_json FROM {table} WHERE doc_id = ?1 AND item_id = ?2"),
        &[
            rusqlite::types::Value::Blob(doc.as_bytes().to_vec()),
            rusqlite::types::Value::Text(item.to_owned()),
        ],
        |r| r.text(0),
    )
}

/// The context of an item: its walk (title, wijk, route, times,
/// participants) or its session (location, wijk, day, staff).
pub fn context(kind: DocKind, doc: &Automerge) -> Result<Value, ApiError> {
    let bad = |e: wijklog_shared::Error| {
        ApiError::Internal(anyhow::anyhow!("document does not read: {}", e.code()))
    };
    Ok(match kind {
        DocKind::Walk => {
            let w = Walk::from_doc(doc).map_err(bad)?;
            json!({
                "kind": "walk",
                "title": w.title,
                "wijk": w.wijk,
                "team": w.team,
                "route": w.route,
                "planned_at": w.planned_at,
                "started_at": w.started_at,
                "ended_at": w.ended_at,
                "participants": w.participants.values().collect::<Vec<_>>(),
                "observation_count": w.observations.values().filter(|o| o.deleted.is_none()).count(),
            })
        }
        DocKind::Spreekuur => {
            let s = Spreekuur::from_doc(doc).map_err(bad)?;
            json!({
                "kind": "spreekuur",
                "location": s.location,
                "wijk": s.wijk,
                "team": s.team,
                "held_on": s.held_on,
                "staff": s.staff.values().collect::<Vec<_>>(),
                "note_count": s.notes.values().filter(|n| n.deleted.is_none()).count(),
            })
        }
        DocKind::Catalog => Value::Null,
    })
}

/// One observation in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportItem {
    /// Item id.
    pub id: String,
    /// Created (ms).
    pub created_at: Option<i64>,
    /// Severity id.
    pub severity: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// Place.
    pub place: Option<String>,
    /// GPS position.
    pub location: Option<wijklog_shared::Location>,
    /// The nearest address of the GPS position, when it was looked up for
    /// this position (shown instead of the coordinates).
    pub address: Option<String>,
    /// Number of photos.
    pub photo_count: usize,
    /// The photos (`sha256:<64 hex>`, list order; anything else in the
    /// document's list is left out), for thumbnails in the report.
    pub photos: Vec<String>,
    /// The erasure of the observation's content (when, by whom, on what
    /// basis), shown in place of its values; left out when not erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased: Option<wijklog_shared::Erasure>,
}

/// All observations of one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportCategory {
    /// Category id.
    pub id: String,
    /// Catalog label (the id when the catalog does not know it).
    pub label: String,
    /// A positive signal.
    pub positive: bool,
    /// The observations, oldest first.
    pub items: Vec<ReportItem>,
}

/// One action of a partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportAction {
    /// Item id.
    pub item_id: String,
    /// Category id of the item.
    pub category: Option<String>,
    /// Place of the item.
    pub place: Option<String>,
    /// Text of the item.
    pub text: Option<String>,
    /// Follow-up status.
    pub status: Option<String>,
    /// Follow-up note.
    pub note: Option<String>,
    /// The erasure of the item's content, as in [`ReportItem::erased`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased: Option<wijklog_shared::Erasure>,
}

/// The action list of one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportPartner {
    /// Partner id.
    pub id: String,
    /// Catalog label.
    pub label: String,
    /// Actions.
    pub actions: Vec<ReportAction>,
}

/// An account that logged observations in the walk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportWalker {
    /// User id.
    pub id: String,
    /// Display name (`None` when the account no longer exists).
    pub name: Option<String>,
    /// Observations of the walk this account logged (deleted ones left out).
    pub observations: usize,
}

/// The walkers of a walk: the authors of its live observations as the server
/// recorded them (the projection's authors, taken from the actor bindings,
/// never the document's claim), in the order of their first observation.
/// `name_of` looks up a display name.
pub fn walkers(
    rows: &[crate::storage::ProjectionRow],
    name_of: impl Fn(&str) -> Option<String>,
) -> Vec<ReportWalker> {
    let mut live: Vec<_> = rows
        .iter()
        .filter(|r| !r.deleted)
        .filter_map(|r| r.created_by.as_deref().map(|by| (r.created_at, by)))
        .collect();
    live.sort();
    let mut out: Vec<ReportWalker> = Vec::new();
    for (_, by) in live {
        match out.iter_mut().find(|w| w.id == by) {
            Some(w) => w.observations += 1,
            None => out.push(ReportWalker {
                id: by.to_owned(),
                name: name_of(by),
                observations: 1,
            }),
        }
    }
    out
}

/// `GET /api/v1/walks/{id}/report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkReport {
    /// The walk id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Wijk id and label.
    pub wijk: Option<String>,
    /// Wijk label.
    pub wijk_label: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// Route description.
    pub route: Option<String>,
    /// Planned, started and ended (ms).
    pub planned_at: Option<i64>,
    /// Started (ms).
    pub started_at: Option<i64>,
    /// Ended (ms).
    pub ended_at: Option<i64>,
    /// Closing summary.
    pub summary: Option<String>,
    /// The accounts that logged observations ([`walkers`]); filled in by
    /// the route, which has the store.
    pub walkers: Vec<ReportWalker>,
    /// Participants (name, organisation).
    pub participants: Vec<wijklog_shared::Participant>,
    /// Observations by category, in catalog order.
    pub categories: Vec<ReportCategory>,
    /// Follow-up actions per partner, in catalog order.
    pub partners: Vec<ReportPartner>,
    /// Number of observations (deleted ones left out).
    pub observation_count: usize,
}

/// The erasure of an item's content, if it was erased.
fn item_erasure(o: &wijklog_shared::Item) -> Option<wijklog_shared::Erasure> {
    o.erased.as_ref().and_then(|e| e.item.clone())
}

/// Builds the walk report from the walk document and the catalog.
pub fn walk_report(id: DocId, doc: &Automerge, catalog: &Catalog) -> Result<WalkReport, ApiError> {
    let w = Walk::from_doc(doc)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("walk does not read: {}", e.code())))?;
    let mut live: Vec<_> = w
        .observations
        .values()
        .filter(|o| o.deleted.is_none())
        .collect();
    live.sort_by_key(|o| (o.created_at, o.id.clone()));

    let cat_order = |id: &str| {
        catalog
            .categories
            .get(id)
            .and_then(|c| c.order)
            .unwrap_or(i64::MAX)
    };
    let mut by_cat: BTreeMap<(i64, String), Vec<ReportItem>> = BTreeMap::new();
    let mut by_partner: BTreeMap<(i64, String), Vec<ReportAction>> = BTreeMap::new();
    for o in &live {
        let cat = o.category.clone().unwrap_or_default();
        by_cat
            .entry((cat_order(&cat), cat))
            .or_default()
            .push(ReportItem {
                id: o.id.clone(),
                created_at: o.created_at,
                severity: o.severity.map(|s| s.as_str().to_owned()),
                text: o.text.clone(),
                place: o.place.clone(),
                location: o.location,
                address: o.current_address().map(str::to_owned),
                photo_count: o.photos.len(),
                photos: o
                    .photos
                    .iter()
                    .filter(|p| crate::blobs::BlobHash::parse_reference(p).is_ok())
                    .cloned()
                    .collect(),
                erased: item_erasure(o),
            });
        for (partner, f) in &o.follow_up {
            let order = catalog
                .partners
                .get(partner)
                .and_then(|p| p.order)
                .unwrap_or(i64::MAX);
            by_partner
                .entry((order, partner.clone()))
                .or_default()
                .push(ReportAction {
                    item_id: o.id.clone(),
                    category: o.category.clone(),
                    place: o.place.clone(),
                    text: o.text.clone(),
                    status: f.status.map(|s| s.as_str().to_owned()),
                    note: f.note.clone(),
                    erased: item_erasure(o),
                });
        }
    }
    let categories = by_cat
        .into_iter()
        .map(|((_, id), items)| {
            let entry = catalog.categories.get(&id);
            ReportCategory {
                label: entry
                    .and_then(|c| c.label.clone())
                    .unwrap_or_else(|| id.clone()),
                positive: entry.is_some_and(|c| c.positive),
                id,
                items,
            }
        })
        .collect();
    let partners = by_partner
        .into_iter()
        .map(|((_, id), actions)| ReportPartner {
            label: catalog
                .partners
                .get(&id)
                .and_then(|p| p.label.clone())
                .unwrap_or_else(|| id.clone()),
            id,
            actions,
        })
        .collect();
    let wijk_label = w
        .wijk
        .as_ref()
        .and_then(|k| catalog.wijken.get(k))
        .and_then(|e| e.label.clone());
    Ok(WalkReport {
        id: id.to_string(),
        title: w.title,
        wijk: w.wijk,
        wijk_label,
        team: w.team,
        route: w.route,
        planned_at: w.planned_at,
        started_at: w.started_at,
        ended_at: w.ended_at,
        summary: w.summary,
        walkers: Vec::new(),
        participants: w.participants.into_values().collect(),
        categories,
        partners,
        observation_count: live.len(),
    })
}

/// Feedback work list entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenFeedback {
    /// `walk` or `spreekuur`.
    pub kind: &'static str,
    /// Age in whole days since the item was created.
    pub age_days: i64,
    /// The row (as in the list: no resident contact details).
    pub item: Value,
}

/// Everything where feedback is needed and not given, oldest first.
pub fn open_feedback(
    db: &ReviewDb,
    scope: &super::Scope,
    now: i64,
    limit: u32,
) -> Result<Vec<OpenFeedback>, ApiError> {
    let dialect: Dialect = db.require_dialect()?;
    let mut params: Vec<rusqlite::types::Value> = Vec::new();
    let mut parts = Vec::new();
    for (table, kind, part) in [
        ("observations", "walk", &scope.walks),
        ("notes", "spreekuur", &scope.notes),
    ] {
        let Some(team) = part else { continue };
        let mut sql = format!(
            "SELECT '{kind}' AS kind, sort_at, row_json, doc_id, item_id FROM {table} \
             WHERE {} AND {} AND fb_given_at IS NULL",
            dialect.is_false("deleted"),
            dialect.is_true("fb_needed"),
        );
        if let Some(t) = team {
            sql.push_str(" AND team = ?");
            params.push(rusqlite::types::Value::Text(t.clone()));
        }
        parts.push(sql);
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{} ORDER BY 2 ASC, 4 ASC, 5 ASC LIMIT {limit}",
        parts.join(" UNION ALL ")
    );
    db.rows(&sql, &params, |r| {
        let kind = r.text(0)?;
        let created = r.int(1)?;
        let json = r.text(2)?;
        Ok(OpenFeedback {
            kind: if kind == "walk" { "walk" } else { "spreekuur" },
            age_days: (now - created).max(0) / super::DAY_MS,
            item: super::query::list_view(&json)?,
        })
    })
}
