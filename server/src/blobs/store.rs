//! [`BlobStore`]: upload, permission-checked read, thumbnails and garbage
//! collection over the files ([`super::files`]) and the tables
//! ([`super::db`]).
//!
//! All methods except [`read_body`] block (file system, SQLite): call them
//! from `spawn_blocking` / `web::block`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::db::{BlobDb, BlobRecord};
use super::files::{self, Layout};
use super::gc::GcReport;
use super::sniff::{self, ImageType};
use super::{BlobError, BlobHash, thumb};
use crate::config::BlobsConfig;
use crate::domain::Principal;
use crate::domain::{DocId, UserId};

/// Temp files older than this are always considered abandoned.
const TEMP_FILE_MAX_AGE: Duration = Duration::from_secs(3600);

/// The outcome of a successful upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
    /// The blob is new: stored and recorded (HTTP 201).
    Created,
    /// The blob was already stored; nothing was written twice (HTTP 200).
    AlreadyStored,
}

/// The blob layer of one data directory. Share it behind an `Arc`.
#[derive(Debug)]
pub struct BlobStore {
    layout: Layout,
    db: BlobDb,
    config: BlobsConfig,
    /// Serialises "write file + record row" (uploads) against garbage
    /// collection in this process, so GC never deletes a file an upload is
    /// about to record.
    write_lock: Mutex<()>,
}

/// Reads a request body, hashing it on the way, and stops with
/// [`BlobError::TooLarge`] as soon as more than `max_bytes` arrived (the
/// buffer never exceeds the limit). A stream error (connection cut, body
/// shorter than its `Content-Length`) is [`BlobError::Incomplete`].
pub async fn read_body<S, B, E>(
    mut body: S,
    max_bytes: u64,
) -> Result<(Vec<u8>, BlobHash), BlobError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut buf = Vec::new();
    let mut hasher = Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::info!(error = %e, "blob upload body failed");
            BlobError::Incomplete
        })?;
        let chunk = chunk.as_ref();
        if (buf.len() + chunk.len()) as u64 > max_bytes {
            return Err(BlobError::TooLarge { max: max_bytes });
        }
        hasher.update(chunk);
        buf.extend_from_slice(chunk);
    }
    Ok((buf, BlobHash::from_digest(hasher)))
}

impl BlobStore {
    /// The blob layer of `data_dir` (files under `data_dir/blobs`, rows in
    /// `data_dir/wijklog.db`, which must be migrated already). Opens
    /// nothing until first use.
    pub fn new(data_dir: &Path, config: BlobsConfig) -> Self {
        Self {
            layout: Layout::new(data_dir),
            db: BlobDb::new(&crate::storage::database_path(data_dir)),
            config,
            write_lock: Mutex::new(()),
        }
    }

    /// The settings of the photo table's connection, as SQLite reports them.
    #[cfg(test)]
    pub(crate) fn connection_settings(&self) -> Vec<(&'static str, String)> {
        self.db.connection_settings()
    }

    /// The configuration in effect.
    pub fn config(&self) -> &BlobsConfig {
        &self.config
    }

    /// Where the files are.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Stores a received body as blob `expected`: checks the size, the hash
    /// and the content (JPEG/PNG/WebP that decodes), then writes the file
    /// atomically and records the upload. A blob already stored (row and
    /// file present) is answered after the hash check alone and not written
    /// again.
    pub fn store(
        &self,
        expected: &BlobHash,
        bytes: &[u8],
        by: &UserId,
        now_ms: i64,
    ) -> Result<Uploaded, BlobError> {
        if bytes.len() as u64 > self.config.max_bytes {
            return Err(BlobError::TooLarge {
                max: self.config.max_bytes,
            });
        }
        if BlobHash::of(bytes) != *expected {
            return Err(BlobError::HashMismatch);
        }
        let path = self.layout.blob_path(expected);
        let present = |len: usize| -> Result<(bool, bool), BlobError> {
            let recorded = self.db.get(expected)?.is_some();
            let file_ok =
                std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == len as u64);
            Ok((recorded, file_ok))
        };
        // Same hash, same bytes: a stored blob passed the content check
        // already, so a duplicate is answered without decoding it again.
        if present(bytes.len())? == (true, true) {
            return Ok(Uploaded::AlreadyStored);
        }
        let info = sniff::inspect(bytes)?;
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (recorded, file_ok) = present(bytes.len())?;
        if recorded && file_ok {
            return Ok(Uploaded::AlreadyStored);
        }
        if !file_ok {
            files::write_atomic(&path, bytes)?;
        }
        let created = self
            .db
            .record(expected, bytes.len() as u64, &info, by, now_ms)?;
        Ok(if created {
            Uploaded::Created
        } else {
            Uploaded::AlreadyStored
        })
    }

    /// The row of a blob `who` may read: one that some document `who` may
    /// see references. Unknown and forbidden blobs are both `NotFound`.
    pub fn readable(&self, who: &Principal, hash: &BlobHash) -> Result<BlobRecord, BlobError> {
        let record = self.db.get(hash)?.ok_or(BlobError::NotFound)?;
        let docs = self.db.referencing_docs(hash)?;
        if docs
            .iter()
            .any(|(kind, team)| who.may_see(*kind, team.as_deref()))
        {
            Ok(record)
        } else {
            Err(BlobError::NotFound)
        }
    }

    /// The bytes of a blob `who` may read.
    pub fn read(
        &self,
        who: &Principal,
        hash: &BlobHash,
    ) -> Result<(BlobRecord, Vec<u8>), BlobError> {
        let record = self.readable(who, hash)?;
        let bytes = read_file(&self.layout.blob_path(hash))?;
        Ok((record, bytes))
    }

    /// The document items referencing a blob that `who` may see: (document,
    /// item id). For the audit log of photo reads.
    pub fn visible_references(
        &self,
        who: &Principal,
        hash: &BlobHash,
    ) -> Result<Vec<(DocId, String)>, BlobError> {
        Ok(self
            .db
            .referencing_items(hash)?
            .into_iter()
            .filter(|(_, kind, team, _)| who.may_see(*kind, team.as_deref()))
            .map(|(doc, _, _, item)| (doc, item))
            .collect())
    }

    /// A JPEG thumbnail (longest side at most `thumb_px`) of a blob `who`
    /// may read, generated on first request and cached on disk.
    pub fn thumbnail(&self, who: &Principal, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let record = self.readable(who, hash)?;
        let px = self.config.thumb_px;
        let cached = self.layout.thumb_path(hash, px);
        match std::fs::read(&cached) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let kind = ImageType::from_mime(&record.mime).ok_or(BlobError::NotFound)?;
        let original = read_file(&self.layout.blob_path(hash))?;
        let jpeg = thumb::make_thumbnail(kind, &original, px)?;
        match files::write_atomic(&cached, &jpeg) {
            Ok(()) => {}
            // The cache is only a cache: on a full disk the thumbnail is
            // served without it (reads go on; docs/operations.md "Disk full").
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                tracing::warn!("thumbnail not cached: the disk is full");
            }
            Err(e) => return Err(e.into()),
        }
        Ok(jpeg)
    }

    /// The row of a blob, without a permission check (CLI, tests).
    pub fn record(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, BlobError> {
        Ok(self.db.get(hash)?)
    }

    /// Every recorded blob (CLI, tests).
    pub fn records(&self) -> Result<Vec<BlobRecord>, BlobError> {
        Ok(self.db.all()?)
    }

    /// How many document items reference a blob.
    pub fn reference_count(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        Ok(self.db.reference_count(hash)?)
    }

    /// Deletes at once (no grace period) each of `hashes` that nothing
    /// references any more — file, cached thumbnails and row; used after an
    /// erasure removed the items that referenced them. Returns how many were
    /// deleted.
    pub fn remove_unreferenced(&self, hashes: &[BlobHash]) -> Result<usize, BlobError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Garbage collection at time `now_ms` (injectable for tests):
    /// 1. blobs with no reference, uploaded and (if they lost their last
    ///    reference) orphaned at least `gc_grace_secs` ago: file, cached
    ///    thumbnails and row are deleted;
    /// 2. blob files without a row (a crash between rename and insert, or
    ///    left over by a restore) last modified before the same cutoff;
    /// 3. temp files older than an hour (abandoned by a crash);
    /// 4. cached thumbnails whose blob is gone.
    pub fn collect_garbage(&self, now_ms: i64) -> Result<GcReport, BlobError> {
        let grace_ms =
            i64::try_from(self.config.gc_grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(grace_ms);
        let cutoff_time = UNIX_EPOCH + Duration::from_millis(u64::try_from(cutoff).unwrap_or(0));
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = GcReport::default();

        let results = self.db.collect_garbage(cutoff, |hash| {
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
}

fn read_file(path: &Path) -> Result<Vec<u8>, BlobError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!("a recorded blob has no file");
            Err(BlobError::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<Result<Vec<u8>, &'static str>>,
    ) -> impl Stream<Item = Result<Vec<u8>, &'static str>> + Unpin {
        futures_util::stream::iter(parts)
    }

    #[actix_rt::test]
    async fn body_reader_hashes_what_it_reads() {
        let (bytes, hash) = read_body(chunks(vec![Ok(b"ab".to_vec()), Ok(b"c".to_vec())]), 3)
            .await
            .expect("fits");
        assert_eq!(bytes, b"abc");
        assert_eq!(hash, BlobHash::of(b"abc"));
    }

    #[actix_rt::test]
    async fn body_reader_stops_at_the_first_byte_over_the_limit() {
        let err = read_body(
            chunks(vec![
                Ok(b"ab".to_vec()),
                Ok(b"cd".to_vec()),
                Err("never read"),
            ]),
            3,
        )
        .await
        .expect_err("too large");
        assert!(matches!(err, BlobError::TooLarge { max: 3 }));
    }

    #[actix_rt::test]
    async fn body_reader_reports_a_cut_connection_as_incomplete() {
        let err = read_body(
            chunks(vec![Ok(b"ab".to_vec()), Err("connection reset")]),
            100,
        )
        .await
        .expect_err("cut");
        assert!(matches!(err, BlobError::Incomplete));
    }
}
