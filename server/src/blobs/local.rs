//! [`LocalBlobs`]: the photo backend of a SQLite installation. The bytes are
//! content-addressed files under `<data>/blobs/` ([`super::files`]), the rows
//! are in `wijklog.db` ([`super::db`]), thumbnails are cached under
//! `<data>/thumbs/`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::backend::{BlobBackend, ItemRef};
use super::db::BlobDb;
use super::files::{self, Layout};
use super::gc::GcReport;
use super::sniff::ImageInfo;
use super::{BlobError, BlobHash, BlobRecord, thumb};
use crate::domain::{DocKind, UserId};

/// Temp files older than this are always considered abandoned.
const TEMP_FILE_MAX_AGE: Duration = Duration::from_secs(3600);

/// Files and SQLite rows of one data directory.
#[derive(Debug)]
pub(crate) struct LocalBlobs {
    layout: Layout,
    db: BlobDb,
    /// Serialises "write file + record row" (uploads) against garbage
    /// collection in this process, so GC never deletes a file an upload is
    /// about to record.
    write_lock: Mutex<()>,
}

impl LocalBlobs {
    /// The blobs of `data_dir` (whose database must be migrated already).
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            layout: Layout::new(data_dir),
            db: BlobDb::new(&crate::storage::database_path(data_dir)),
            write_lock: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn file_ok(&self, hash: &BlobHash, len: usize) -> bool {
        std::fs::metadata(self.layout.blob_path(hash))
            .is_ok_and(|m| m.is_file() && m.len() == len as u64)
    }
}

impl BlobBackend for LocalBlobs {
    fn get(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, BlobError> {
        Ok(self.db.get(hash)?)
    }

    fn all(&self) -> Result<Vec<BlobRecord>, BlobError> {
        Ok(self.db.all()?)
    }

    fn is_stored(&self, hash: &BlobHash, len: usize) -> Result<bool, BlobError> {
        Ok(self.db.get(hash)?.is_some() && self.file_ok(hash, len))
    }

    fn put(
        &self,
        hash: &BlobHash,
        bytes: &[u8],
        info: &ImageInfo,
        by: &UserId,
        now_ms: i64,
    ) -> Result<bool, BlobError> {
        let _guard = self.lock();
        let recorded = self.db.get(hash)?.is_some();
        let file_ok = self.file_ok(hash, bytes.len());
        if recorded && file_ok {
            return Ok(false);
        }
        if !file_ok {
            files::write_atomic(&self.layout.blob_path(hash), bytes)?;
        }
        Ok(self.db.record(hash, bytes.len() as u64, info, by, now_ms)?)
    }

    fn bytes(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        match std::fs::read(self.layout.blob_path(hash)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn referencing_docs(
        &self,
        hash: &BlobHash,
    ) -> Result<Vec<(DocKind, Option<String>)>, BlobError> {
        Ok(self.db.referencing_docs(hash)?)
    }

    fn referencing_items(&self, hash: &BlobHash) -> Result<Vec<ItemRef>, BlobError> {
        Ok(self.db.referencing_items(hash)?)
    }

    fn reference_count(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        Ok(self.db.reference_count(hash)?)
    }

    fn cached_thumbnail(&self, hash: &BlobHash, px: u32) -> Result<Option<Vec<u8>>, BlobError> {
        match std::fs::read(self.layout.thumb_path(hash, px)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn cache_thumbnail(&self, hash: &BlobHash, px: u32, jpeg: &[u8]) -> Result<(), BlobError> {
        match files::write_atomic(&self.layout.thumb_path(hash, px), jpeg) {
            Ok(()) => Ok(()),
            // The cache is only a cache: on a full disk the thumbnail is
            // served without it (reads go on; docs/operations.md "Disk full").
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                tracing::warn!("thumbnail not cached: the disk is full");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn remove_unreferenced(&self, hashes: &[BlobHash]) -> Result<usize, BlobError> {
        let _guard = self.lock();
        let mut removed = 0;
        for hash in hashes {
            let done = self.db.delete_unreferenced(hash, |h| {
                files::remove_if_present(&self.layout.blob_path(h))
            })?;
            if done? {
                removed += 1;
            }
        }
        if removed > 0 {
            thumb::sweep_orphans(&self.layout)?;
        }
        Ok(removed)
    }

    /// Besides the rows: blob files without a row (a crash between rename
    /// and insert, or left over by a restore) last modified before the
    /// cutoff, temp files older than an hour (abandoned by a crash), and
    /// cached thumbnails whose blob is gone. One server per data directory:
    /// this process always leads.
    fn collect_garbage(&self, cutoff_ms: i64) -> Result<GcReport, BlobError> {
        let cutoff_time = UNIX_EPOCH + Duration::from_millis(u64::try_from(cutoff_ms).unwrap_or(0));
        let _guard = self.lock();
        let mut report = GcReport::default();

        let results = self.db.collect_garbage(cutoff_ms, |hash| {
            files::remove_if_present(&self.layout.blob_path(hash))
        })?;
        for (hash, result) in results {
            match result {
                Ok(()) => report.deleted.push(hash),
                Err(e) => {
                    tracing::warn!(blob = %hash, error = %e, "gc: could not delete a blob file");
                    report.failed += 1;
                }
            }
        }

        let recorded: std::collections::HashSet<String> =
            self.db.all()?.into_iter().map(|r| r.sha256).collect();
        for (hash, path) in self.layout.list_blobs()? {
            if recorded.contains(&hash.to_string()) {
                continue;
            }
            let old = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t <= cutoff_time);
            if old {
                files::remove_if_present(&path)?;
                report.stray_files += 1;
            }
        }

        // A write takes milliseconds: an hour-old temp file is abandoned.
        report.temp_files = self
            .layout
            .sweep_temp_files(SystemTime::now() - TEMP_FILE_MAX_AGE)?;
        report.thumbnails = thumb::sweep_orphans(&self.layout)?;
        Ok(report)
    }

    #[cfg(test)]
    fn connection_settings(&self) -> Vec<(&'static str, String)> {
        self.db.connection_settings()
    }
}
