//! Photos ("blobs"): content-addressed by SHA-256, outside the CRDT, with a
//! table recording who uploaded what and when.
//!
//! - [`BlobHash`]: a SHA-256, parsed once from 64 lowercase hex digits.
//! - [`sniff`]: JPEG / PNG / WebP recognised by their magic bytes, then
//!   decoded for real (with size limits) so that a text file named `.jpg`,
//!   a truncated image or a decompression bomb is refused.
//! - [`BlobStore`]: upload, read, thumbnails, read permission (a blob is
//!   readable by whoever may see a document that references it:
//!   `blob_refs` + [`crate::domain::Principal::may_see`]), over a backend:
//!   - `local` (SQLite installations): files under `<data>/blobs/`
//!     ([`files`]: the layout and the atomic write) and rows in
//!     `wijklog.db`;
//!   - `pg` (PostgreSQL installations, several nodes): rows, bytes and
//!     thumbnails in the shared database (ADR 0022).
//!
//!   `conformance` (tests only) is the one suite both backends pass.
//! - [`gc`]: deletes blobs unreferenced for longer than the grace period,
//!   periodically in the server and via `wijklog blobs gc`.
//! - [`backup`]: `wijklog backup --to FILE` copies the blobs into the
//!   directory `FILE.blobs/`; `wijklog restore` puts them back (SQLite;
//!   on PostgreSQL `pg_dump` holds them).
//!
//! References are maintained by database triggers on the projection tables
//! (SQLite migration `0003_blobs.sql`, PostgreSQL `0006_blobs.sql`), so the
//! document commit path needs no knowledge of blobs. See docs/blobs.md.
//!
//! ```
//! use wijklog_server::blobs::BlobHash;
//! let h = BlobHash::of(b"hello");
//! assert_eq!(BlobHash::parse(&h.to_string()).ok(), Some(h));
//! assert!(BlobHash::parse("ABC").is_err());
//! ```

mod backend;
pub mod backup;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
mod db;
pub mod files;
pub mod gc;
mod local;
mod pg;
pub mod sniff;
mod store;
pub mod thumb;

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use db::BlobRecord;
pub use store::{BlobStore, Uploaded, read_body};

/// A blob's identity: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash([u8; 32]);

/// A string is not 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a blob id must be 64 lowercase hex digits (a SHA-256)")]
pub struct InvalidBlobHash;

impl BlobHash {
    /// Parses 64 lowercase hex digits (uppercase is refused: one spelling per blob).
    pub fn parse(s: &str) -> Result<Self, InvalidBlobHash> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(InvalidBlobHash);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| InvalidBlobHash)?;
        Ok(Self(out))
    }

    /// Parses a document's photo reference, `sha256:<64 lowercase hex>`.
    pub fn parse_reference(s: &str) -> Result<Self, InvalidBlobHash> {
        s.strip_prefix("sha256:")
            .ok_or(InvalidBlobHash)
            .and_then(Self::parse)
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// From a finished hasher.
    pub fn from_digest(hasher: Sha256) -> Self {
        Self(hasher.finalize().into())
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The reference form used in documents: `sha256:<hex>`.
    pub fn reference(&self) -> String {
        format!("sha256:{self}")
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({self})")
    }
}

impl Serialize for BlobHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Errors of the blob layer. Each has a stable client code; details of
/// internal failures go to the log only.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The path's hash is not 64 lowercase hex digits.
    #[error(transparent)]
    InvalidHash(#[from] InvalidBlobHash),
    /// The body's SHA-256 differs from the path.
    #[error("the body's SHA-256 does not match the path")]
    HashMismatch,
    /// Not a JPEG, PNG or WebP that decodes.
    #[error("not a supported image: {0}")]
    UnsupportedType(#[from] sniff::SniffError),
    /// Larger than `blobs.max_bytes`.
    #[error("the body is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The body ended early or the connection failed while reading it.
    #[error("the body was not received completely")]
    Incomplete,
    /// Unknown blob, or one the caller may not read (never told apart).
    #[error("blob not found")]
    NotFound,
    /// The caller's roles do not allow uploading.
    #[error("not allowed to upload")]
    Forbidden,
    /// Database failure (SQLite).
    #[error("blob database error")]
    Db(#[from] rusqlite::Error),
    /// Database failure (PostgreSQL, through the store's pool).
    #[error("blob database error")]
    Store(#[source] Box<crate::storage::StoreError>),
    /// File system failure.
    #[error("blob file error")]
    Io(#[from] std::io::Error),
    /// Encoding a thumbnail failed.
    #[error("thumbnail encoding failed")]
    Thumbnail(#[source] image::ImageError),
    /// A blocking task panicked or was cancelled.
    #[error("blocking task failed")]
    Join(#[from] tokio::task::JoinError),
    /// Writing the audit entry of a read failed (the photo is not served).
    #[error("audit log error")]
    Audit(#[from] crate::storage::StoreError),
    /// Every image decoding slot is taken and the queue is full.
    #[error("image decoding is busy")]
    Busy,
}

impl BlobError {
    /// Whether the photo could not be written because the disk is full
    /// (`ENOSPC` on the file, `SQLITE_FULL` on its row): nothing of it was
    /// kept, and the same upload may succeed once space returns.
    pub fn is_storage_full(&self) -> bool {
        match self {
            BlobError::Io(e) => e.kind() == std::io::ErrorKind::StorageFull,
            BlobError::Db(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            BlobError::Audit(e) => e.is_storage_full(),
            BlobError::Store(e) => e.is_storage_full(),
            _ => false,
        }
    }

    /// The stable code sent to clients.
    pub fn code(&self) -> &'static str {
        if self.is_storage_full() {
            return "storage_full";
        }
        match self {
            BlobError::InvalidHash(_) => "invalid_hash",
            BlobError::HashMismatch => "hash_mismatch",
            BlobError::UnsupportedType(sniff::SniffError::TooManyPixels { .. }) => {
                "image_too_large"
            }
            BlobError::Busy => "busy",
            BlobError::UnsupportedType(_) => "unsupported_type",
            BlobError::TooLarge { .. } => "too_large",
            BlobError::Incomplete => "incomplete_body",
            BlobError::NotFound => "not_found",
            BlobError::Forbidden => "forbidden",
            BlobError::Db(_)
            | BlobError::Store(_)
            | BlobError::Io(_)
            | BlobError::Thumbnail(_)
            | BlobError::Join(_)
            | BlobError::Audit(_) => "internal",
        }
    }

    /// The sentence sent to clients (never internal details).
    pub fn message(&self) -> &'static str {
        if self.is_storage_full() {
            return "The server's disk is full: the photo was not saved. Try again later.";
        }
        match self {
            BlobError::InvalidHash(_) => {
                "The blob id must be the SHA-256 of the bytes as 64 lowercase hex digits."
            }
            BlobError::HashMismatch => {
                "The SHA-256 of the uploaded bytes does not match the blob id in the path."
            }
            BlobError::UnsupportedType(sniff::SniffError::TooManyPixels { .. }) => {
                "The image has more pixels than the server accepts (at most 4096 x 4096)."
            }
            BlobError::UnsupportedType(_) => "Only JPEG, PNG and WebP images are accepted.",
            BlobError::Busy => "The server is busy with other photos; try again in a moment.",
            BlobError::TooLarge { .. } => "The photo is larger than the server accepts.",
            BlobError::Incomplete => "The upload was not received completely; send it again.",
            BlobError::NotFound => "No such photo, or you may not see it.",
            BlobError::Forbidden => "Your role may not upload photos.",
            BlobError::Db(_)
            | BlobError::Store(_)
            | BlobError::Io(_)
            | BlobError::Thumbnail(_)
            | BlobError::Join(_)
            | BlobError::Audit(_) => "Something went wrong on the server.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_parsing_accepts_only_lowercase_hex_of_the_right_length() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let h = BlobHash::parse(hex).expect("valid");
        assert_eq!(h.to_string(), hex);
        assert_eq!(h, BlobHash::of(b"test"));
        assert_eq!(
            BlobHash::parse_reference(&format!("sha256:{hex}")).ok(),
            Some(h)
        );
        assert!(BlobHash::parse(&hex.to_uppercase()).is_err());
        assert!(BlobHash::parse(&hex[1..]).is_err());
        assert!(BlobHash::parse(&format!("{hex}0")).is_err());
        assert!(BlobHash::parse(&hex.replace('9', "g")).is_err());
        assert!(BlobHash::parse_reference(hex).is_err());
        assert!(BlobHash::parse("../../etc/passwd").is_err());
    }
}
