//! [`BlobStore`]: upload, permission-checked read, thumbnails and garbage
//! collection, over a [`BlobBackend`] (files and SQLite rows, or
//! PostgreSQL).
//!
//! All methods except [`read_body`] block (file system, database): call them
//! from `spawn_blocking` / `web::block`.

use std::path::Path;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::backend::BlobBackend;
use super::db::BlobRecord;
use super::gc::GcReport;
use super::local::LocalBlobs;
use super::pg::PgBlobs;
use super::sniff::{self, ImageType};
use super::{BlobError, BlobHash, thumb};
use crate::config::BlobsConfig;
use crate::domain::Principal;
use crate::domain::{DocId, UserId};
use crate::storage::Store;

/// The outcome of a successful upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
    /// The blob is new: stored and recorded (HTTP 201).
    Created,
    /// The blob was already stored; nothing was written twice (HTTP 200).
    AlreadyStored,
}

/// The blob layer of one installation. Share it behind an `Arc`.
#[derive(Debug)]
pub struct BlobStore {
    backend: Box<dyn BlobBackend>,
    config: BlobsConfig,
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
    /// The blob layer of a SQLite installation in `data_dir` (files under
    /// `data_dir/blobs`, rows in `data_dir/wijklog.db`, which must be
    /// migrated already). Opens nothing until first use.
    pub fn new(data_dir: &Path, config: BlobsConfig) -> Self {
        Self {
            backend: Box::new(LocalBlobs::new(data_dir)),
            config,
        }
    }

    /// The blob layer of the installation `store` belongs to: in its
    /// PostgreSQL database when it is one (every node shares the photos),
    /// else as [`BlobStore::new`] in `data_dir`.
    pub fn for_store(store: &Arc<dyn Store>, data_dir: &Path, config: BlobsConfig) -> Self {
        match PgBlobs::new(store.clone()) {
            Some(pg) => Self {
                backend: Box::new(pg),
                config,
            },
            None => Self::new(data_dir, config),
        }
    }

    /// The settings of the photo table's connection, as SQLite reports them.
    #[cfg(test)]
    pub(crate) fn connection_settings(&self) -> Vec<(&'static str, String)> {
        self.backend.connection_settings()
    }

    /// The configuration in effect.
    pub fn config(&self) -> &BlobsConfig {
        &self.config
    }

    /// Stores a received body as blob `expected`: checks the size, the hash
    /// and the content (JPEG/PNG/WebP that decodes), then stores it durably
    /// and records the upload. A blob already stored (row and bytes
    /// present) is answered after the hash check alone and not written
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
        // Same hash, same bytes: a stored blob passed the content check
        // already, so a duplicate is answered without decoding it again.
        if self.backend.is_stored(expected, bytes.len())? {
            return Ok(Uploaded::AlreadyStored);
        }
        let info = sniff::inspect(bytes)?;
        let created = self.backend.put(expected, bytes, &info, by, now_ms)?;
        Ok(if created {
            Uploaded::Created
        } else {
            Uploaded::AlreadyStored
        })
    }

    /// The row of a blob `who` may read: one that some document `who` may
    /// see references. Unknown and forbidden blobs are both `NotFound`.
    pub fn readable(&self, who: &Principal, hash: &BlobHash) -> Result<BlobRecord, BlobError> {
        let record = self.backend.get(hash)?.ok_or(BlobError::NotFound)?;
        let docs = self.backend.referencing_docs(hash)?;
        if docs
            .iter()
            .any(|(kind, team)| who.may_see(*kind, team.as_deref()))
        {
            Ok(record)
        } else {
            Err(BlobError::NotFound)
        }
    }

    fn bytes_of(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        self.backend.bytes(hash)?.ok_or_else(|| {
            tracing::warn!("a recorded blob has no bytes");
            BlobError::NotFound
        })
    }

    /// The bytes of a blob `who` may read.
    pub fn read(
        &self,
        who: &Principal,
        hash: &BlobHash,
    ) -> Result<(BlobRecord, Vec<u8>), BlobError> {
        let record = self.readable(who, hash)?;
        let bytes = self.bytes_of(hash)?;
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
            .backend
            .referencing_items(hash)?
            .into_iter()
            .filter(|(_, kind, team, _)| who.may_see(*kind, team.as_deref()))
            .map(|(doc, _, _, item)| (doc, item))
            .collect())
    }

    /// A JPEG thumbnail (longest side at most `thumb_px`) of a blob `who`
    /// may read, generated on first request and cached.
    pub fn thumbnail(&self, who: &Principal, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let record = self.readable(who, hash)?;
        let px = self.config.thumb_px;
        if let Some(cached) = self.backend.cached_thumbnail(hash, px)? {
            return Ok(cached);
        }
        let kind = ImageType::from_mime(&record.mime).ok_or(BlobError::NotFound)?;
        let original = self.bytes_of(hash)?;
        let jpeg = thumb::make_thumbnail(kind, &original, px)?;
        self.backend.cache_thumbnail(hash, px, &jpeg)?;
        Ok(jpeg)
    }

    /// The row of a blob, without a permission check (CLI, tests).
    pub fn record(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, BlobError> {
        self.backend.get(hash)
    }

    /// Every recorded blob (CLI, tests).
    pub fn records(&self) -> Result<Vec<BlobRecord>, BlobError> {
        self.backend.all()
    }

    /// How many document items reference a blob.
    pub fn reference_count(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        self.backend.reference_count(hash)
    }

    /// Deletes at once (no grace period) each of `hashes` that nothing
    /// references any more — bytes, cached thumbnails and row; used after an
    /// erasure removed the items that referenced them. Returns how many were
    /// deleted.
    pub fn remove_unreferenced(&self, hashes: &[BlobHash]) -> Result<usize, BlobError> {
        self.backend.remove_unreferenced(hashes)
    }

    /// Garbage collection at time `now_ms` (injectable for tests): blobs
    /// with no reference, uploaded and (if they lost their last reference)
    /// orphaned at least `gc_grace_secs` ago are deleted (bytes, cached
    /// thumbnails and row), and whatever the backend leaves behind (on
    /// SQLite: stray blob files older than the same cutoff, temp files older
    /// than an hour, thumbnails of vanished blobs). On PostgreSQL one node
    /// at a time collects; the others report [`GcReport::skipped`].
    pub fn collect_garbage(&self, now_ms: i64) -> Result<GcReport, BlobError> {
        let grace_ms =
            i64::try_from(self.config.gc_grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        self.backend
            .collect_garbage(now_ms.saturating_sub(grace_ms))
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
