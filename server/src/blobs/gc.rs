//! Garbage collection of unreferenced blobs: the report, and the periodic
//! task the server runs every `blobs.gc_interval_secs` (the same work as
//! `wijklog blobs gc`; see [`super::BlobStore::collect_garbage`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{BlobHash, BlobStore};
use crate::shutdown::Shutdown;

/// What one garbage collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Blobs deleted (file and row).
    pub deleted: Vec<BlobHash>,
    /// Blob files without a row that were removed.
    pub stray_files: usize,
    /// Abandoned temp files removed.
    pub temp_files: usize,
    /// Cached thumbnails of vanished blobs removed.
    pub thumbnails: usize,
    /// Blobs whose file could not be deleted (kept for the next run).
    pub failed: usize,
    /// Another node holds the lead and runs the collection now (PostgreSQL);
    /// this one did nothing.
    pub skipped: bool,
}

/// Starts the periodic collection on the current runtime; it stops when
/// `shutdown` is triggered. The first run is one interval after start.
pub fn spawn_periodic(store: Arc<BlobStore>, shutdown: Shutdown) {
    let every = Duration::from_secs(store.config().gc_interval_secs);
    actix_web::rt::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.triggered() => break,
                _ = tokio::time::sleep(every) => {}
            }
            let store = store.clone();
            let now = crate::domain::now_ms();
            match tokio::task::spawn_blocking(move || store.collect_garbage(now)).await {
                Ok(Ok(report)) => {
                    if !report.deleted.is_empty()
                        || report.stray_files + report.temp_files + report.failed > 0
                    {
                        tracing::info!(
                            deleted = report.deleted.len(),
                            stray_files = report.stray_files,
                            temp_files = report.temp_files,
                            thumbnails = report.thumbnails,
                            failed = report.failed,
                            "blob garbage collection"
                        );
                    }
                }
                Ok(Err(e)) => crate::telemetry::log_error_chain(&e),
                Err(e) => tracing::warn!(error = %e, "blob garbage collection task failed"),
            }
        }
    });
}
