//! [`BlobBackend`]: where a photo's bytes and its rows live. Two
//! implementations, one behaviour (the conformance suite in
//! [`super::conformance`] runs on both):
//!
//! - [`super::local::LocalBlobs`] (SQLite installations): the bytes as
//!   content-addressed files under `<data>/blobs/`, the rows in
//!   `wijklog.db`, cached thumbnails under `<data>/thumbs/`;
//! - [`super::pg::PgBlobs`] (PostgreSQL installations, several nodes): bytes,
//!   rows and cached thumbnails in the shared database (ADR 0022).
//!
//! The rules that do not depend on where things are kept (size, hash and
//! content checks, who may read, making thumbnails) are in
//! [`super::BlobStore`], above the backend. Every method blocks.

use super::gc::GcReport;
use super::sniff::ImageInfo;
use super::{BlobError, BlobHash, BlobRecord};
use crate::domain::{DocId, DocKind, UserId};

/// A reference to a blob: (document, its kind, its team, the item id).
pub(crate) type ItemRef = (DocId, DocKind, Option<String>, String);

/// The storage of photos: bytes, rows, references (kept by the database
/// from the projection tables), cached thumbnails and garbage collection.
pub(crate) trait BlobBackend: Send + Sync + std::fmt::Debug {
    /// The row of a blob.
    fn get(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, BlobError>;

    /// Every recorded blob, by hash.
    fn all(&self) -> Result<Vec<BlobRecord>, BlobError>;

    /// Whether the blob is stored completely: its row, and its `len` bytes.
    fn is_stored(&self, hash: &BlobHash, len: usize) -> Result<bool, BlobError>;

    /// Stores `bytes` (already checked: size, hash, content) durably and
    /// records the upload; returns only once both are on disk. `true` if
    /// the row is new, `false` if the blob was already recorded (the first
    /// uploader and time are kept; missing bytes are restored).
    fn put(
        &self,
        hash: &BlobHash,
        bytes: &[u8],
        info: &ImageInfo,
        by: &UserId,
        now_ms: i64,
    ) -> Result<bool, BlobError>;

    /// The bytes of a recorded blob; `None` when there are none.
    fn bytes(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError>;

    /// (kind, team) of every document that references the blob.
    fn referencing_docs(
        &self,
        hash: &BlobHash,
    ) -> Result<Vec<(DocKind, Option<String>)>, BlobError>;

    /// Every (document, kind, team, item) that references the blob.
    fn referencing_items(&self, hash: &BlobHash) -> Result<Vec<ItemRef>, BlobError>;

    /// Number of document items referencing the blob.
    fn reference_count(&self, hash: &BlobHash) -> Result<u64, BlobError>;

    /// The cached thumbnail of `px`, if one is cached.
    fn cached_thumbnail(&self, hash: &BlobHash, px: u32) -> Result<Option<Vec<u8>>, BlobError>;

    /// Caches a thumbnail. A cache that cannot be written for want of
    /// space is no error (the thumbnail is served uncached).
    fn cache_thumbnail(&self, hash: &BlobHash, px: u32, jpeg: &[u8]) -> Result<(), BlobError>;

    /// Deletes at once each of `hashes` that nothing references (bytes,
    /// thumbnails, row); returns how many.
    fn remove_unreferenced(&self, hashes: &[BlobHash]) -> Result<usize, BlobError>;

    /// Garbage collection: blobs without a reference uploaded and (if they
    /// lost their last reference) orphaned at or before `cutoff_ms`, plus
    /// whatever the backend leaves behind (stray and temp files). Runs on
    /// one node at a time; a node that does not hold the lead reports
    /// [`GcReport::skipped`].
    fn collect_garbage(&self, cutoff_ms: i64) -> Result<GcReport, BlobError>;

    /// The settings of the photo table's SQLite connection (tests).
    #[cfg(test)]
    fn connection_settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
