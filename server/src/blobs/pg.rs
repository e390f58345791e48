//! [`PgBlobs`]: the photo backend of a PostgreSQL installation. Rows, bytes
//! (`bytea`) and cached thumbnails are in the shared database (migration
//! `postgres/0006_blobs.sql`, ADR 0022), so every node reads what any node
//! stored, and `pg_dump` backs photos up with everything else.
//!
//! - An upload is one `INSERT ... ON CONFLICT DO NOTHING` of row and bytes
//!   together: committed (with `synchronous_commit = on`, flushed) before
//!   the caller answers `201`; two nodes storing the same photo at once
//!   store it once.
//! - References are kept by triggers on the projection tables, in the
//!   commit's transaction, as on SQLite.
//! - Garbage collection runs on one node at a time: its transaction takes
//!   the advisory lock of [`Singleton::BlobGc`] (the lock `Store::try_lead`
//!   takes for a session; here for the transaction, so it is free again the
//!   moment it commits) or, when another node holds it, does nothing. It
//!   then locks `blob_refs` in `SHARE` mode, so no commit can add a
//!   reference between the check "unreferenced" and the delete.

use std::sync::Arc;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::backend::{BlobBackend, ItemRef};
use super::gc::GcReport;
use super::sniff::ImageInfo;
use super::{BlobError, BlobHash, BlobRecord};
use crate::domain::{DocId, DocKind, UserId};
use crate::storage::{PgStore, Singleton, Store, StoreError};

/// Photos in the PostgreSQL database of the store.
#[derive(Debug)]
pub(crate) struct PgBlobs {
    store: Arc<dyn Store>,
}

const COLS: &str = "sha256, size, mime, uploaded_by, uploaded_at, width, height, orphaned_at";

/// Deletes the rows (and with them bytes and thumbnails) of unreferenced
/// blobs matching `filter` (with `$1`), after locking `blob_refs` against
/// new references; returns their hashes.
const DELETE_UNREFERENCED: &str = "DELETE FROM blobs b \
     WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob = b.sha256) AND ";

fn read_record(r: &Row) -> BlobRecord {
    BlobRecord {
        sha256: r.get(0),
        size: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
        mime: r.get(2),
        uploaded_by: r.get(3),
        uploaded_at: r.get(4),
        width: u32::try_from(r.get::<_, i32>(5)).unwrap_or(0),
        height: u32::try_from(r.get::<_, i32>(6)).unwrap_or(0),
        orphaned_at: r.get(7),
    }
}

fn hashes(rows: &[Row]) -> Vec<BlobHash> {
    rows.iter()
        .filter_map(|r| BlobHash::parse(r.get::<_, &str>(0)).ok())
        .collect()
}

impl PgBlobs {
    /// The photos of `store`, which must be a PostgreSQL store.
    pub(crate) fn new(store: Arc<dyn Store>) -> Option<Self> {
        store.postgres()?;
        Some(Self { store })
    }

    fn pg(&self) -> &PgStore {
        self.store
            .postgres()
            .expect("checked to be PostgreSQL when made")
    }

    fn with<T>(
        &self,
        f: impl for<'c> AsyncFnOnce(&'c mut tokio_postgres::Client) -> Result<T, StoreError>,
    ) -> Result<T, BlobError> {
        self.pg()
            .with_client(f)
            .map_err(|e| BlobError::Store(Box::new(e)))
    }

    /// Deletes, in one transaction holding `blob_refs` in `SHARE` mode,
    /// the unreferenced blobs `filter` (SQL over `b`, with `$1`) selects.
    /// With `lead`, only if this transaction gets the task's advisory lock
    /// (`None` when another node holds it).
    fn delete_unreferenced<P>(
        &self,
        filter: &str,
        arg: P,
        lead: Option<Singleton>,
    ) -> Result<Option<Vec<BlobHash>>, BlobError>
    where
        P: tokio_postgres::types::ToSql + Sync,
    {
        let sql = format!("{DELETE_UNREFERENCED}{filter} RETURNING sha256");
        self.with(async |c| {
            let tx = c.transaction().await?;
            if let Some(task) = lead {
                let (class, key) = PgStore::lead_lock_keys(task);
                let got: bool = tx
                    .query_one("SELECT pg_try_advisory_xact_lock($1, $2)", &[&class, &key])
                    .await?
                    .get(0);
                if !got {
                    return Ok(None);
                }
            }
            tx.batch_execute("LOCK TABLE blob_refs IN SHARE MODE")
                .await?;
            let rows = tx.query(&sql, &[&arg]).await?;
            tx.commit().await?;
            Ok(Some(hashes(&rows)))
        })
    }
}

impl BlobBackend for PgBlobs {
    fn get(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, BlobError> {
        let hex = hash.to_string();
        self.with(async |c| {
            Ok(c.query_opt(
                &format!("SELECT {COLS} FROM blobs WHERE sha256 = $1"),
                &[&hex],
            )
            .await?
            .as_ref()
            .map(read_record))
        })
    }

    fn all(&self) -> Result<Vec<BlobRecord>, BlobError> {
        self.with(async |c| {
            Ok(
                c.query(&format!("SELECT {COLS} FROM blobs ORDER BY sha256"), &[])
                    .await?
                    .iter()
                    .map(read_record)
                    .collect(),
            )
        })
    }

    fn is_stored(&self, hash: &BlobHash, len: usize) -> Result<bool, BlobError> {
        let hex = hash.to_string();
        let size: Option<i64> = self.with(async |c| {
            Ok(
                c.query_opt("SELECT size FROM blobs WHERE sha256 = $1", &[&hex])
                    .await?
                    .map(|r| r.get(0)),
            )
        })?;
        Ok(size.is_some_and(|s| u64::try_from(s).ok() == Some(len as u64)))
    }

    fn put(
        &self,
        hash: &BlobHash,
        bytes: &[u8],
        info: &ImageInfo,
        by: &UserId,
        now_ms: i64,
    ) -> Result<bool, BlobError> {
        let hex = hash.to_string();
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let width = i32::try_from(info.width).unwrap_or(i32::MAX);
        let height = i32::try_from(info.height).unwrap_or(i32::MAX);
        let mime = info.kind.mime();
        let n = self.with(async |c| {
            Ok(c.execute(
                "INSERT INTO blobs (sha256, size, mime, uploaded_by, uploaded_at, width, height, bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING",
                &[&hex, &size, &mime, &by.as_str(), &now_ms, &width, &height, &bytes],
            )
            .await?)
        })?;
        Ok(n == 1)
    }

    fn bytes(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let hex = hash.to_string();
        self.with(async |c| {
            Ok(
                c.query_opt("SELECT bytes FROM blobs WHERE sha256 = $1", &[&hex])
                    .await?
                    .map(|r| r.get(0)),
            )
        })
    }

    fn referencing_docs(
        &self,
        hash: &BlobHash,
    ) -> Result<Vec<(DocKind, Option<String>)>, BlobError> {
        let hex = hash.to_string();
        let rows: Vec<(String, Option<String>)> = self.with(async |c| {
            Ok(c.query(
                "SELECT DISTINCT d.kind, d.team FROM blob_refs r JOIN documents d ON d.id = r.doc_id \
                 WHERE r.blob = $1",
                &[&hex],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })?;
        // A kind this binary does not know grants nothing.
        Ok(rows
            .into_iter()
            .filter_map(|(kind, team)| DocKind::parse(&kind).ok().map(|k| (k, team)))
            .collect())
    }

    fn referencing_items(&self, hash: &BlobHash) -> Result<Vec<ItemRef>, BlobError> {
        let hex = hash.to_string();
        let rows: Vec<(Vec<u8>, String, Option<String>, String)> = self.with(async |c| {
            Ok(c.query(
                "SELECT r.doc_id, d.kind, d.team, r.item_id FROM blob_refs r \
                 JOIN documents d ON d.id = r.doc_id WHERE r.blob = $1 ORDER BY r.doc_id, r.item_id",
                &[&hex],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, kind, team, item)| {
                let bytes = <[u8; 16]>::try_from(id.as_slice()).ok()?;
                let kind = DocKind::parse(&kind).ok()?;
                Some((DocId::from_bytes(bytes), kind, team, item))
            })
            .collect())
    }

    fn reference_count(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let hex = hash.to_string();
        let n: i64 = self.with(async |c| {
            Ok(
                c.query_one("SELECT count(*) FROM blob_refs WHERE blob = $1", &[&hex])
                    .await?
                    .get(0),
            )
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn cached_thumbnail(&self, hash: &BlobHash, px: u32) -> Result<Option<Vec<u8>>, BlobError> {
        let hex = hash.to_string();
        let px = i32::try_from(px).unwrap_or(i32::MAX);
        self.with(async |c| {
            Ok(c.query_opt(
                "SELECT bytes FROM blob_thumbs WHERE sha256 = $1 AND px = $2",
                &[&hex, &px],
            )
            .await?
            .map(|r| r.get(0)))
        })
    }

    fn cache_thumbnail(&self, hash: &BlobHash, px: u32, jpeg: &[u8]) -> Result<(), BlobError> {
        let hex = hash.to_string();
        let px = i32::try_from(px).unwrap_or(i32::MAX);
        let stored = self.with(async |c| {
            c.execute(
                "INSERT INTO blob_thumbs (sha256, px, bytes) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&hex, &px, &jpeg],
            )
            .await?;
            Ok(())
        });
        match stored {
            Ok(()) => Ok(()),
            // The cache is only a cache: the thumbnail is served uncached.
            Err(e) if e.is_storage_full() => {
                tracing::warn!("thumbnail not cached: the database's disk is full");
                Ok(())
            }
            // The photo was collected meanwhile; nothing to cache for.
            Err(BlobError::Store(e)) if matches!(&*e, StoreError::Postgres(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn remove_unreferenced(&self, hashes: &[BlobHash]) -> Result<usize, BlobError> {
        if hashes.is_empty() {
            return Ok(0);
        }
        let hex: Vec<String> = hashes.iter().map(ToString::to_string).collect();
        let deleted = self.delete_unreferenced("b.sha256 = ANY($1)", hex, None)?;
        Ok(deleted.map_or(0, |d| d.len()))
    }

    fn collect_garbage(&self, cutoff_ms: i64) -> Result<GcReport, BlobError> {
        match self.delete_unreferenced(
            "b.uploaded_at <= $1 AND (b.orphaned_at IS NULL OR b.orphaned_at <= $1)",
            cutoff_ms,
            Some(Singleton::BlobGc),
        )? {
            Some(deleted) => Ok(GcReport {
                deleted,
                ..GcReport::default()
            }),
            None => {
                tracing::debug!("photo garbage collection runs on another node now");
                Ok(GcReport {
                    skipped: true,
                    ..GcReport::default()
                })
            }
        }
    }
}
