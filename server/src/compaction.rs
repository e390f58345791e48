//! Periodic compaction: documents with many changes not yet covered by a
//! snapshot are rebuilt, saved, and handed to [`Store::compact`], which
//! keeps every change the snapshot does not provably contain (so a commit
//! racing with compaction loses nothing). Loading a compacted document reads
//! one snapshot plus the few changes after it.
//!
//! Runs every `compaction.interval_secs` on the blocking pool, on one node
//! at a time when several share a database ([`run_pass_as_leader`]); `wijklog
//! compact` runs one pass by hand.

use std::time::Duration;

use crate::domain::DocId;
use crate::shutdown::Shutdown;
use crate::storage::{Singleton, Store, StoreError};

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Documents compacted.
    pub documents: usize,
    /// Changes whose bytes moved into snapshots.
    pub covered: usize,
    /// Documents skipped because they failed to load or compact (logged).
    pub failed: usize,
}

/// Compaction failures for one document.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored changes do not form a loadable document.
    #[error("the stored document does not load")]
    Load(#[source] automerge::AutomergeError),
}

/// Compacts one document; returns how many changes were covered.
pub fn compact_doc(store: &dyn Store, id: DocId) -> Result<usize, CompactError> {
    let Some(stored) = store.load_doc(id)? else {
        return Ok(0);
    };
    let doc = stored.to_automerge().map_err(CompactError::Load)?;
    let snapshot = doc.save();
    Ok(store.compact(id, &snapshot)?.covered)
}

/// One pass over every document with at least `min_changes` uncovered changes.
pub fn run_pass(store: &dyn Store, min_changes: u64) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    for (id, _) in store.uncompacted_docs(min_changes.max(1))? {
        match compact_doc(store, id) {
            Ok(covered) => {
                report.documents += 1;
                report.covered += covered;
            }
            Err(e) => {
                report.failed += 1;
                tracing::error!(doc = %id, error = %e, "compaction failed; the document is left as it was");
            }
        }
    }
    Ok(report)
}

/// [`run_pass`] if this process takes the lead for compaction
/// ([`Store::try_lead`]): with several nodes on one database one of them
/// compacts at a time. `None` if another node is compacting now.
pub fn run_pass_as_leader(
    store: &dyn Store,
    min_changes: u64,
) -> Result<Option<PassReport>, StoreError> {
    let Some(_lead) = store.try_lead(Singleton::Compaction)? else {
        return Ok(None);
    };
    run_pass(store, min_changes).map(Some)
}

/// Spawns the periodic compaction task (stops at shutdown).
pub fn spawn_periodic(
    store: std::sync::Arc<dyn Store>,
    interval: Duration,
    min_changes: u64,
    shutdown: Shutdown,
) {
    if interval.is_zero() {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.triggered() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let store = store.clone();
            match tokio::task::spawn_blocking(move || {
                run_pass_as_leader(store.as_ref(), min_changes)
            })
            .await
            {
                Ok(Ok(None)) => tracing::debug!("another node is compacting; pass skipped"),
                Ok(Ok(Some(report))) if report.documents > 0 || report.failed > 0 => {
                    tracing::info!(
                        documents = report.documents,
                        covered = report.covered,
                        failed = report.failed,
                        "compaction pass"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "compaction pass failed"),
                Err(e) => tracing::error!(error = %e, "compaction task failed"),
            }
        }
    });
}
