//! Retention: erasing what has passed its retention period (the rules and
//! their defaults: `[retention]` in the configuration, docs/privacy.md,
//! "Retention").
//!
//! - **Contact details** of a spreekuur note: `contact_closed_days` after
//!   its call back and feedback were closed (the later of the two closing
//!   dates), or `contact_open_days` after the note was written when they were
//!   never closed (a task still open, or no task at all).
//! - **Content** of an observation or note (text, place, position, photos,
//!   partner and call-back notes, contact details): `content_days` after the
//!   document's last date, the latest of its own dates (planned, started,
//!   ended, held) and every date of its items (written, feedback given,
//!   follow-up updated, call back closed or tried).
//! - **Audit log entries**: `audit_days` after they were written.
//! - **Residents' points**: their contact details by the contact periods
//!   (closed: status `afgerond` or `afgewezen`, or merged, counted from the
//!   last change; otherwise from when the point came in), their text, place
//!   and map point by `content_days` after the last change
//!   ([`Store::resident_points_due`], [`Store::erase_resident_points`]).
//!
//! Erasures go through [`crate::erasure`] (history rewritten, basis
//! `bewaartermijn`, by the user `system`), at most `max_erasures_per_run`
//! per run, the oldest due first. [`due`] only reads; [`run`] erases,
//! prunes the audit log and audits itself (`retention.run`, counts only).
//! `now` is a parameter, so tests drive both with a clock of their own.

use std::time::Duration;

use automerge::ReadDoc;
use serde_json::json;
use wijklog_shared::erase::{EraseBasis, EraseWhat};
use wijklog_shared::{Item, ItemId, Spreekuur, Walk};

use crate::blobs::BlobStore;
use crate::config::RetentionConfig;
use crate::domain::{DocId, DocKind, UserId};
use crate::erasure::{EraseError, EraseRequest, Eraser, erase_with};
use crate::seed::SYSTEM_USER;
use crate::shutdown::Shutdown;
use crate::storage::{
    AuditEntry, DocMeta, PointRetention, PointsDue, Singleton, Store, StoreError,
};

/// The reason recorded with every retention erasure.
pub const REASON: &str = "bewaartermijn";

/// The retention periods in ms (`None`: the rule is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Contact details after the note's tasks were closed.
    pub contact_closed: Option<i64>,
    /// Contact details after the note, when its tasks were never closed.
    pub contact_open: Option<i64>,
    /// Content after the document's last date.
    pub content: Option<i64>,
    /// Audit entries after they were written.
    pub audit: Option<i64>,
    /// Most erasures per run.
    pub max_erasures: usize,
}

impl Rules {
    /// The rules of the `[retention]` section.
    pub fn from_config(c: &RetentionConfig) -> Self {
        Self {
            contact_closed: RetentionConfig::period_ms(c.contact_closed_days),
            contact_open: RetentionConfig::period_ms(c.contact_open_days),
            content: RetentionConfig::period_ms(c.content_days),
            audit: RetentionConfig::period_ms(c.audit_days),
            max_erasures: usize::try_from(c.max_erasures_per_run)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }
}

/// One erasure that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    /// The document.
    pub doc: DocId,
    /// The observation or note.
    pub item: ItemId,
    /// Contact details or the whole content.
    pub what: EraseWhat,
    /// Since when it is due (ms): the start of its period plus the period.
    pub since: i64,
}

/// What is due at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// Erasures, the longest due first.
    pub items: Vec<DueItem>,
    /// Audit entries past their period (`None`: the rule is off, or the
    /// audit log's retention is not built for this store).
    pub audit: Option<u64>,
    /// Documents that could not be read (logged by id; not erased).
    pub unreadable: usize,
    /// Residents' points due, by id (`None`: not stored in this store).
    pub points: Option<PointsDue>,
}

impl Due {
    /// How many erasures of `what` are due.
    pub fn count(&self, what: EraseWhat) -> usize {
        self.items.iter().filter(|d| d.what == what).count()
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Contact details erased.
    pub contact: usize,
    /// Items' content erased.
    pub content: usize,
    /// Audit entries deleted.
    pub audit: u64,
    /// Erasures that failed (logged by id; tried again next run).
    pub failed: usize,
    /// Erasures due but left for the next run (`max_erasures_per_run`).
    pub left: usize,
    /// Photo files deleted with the content.
    pub photos_removed: usize,
    /// Documents that could not be read.
    pub unreadable: usize,
    /// Residents' points whose contact details were emptied.
    pub points_contact: usize,
    /// Residents' points whose content was emptied.
    pub points_content: usize,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed (listing, loading, the audit log).
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// What is due at `now` (reads only).
pub fn due(store: &dyn Store, rules: &Rules, now: i64) -> Result<Due, RetentionError> {
    let mut out = Due::default();
    for kind in [DocKind::Walk, DocKind::Spreekuur] {
        for meta in store.docs_of_kind(kind)? {
            match items_due(store, &meta, rules, now) {
                Ok(items) => out.items.extend(items),
                Err(e) => {
                    out.unreadable += 1;
                    tracing::error!(doc = %meta.id, error = %e, "retention: the document could not be read; nothing of it is erased");
                }
            }
        }
    }
    out.items.sort_by_key(|d| (d.since, d.doc, d.item));
    if let Some(period) = rules.audit {
        out.audit = match store.audit_count_before(audit_bound(now, period)) {
            Ok(n) => Some(n),
            Err(StoreError::Unsupported(_)) => None,
            Err(e) => return Err(e.into()),
        };
    }
    let bounds = PointRetention {
        contact_closed: rules.contact_closed.map(|p| now.saturating_sub(p)),
        contact_open: rules.contact_open.map(|p| now.saturating_sub(p)),
        content: rules.content.map(|p| now.saturating_sub(p)),
    };
    out.points = match store.resident_points_due(&bounds) {
        Ok(p) => Some(p),
        Err(StoreError::Unsupported(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(out)
}

/// The audit entries due at `now` are those written before this bound: an
/// entry exactly `period` old is due, like an item.
fn audit_bound(now: i64, period: i64) -> i64 {
    now.saturating_sub(period).saturating_add(1)
}

/// Why one document could not be judged.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored changes do not load")]
    Load(#[from] automerge::AutomergeError),
    #[error("the document does not read: {}", .0.code())]
    Model(wijklog_shared::Error),
}

fn items_due(
    store: &dyn Store,
    meta: &DocMeta,
    rules: &Rules,
    now: i64,
) -> Result<Vec<DueItem>, ReadError> {
    let Some(stored) = store.load_doc(meta.id)? else {
        return Ok(Vec::new());
    };
    let doc = stored.to_automerge()?;
    let (own_dates, items) = read(&doc, meta.kind)?;
    let last = own_dates
        .into_iter()
        .chain(items.iter().flat_map(item_dates))
        .flatten()
        .max()
        .unwrap_or(meta.created_at);
    let mut out = Vec::new();
    for item in &items {
        let Ok(id) = ItemId::parse(&item.id) else {
            continue;
        };
        let erased = item.erased.as_ref();
        if erased.is_some_and(|e| e.item.is_some()) {
            continue;
        }
        let due_item = |what, since| DueItem {
            doc: meta.id,
            item: id,
            what,
            since,
        };
        if let Some(period) = rules.content {
            let since = last.saturating_add(period);
            if now >= since {
                out.push(due_item(EraseWhat::Item, since));
                continue;
            }
        }
        if meta.kind != DocKind::Spreekuur
            || item.resident.is_none()
            || erased.is_some_and(|e| e.contact.is_some())
        {
            continue;
        }
        let written = item.created_at.unwrap_or(meta.created_at);
        let since = match closed_at(item) {
            Some(closed) => rules.contact_closed.map(|p| closed.saturating_add(p)),
            None => rules.contact_open.map(|p| written.saturating_add(p)),
        };
        if let Some(since) = since
            && now >= since
        {
            out.push(due_item(EraseWhat::Contact, since));
        }
    }
    Ok(out)
}

/// The document's own dates and its items.
fn read(doc: &impl ReadDoc, kind: DocKind) -> Result<(Vec<Option<i64>>, Vec<Item>), ReadError> {
    match kind {
        DocKind::Walk => {
            let w = Walk::from_doc(doc).map_err(ReadError::Model)?;
            Ok((
                vec![w.planned_at, w.started_at, w.ended_at, w.reopened_at],
                w.observations.into_values().collect(),
            ))
        }
        DocKind::Spreekuur => {
            let s = Spreekuur::from_doc(doc).map_err(ReadError::Model)?;
            Ok((vec![s.held_on], s.notes.into_values().collect()))
        }
        DocKind::Catalog => Ok((Vec::new(), Vec::new())),
    }
}

/// Every date of an item (its activity).
fn item_dates(item: &Item) -> Vec<Option<i64>> {
    let mut dates = vec![item.created_at, item.feedback.given_at];
    dates.extend(item.follow_up.values().map(|f| f.updated_at));
    if let Some(cb) = &item.callback {
        dates.push(cb.requested_at);
        dates.push(cb.done_at);
        dates.extend(cb.attempts.values().map(|a| a.at));
    }
    dates
}

/// When a note's work with the resident was closed: the later of its
/// call back's and its feedback's closing dates, if there was a task and
/// every task is closed; `None` if a task is open or there never was one.
fn closed_at(item: &Item) -> Option<i64> {
    let mut closed = None;
    if let Some(cb) = &item.callback
        && cb.requested == Some(true)
    {
        closed = Some(cb.done_at?);
    }
    if item.feedback.needed == Some(true) {
        let given = item.feedback.given_at?;
        closed = Some(closed.map_or(given, |c: i64| c.max(given)));
    }
    closed
}

/// Erases what is due at `now` (at most `rules.max_erasures`), deletes the
/// audit entries past their period, and audits the run (`retention.run`,
/// `via` says who started it). Blocking.
pub fn run(
    eraser: &Eraser,
    blobs: &BlobStore,
    rules: &Rules,
    now: i64,
    via: &str,
) -> Result<RunReport, RetentionError> {
    let store = eraser.store().clone();
    let due = due(store.as_ref(), rules, now)?;
    let system = UserId::parse(SYSTEM_USER)
        .map_err(|e| StoreError::Corrupt(format!("the system user id is refused: {}", e.code())))?;
    let mut report = RunReport {
        unreadable: due.unreadable,
        left: due.items.len().saturating_sub(rules.max_erasures),
        ..RunReport::default()
    };
    for d in due.items.iter().take(rules.max_erasures) {
        let req = EraseRequest {
            doc: d.doc,
            item: d.item,
            what: d.what,
            basis: EraseBasis::Bewaartermijn,
            by: system.clone(),
            reason: Some(REASON.to_owned()),
        };
        match erase_with(eraser, blobs, &req) {
            Ok(r) => {
                count(&mut report, d.what);
                report.photos_removed += r.photos_removed;
            }
            Err(EraseError::Photos(e)) => {
                // The erasure is done; the photos go at the next garbage collection.
                count(&mut report, d.what);
                tracing::warn!(doc = %d.doc, item = %d.item, error = %e, "retention: photos of an erased item could not be deleted yet");
            }
            Err(e) => {
                report.failed += 1;
                tracing::error!(doc = %d.doc, item = %d.item, what = d.what.as_str(), error = %e, "retention: erasure failed; tried again at the next run");
            }
        }
    }
    if let Some(points) = &due.points {
        let bounded = PointsDue {
            contact: points
                .contact
                .iter()
                .take(rules.max_erasures)
                .copied()
                .collect(),
            content: points
                .content
                .iter()
                .take(rules.max_erasures)
                .copied()
                .collect(),
        };
        report.left += points.contact.len() - bounded.contact.len();
        report.left += points.content.len() - bounded.content.len();
        if !bounded.contact.is_empty() || !bounded.content.is_empty() {
            store.erase_resident_points(&bounded, &system)?;
        }
        report.points_contact = bounded.contact.len();
        report.points_content = bounded.content.len();
    }
    if let Some(period) = rules.audit {
        report.audit = store.prune_audit(audit_bound(now, period))?;
    }
    store.append_audit(AuditEntry {
        actor: None,
        action: "retention.run".into(),
        subject: None,
        detail: json!({
            "via": via,
            "contact": report.contact,
            "content": report.content,
            "audit_deleted": report.audit,
            "failed": report.failed,
            "left": report.left,
            "photos_removed": report.photos_removed,
            "unreadable": report.unreadable,
            "points_contact": report.points_contact,
            "points_content": report.points_content,
        }),
    })?;
    Ok(report)
}

fn count(report: &mut RunReport, what: EraseWhat) {
    match what {
        EraseWhat::Contact => report.contact += 1,
        EraseWhat::Item => report.content += 1,
    }
}

/// The first run of the timer comes this long after the start (or after
/// `interval` if that is shorter), so a server that restarts more often
/// than once a day still runs it.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(10 * 60);

/// Spawns the periodic run in `serve` (every `interval_secs`, on one node
/// at a time: [`Singleton::Retention`]); stops at shutdown.
pub fn spawn_periodic(
    eraser: Eraser,
    blobs: std::sync::Arc<BlobStore>,
    config: &RetentionConfig,
    shutdown: Shutdown,
) {
    if config.interval_secs == 0 {
        return;
    }
    let interval = Duration::from_secs(config.interval_secs);
    let rules = Rules::from_config(config);
    actix_web::rt::spawn(async move {
        let mut wait = interval.min(FIRST_RUN_AFTER);
        loop {
            tokio::select! {
                _ = shutdown.triggered() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = interval;
            let eraser = eraser.clone();
            let blobs = blobs.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let Some(_lead) = eraser.store().try_lead(Singleton::Retention)? else {
                    return Ok(None);
                };
                run(&eraser, &blobs, &rules, crate::domain::now_ms(), "timer").map(Some)
            })
            .await;
            match outcome {
                Ok(Ok(None)) => tracing::debug!("another node runs retention; run skipped"),
                Ok(Ok(Some(r))) => tracing::info!(
                    contact = r.contact,
                    content = r.content,
                    audit_deleted = r.audit,
                    failed = r.failed,
                    left = r.left,
                    "retention run"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "retention run failed"),
                Err(e) => tracing::error!(error = %e, "retention task failed"),
            }
        }
    });
}
