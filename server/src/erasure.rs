//! Erasure on the server: a resident's contact details or a whole
//! observation/note removed from the document AND its history (see
//! `docs/privacy.md`, "Erasure", and `docs/decisions/0018-erasure-rewrites-history.md`).
//!
//! [`erase`] runs under the document's lock in the sync cache, so no sync
//! write of the document can be applied or committed in between:
//! 1. waits until everything applied to the cached document is committed;
//! 2. applies the erasure edit (`wijklog_shared::Document::erase`) with a
//!    fresh actor bound to the coordinator;
//! 3. rewrites the history (`wijklog_shared::erase::rewrite_history`);
//! 4. replaces the stored history, snapshot, projection and full-text rows
//!    and appends the audit entry in one transaction
//!    ([`crate::storage::Store::replace_history`]);
//! 5. evicts the cached document (a write still queued for the old
//!    history fails instead of storing old changes), tells every connection
//!    that holds the document its new epoch (the live hub; the device then
//!    replaces its copy, `docs/sync-protocol.md` §5a), then deletes the
//!    photos only the erased item referenced.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ActorId;
use serde_json::json;
use wijklog_shared::erase::{EraseBasis, EraseWhat, RewriteError, rewrite_history, targets_of};

use crate::blobs::{BlobHash, BlobStore};
use crate::domain::{DocId, DocKind, UserId, now_ms};
use crate::storage::{AuditEntry, MailScrub, NewChange, ReplacedHistory, Store, StoreError};
use crate::sync::SyncService;
use crate::sync::cache::{CacheError, DocCache};
use crate::sync::hub::{DocEvent, Hub, ScopeFacts};

/// Longest reason (characters).
pub const MAX_REASON_CHARS: usize = 500;
/// How long an erasure waits for the document's writes in flight to commit.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to erase.
#[derive(Debug, Clone)]
pub struct EraseRequest {
    /// The document.
    pub doc: DocId,
    /// The observation or note.
    pub item: wijklog_shared::ItemId,
    /// Contact details or the whole item.
    pub what: EraseWhat,
    /// On request or because the retention period passed.
    pub basis: EraseBasis,
    /// Who erases (a coordinator; for retention runs the system user).
    pub by: UserId,
    /// The reason given (audited; never shown in the document).
    pub reason: Option<String>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseReport {
    /// The document's epoch after the erasure.
    pub epoch: i64,
    /// When (ms), as recorded in the item.
    pub at: i64,
    /// Changes of the history (before the erasure edit).
    pub changes: usize,
    /// Values neutralised in the history.
    pub values_replaced: usize,
    /// Size of the document's changes before (sum of raw change bytes).
    pub bytes_before: usize,
    /// The same after the rewrite.
    pub bytes_after: usize,
    /// Photo files deleted because only the erased item referenced them.
    pub photos_removed: usize,
}

/// Why an erasure did not happen (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// No such document or item.
    #[error("no such document or item")]
    NotFound,
    /// Contact details of an observation (only notes have them).
    #[error("contact details exist only on spreekuur notes")]
    WrongKind,
    /// The document's writes did not settle in time.
    #[error("the document is busy")]
    Busy,
    /// The cache could not load the document.
    #[error("the document could not be loaded")]
    Cache(#[source] Box<CacheError>),
    /// The document model refused the edit.
    #[error("the erasure edit failed: {}", .0.code())]
    Model(Box<wijklog_shared::Error>),
    /// The rewrite failed.
    #[error("the history could not be rewritten")]
    Rewrite(#[source] Box<RewriteError>),
    /// The store failed.
    #[error("the store failed")]
    Store(#[source] Box<StoreError>),
    /// Photos could not be deleted (the erasure itself is done).
    #[error("photo clean-up failed")]
    Photos(#[source] Box<crate::blobs::BlobError>),
}

impl From<CacheError> for EraseError {
    fn from(e: CacheError) -> Self {
        EraseError::Cache(Box::new(e))
    }
}

impl From<RewriteError> for EraseError {
    fn from(e: RewriteError) -> Self {
        EraseError::Rewrite(Box::new(e))
    }
}

impl From<StoreError> for EraseError {
    fn from(e: StoreError) -> Self {
        EraseError::Store(Box::new(e))
    }
}

impl From<crate::blobs::BlobError> for EraseError {
    fn from(e: crate::blobs::BlobError) -> Self {
        EraseError::Photos(Box::new(e))
    }
}

fn model(e: wijklog_shared::Error) -> EraseError {
    EraseError::Model(Box::new(e))
}

/// What an erasure works with: the store, the sync layer's document cache
/// (whose per-document lock keeps sync writes out while it runs) and its
/// live hub (which tells the connections holding the document its new epoch).
#[derive(Clone)]
pub struct Eraser {
    store: Arc<dyn Store>,
    cache: Arc<DocCache>,
    hub: Hub,
}

impl std::fmt::Debug for Eraser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eraser").finish_non_exhaustive()
    }
}

impl Eraser {
    /// The running server's parts.
    pub fn of(sync: &SyncService) -> Self {
        Self {
            store: sync.app.store.clone(),
            cache: sync.cache.clone(),
            hub: sync.hub.clone(),
        }
    }

    /// Parts of its own, for a process that serves no sync connections
    /// (`wijklog retention run`). On SQLite only while no server writes
    /// the same database: a server's cached copy would not learn of the
    /// rewrite. On PostgreSQL the nodes hear of it (the store's change
    /// notifications) and drop their copies; a node's commit that comes
    /// between this process's load and its rewrite makes the rewrite start
    /// again from the stored history.
    pub fn standalone(store: Arc<dyn Store>) -> Self {
        Self {
            cache: Arc::new(DocCache::new(store.clone())),
            hub: Hub::new(16),
            store,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Erases (blocking: call it on the blocking pool). `blobs` holds the
/// photos the erased item may have referenced.
pub fn erase(
    sync: &SyncService,
    blobs: &BlobStore,
    req: &EraseRequest,
) -> Result<EraseReport, EraseError> {
    erase_with(&Eraser::of(sync), blobs, req)
}

/// How often an erasure starts again when the stored history changed
/// under it (on PostgreSQL another node may commit to the document between
/// the load and the rewrite's transaction).
const ATTEMPTS: u32 = 3;

/// [`erase`] with the given parts.
pub fn erase_with(
    sync: &Eraser,
    blobs: &BlobStore,
    req: &EraseRequest,
) -> Result<EraseReport, EraseError> {
    let mut attempt = 1;
    loop {
        match erase_once(sync, blobs, req) {
            Err(EraseError::Store(e))
                if attempt < ATTEMPTS && matches!(*e, StoreError::HistoryChanged) =>
            {
                // Nothing was changed; the next try loads the stored history.
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn erase_once(
    sync: &Eraser,
    blobs: &BlobStore,
    req: &EraseRequest,
) -> Result<EraseReport, EraseError> {
    let store = sync.store.clone();
    let entry = sync.cache.open(req.doc)?.ok_or(EraseError::NotFound)?;
    if entry.meta.kind == DocKind::Catalog {
        return Err(EraseError::NotFound);
    }
    // 1. Everything applied is committed: the cached document is the stored one.
    let started = Instant::now();
    let guard = loop {
        let guard = entry.lock().map_err(|_| EraseError::Busy)?;
        if entry.is_poisoned() {
            return Err(EraseError::Busy);
        }
        let mut heads = guard.doc.get_heads();
        let mut committed = guard.committed_heads.clone();
        heads.sort();
        committed.sort();
        if heads == committed {
            break guard;
        }
        drop(guard);
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(EraseError::Busy);
        }
        std::thread::sleep(Duration::from_millis(10));
    };

    step(req.doc, "locked");
    // 2. The erasure edit, by a fresh actor.
    let old_changes = guard.doc.get_changes(&[]);
    let old_heads = guard.doc.get_heads();
    let mut doc = wijklog_shared::Document::load(req.doc, &guard.doc.save()).map_err(model)?;
    let actor = ActorId::random();
    doc.set_actor(actor.clone());
    let at = now_ms();
    doc.erase(
        &req.by,
        wijklog_shared::Timestamp::from_millis(at),
        &req.item,
        req.what,
        req.basis,
    )
    .map_err(|e| match e.code() {
        "item_not_found" => EraseError::NotFound,
        "wrong_kind" => EraseError::WrongKind,
        _ => model(e),
    })?;
    let erased = doc.automerge_mut().document().clone();
    step(req.doc, "edited");

    // 3. The rewrite.
    let rewritten = rewrite_history(&erased, &targets_of(&erased))?;
    step(req.doc, "rewritten");
    let mut hashes = HashMap::with_capacity(old_changes.len());
    for c in &old_changes {
        let new = rewritten
            .hashes
            .get(&c.hash())
            .copied()
            .ok_or(RewriteError::StateChanged)?;
        hashes.insert(c.hash(), new);
    }
    let added: Vec<NewChange> = erased
        .get_changes(&old_heads)
        .iter()
        .map(|c| NewChange {
            hash: rewritten.hashes.get(&c.hash()).copied().unwrap_or(c.hash()),
            actor: c.actor_id().to_bytes().to_vec(),
            bytes: Vec::new(),
        })
        .collect();
    let photos = photos_of(&guard.doc, req.doc, &req.item);
    let projection = crate::sync::projection::rows_from_bindings(
        &entry.meta,
        &rewritten.doc,
        store.as_ref(),
        Some((&actor, req.by.as_str())),
    );
    let bytes_before: usize = old_changes.iter().map(|c| c.raw_bytes().len()).sum();
    let bytes_after: usize = rewritten
        .doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().len())
        .sum();
    let audit = AuditEntry {
        actor: Some(req.by.clone()),
        action: format!("item.erase_{}", req.what.as_str()),
        subject: Some(format!("{}/{}", req.doc, req.item)),
        detail: json!({
            "what": req.what.as_str(),
            "basis": req.basis.as_str(),
            "reason": req.reason,
            "changes": old_changes.len(),
            "values_replaced": rewritten.replaced,
        }),
    };

    step(req.doc, "prepared");
    // 4. One transaction.
    let replaced = store.replace_history(
        req.doc,
        &ReplacedHistory {
            hashes,
            added,
            added_by: req.by.clone(),
            snapshot: rewritten.doc.save(),
            projection,
            audit,
            scrub_mail: Some(MailScrub {
                item: req.item.to_string(),
                contact_only: req.what == EraseWhat::Contact,
            }),
        },
    );
    let epoch = match replaced {
        Ok(epoch) => epoch,
        Err(StoreError::HistoryChanged) => {
            // Another node committed to the document since this copy was
            // read: the copy is stale; the next try loads it again.
            sync.cache.evict(&entry);
            return Err(StoreError::HistoryChanged.into());
        }
        Err(e) => return Err(e.into()),
    };

    // 5. The cached copy holds the old history: gone, and writes queued
    // for it fail (their changes would bring it back).
    sync.cache.evict(&entry);
    drop(guard);
    step(req.doc, "evicted");
    // Every connection that holds the document is told its new epoch (a
    // `doc` frame), so its device replaces its copy.
    sync.hub.publish(DocEvent {
        doc: req.doc,
        kind: entry.meta.kind,
        team: entry.meta.team.clone(),
        origins: Vec::new(),
        scope: ScopeFacts {
            owner: Some(entry.meta.owner.clone()),
            created_at: entry.meta.created_at,
            rewritten: true,
            ..ScopeFacts::default()
        },
    });
    let photos_removed = if photos.is_empty() || req.what != EraseWhat::Item {
        0
    } else {
        blobs.remove_unreferenced(&photos)?
    };
    step(req.doc, "photos");
    Ok(EraseReport {
        epoch,
        at,
        changes: old_changes.len(),
        values_replaced: rewritten.replaced,
        bytes_before,
        bytes_after,
        photos_removed,
    })
}

/// Crash point `erasure.step` (tests only, [`crate::crashpoint::Point::ErasureStep`]).
fn step(doc: DocId, step: &'static str) {
    crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureStep, || {
        format!("doc={doc} step={step}")
    });
}

/// The photo references of one item in the document as it is now.
fn photos_of(
    doc: &automerge::Automerge,
    id: wijklog_shared::DocId,
    item: &wijklog_shared::ItemId,
) -> Vec<BlobHash> {
    let Ok(rows) = wijklog_shared::project(id, doc) else {
        return Vec::new();
    };
    let item = item.to_string();
    rows.into_iter()
        .filter(|r| r.item_id == item)
        .flat_map(|r| r.photos)
        .filter_map(|p| BlobHash::parse_reference(&p).ok())
        .collect()
}
