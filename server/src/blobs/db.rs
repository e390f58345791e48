//! The blob tables (`blobs`, `blob_refs`, migration 0003), through one
//! connection of the blob layer's own to the server's database file.
//! Queries are small; callers run them on the blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::BlobHash;
use super::sniff::ImageInfo;
use crate::domain::{DocId, DocKind, UserId};

use super::backend::ItemRef;

/// One row of `blobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobRecord {
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub mime: String,
    /// User id of the first uploader.
    pub uploaded_by: String,
    /// First upload (ms since the Unix epoch).
    pub uploaded_at: i64,
    /// Width (pixels).
    pub width: u32,
    /// Height (pixels).
    pub height: u32,
    /// When the last reference disappeared (ms), if it did.
    pub orphaned_at: Option<i64>,
}

/// Lazily opened connection to the database file.
pub(crate) struct BlobDb {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for BlobDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const COLS: &str = "sha256, size, mime, uploaded_by, uploaded_at, width, height, orphaned_at";

fn read_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<BlobRecord> {
    Ok(BlobRecord {
        sha256: r.get(0)?,
        size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        mime: r.get(2)?,
        uploaded_by: r.get(3)?,
        uploaded_at: r.get(4)?,
        width: r.get(5)?,
        height: r.get(6)?,
        orphaned_at: r.get(7)?,
    })
}

impl BlobDb {
    /// A handle on the database at `path` (opened at first use; the schema
    /// must already be migrated, which opening the main store does).
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            conn: Mutex::new(None),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut guard: MutexGuard<'_, Option<Connection>> =
            self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(crate::storage::open_connection(&self.path)?);
        }
        match guard.as_mut() {
            Some(conn) => f(conn),
            None => Err(rusqlite::Error::InvalidQuery),
        }
    }

    /// The settings of the photo table's connection, as SQLite reports them.
    #[cfg(test)]
    pub(crate) fn connection_settings(&self) -> Vec<(&'static str, String)> {
        self.with(|c| Ok(crate::storage::connection_settings(c)))
            .expect("connection")
    }

    /// Records an upload. `true` if the row is new, `false` if the blob was
    /// already known (the first uploader and time are kept).
    pub(crate) fn record(
        &self,
        hash: &BlobHash,
        size: u64,
        info: &ImageInfo,
        by: &UserId,
        now: i64,
    ) -> rusqlite::Result<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let hex = hash.to_string();
            let n = tx.execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, mime, uploaded_by, uploaded_at, width, height, orphaned_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)",
                params![hex, i64::try_from(size).unwrap_or(i64::MAX), info.kind.mime(), by.as_str(), now, info.width, info.height],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// The row of a blob.
    pub(crate) fn get(&self, hash: &BlobHash) -> rusqlite::Result<Option<BlobRecord>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLS} FROM blobs WHERE sha256 = ?1"),
                [hash.to_string()],
                read_record,
            )
            .optional()
        })
    }

    /// (kind, team) of every document that references the blob.
    pub(crate) fn referencing_docs(
        &self,
        hash: &BlobHash,
    ) -> rusqlite::Result<Vec<(DocKind, Option<String>)>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT d.kind, d.team FROM blob_refs r JOIN documents d ON d.id = r.doc_id \
                 WHERE r.blob = ?1",
            )?;
            let rows = stmt.query_map([hash.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (kind, team) = row?;
                // A kind this binary does not know grants nothing.
                if let Ok(kind) = DocKind::parse(&kind) {
                    out.push((kind, team));
                }
            }
            Ok(out)
        })
    }

    /// Every (document id, kind, team, item id) that references the blob.
    pub(crate) fn referencing_items(&self, hash: &BlobHash) -> rusqlite::Result<Vec<ItemRef>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT r.doc_id, d.kind, d.team, r.item_id FROM blob_refs r \
                 JOIN documents d ON d.id = r.doc_id WHERE r.blob = ?1 ORDER BY r.doc_id, r.item_id",
            )?;
            let rows = stmt.query_map([hash.to_string()], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, team, item) = row?;
                let (Ok(bytes), Ok(kind)) = (<[u8; 16]>::try_from(id.as_slice()), DocKind::parse(&kind))
                else {
                    continue;
                };
                out.push((DocId::from_bytes(bytes), kind, team, item));
            }
            Ok(out)
        })
    }

    /// Number of references (document items) to a blob.
    pub(crate) fn reference_count(&self, hash: &BlobHash) -> rusqlite::Result<u64> {
        self.with(|c| {
            c.query_row(
                "SELECT count(*) FROM blob_refs WHERE blob = ?1",
                [hash.to_string()],
                |r| r.get::<_, i64>(0).map(|n| u64::try_from(n).unwrap_or(0)),
            )
        })
    }

    /// Every recorded blob.
    pub(crate) fn all(&self) -> rusqlite::Result<Vec<BlobRecord>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {COLS} FROM blobs ORDER BY sha256"))?;
            let rows = stmt.query_map([], read_record)?;
            rows.collect()
        })
    }

    /// Deletes one blob now if nothing references it (an erasure removed
    /// the last item that did): `delete_file` runs inside the transaction,
    /// the row is deleted when the file is gone. `Ok(false)` when it is
    /// still referenced or not recorded.
    pub(crate) fn delete_unreferenced(
        &self,
        hash: &BlobHash,
        delete_file: impl FnOnce(&BlobHash) -> std::io::Result<()>,
    ) -> rusqlite::Result<std::io::Result<bool>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let hex = hash.to_string();
            let unreferenced: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM blobs b WHERE sha256 = ?1 \
                     AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob = b.sha256)",
                    [&hex],
                    |r| r.get(0),
                )
                .optional()?;
            if unreferenced.is_none() {
                return Ok(Ok(false));
            }
            if let Err(e) = delete_file(hash) {
                return Ok(Err(e));
            }
            tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [&hex])?;
            tx.commit()?;
            // No copy of the deleted row stays in the WAL.
            if let Err(e) = crate::storage::checkpoint_truncate(c) {
                tracing::warn!(error = %e, "WAL checkpoint after a photo erasure did not finish");
            }
            Ok(Ok(true))
        })
    }

    /// Garbage collection, in one IMMEDIATE transaction: selects blobs that
    /// have no reference, were uploaded at or before `cutoff` and (if they
    /// lost their last reference) were orphaned at or before `cutoff`; calls
    /// `delete_file` for each (while the write lock is held, so no upload
    /// can record the same blob in between) and deletes the rows of those
    /// whose file is gone. Returns the deleted hashes.
    pub(crate) fn collect_garbage(
        &self,
        cutoff: i64,
        mut delete_file: impl FnMut(&BlobHash) -> std::io::Result<()>,
    ) -> rusqlite::Result<Vec<(BlobHash, std::io::Result<()>)>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let candidates: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT sha256 FROM blobs b \
                     WHERE uploaded_at <= ?1 AND (orphaned_at IS NULL OR orphaned_at <= ?1) \
                       AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob = b.sha256) \
                     ORDER BY sha256",
                )?;
                stmt.query_map([cutoff], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            let mut out = Vec::new();
            for hex in candidates {
                let Ok(hash) = BlobHash::parse(&hex) else {
                    continue;
                };
                let result = delete_file(&hash);
                if result.is_ok() {
                    tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [&hex])?;
                }
                out.push((hash, result));
            }
            tx.commit()?;
            Ok(out)
        })
    }
}

/// Every blob hash recorded in a database file (e.g. a backup copy).
pub(crate) fn hashes_in(db: &Path) -> rusqlite::Result<Vec<(BlobHash, u64)>> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'blobs'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT sha256, size FROM blobs ORDER BY sha256")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (hex, size) = row?;
        if let Ok(h) = BlobHash::parse(&hex) {
            out.push((h, size));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(n: u8) -> String {
        BlobHash::of(&[n]).to_string()
    }

    fn refs(c: &Connection) -> Vec<(String, String)> {
        let mut stmt = c
            .prepare("SELECT blob, item_id FROM blob_refs ORDER BY blob, item_id")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    }

    fn orphaned_at(c: &Connection, h: &str) -> Option<i64> {
        c.query_row(
            "SELECT orphaned_at FROM blobs WHERE sha256 = ?1",
            [h],
            |r| r.get(0),
        )
        .expect("row")
    }

    fn row_json(photos: serde_json::Value) -> String {
        serde_json::json!({"doc_kind": "spreekuur", "photos": photos}).to_string()
    }

    #[test]
    fn projection_triggers_keep_references_and_orphan_times() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::storage::SqliteStore::open_in_dir(dir.path()).expect("migrated database");
        let c = Connection::open(crate::storage::database_path(dir.path())).expect("open");
        let doc = [3u8; 16];
        c.execute("INSERT INTO documents (id, kind, owner, team, created_at) VALUES (?1, 'spreekuur', 'u', 'noord', 1)", [&doc[..]])
            .expect("doc");
        let (a, b) = (hex(1), hex(2));
        c.execute(
            "INSERT INTO blobs (sha256, size, mime, uploaded_by, uploaded_at, width, height) VALUES (?1, 1, 'image/png', 'u', 1, 1, 1)",
            [&a],
        )
        .expect("blob");

        // Only well-formed references count; a duplicate within one item counts once.
        let photos = serde_json::json!([
            format!("sha256:{a}"),
            format!("sha256:{a}"),
            format!("sha256:{}", b.to_uppercase()),
            format!("md5:{b}"),
            b.clone(),
            42,
            null
        ]);
        c.execute(
            "INSERT INTO notes (doc_id, item_id, row_json) VALUES (?1, 'n1', ?2)",
            params![&doc[..], row_json(photos)],
        )
        .expect("note");
        c.execute(
            "INSERT INTO notes (doc_id, item_id, row_json) VALUES (?1, 'n2', 'not json')",
            [&doc[..]],
        )
        .expect("a malformed row does not break the insert");
        assert_eq!(refs(&c), vec![(a.clone(), "n1".to_owned())]);
        assert_eq!(orphaned_at(&c, &a), None);

        // Editing the row moves the reference from a to b: a becomes an orphan.
        c.execute(
            "UPDATE notes SET row_json = ?2 WHERE doc_id = ?1 AND item_id = 'n1'",
            params![
                &doc[..],
                row_json(serde_json::json!([format!("sha256:{b}")]))
            ],
        )
        .expect("update");
        assert_eq!(refs(&c), vec![(b.clone(), "n1".to_owned())]);
        let orphaned = orphaned_at(&c, &a).expect("orphaned when the last reference went");
        assert!((orphaned - crate::domain::now_ms()).abs() < 60_000);

        // Referenced again by another item: no longer an orphan.
        c.execute(
            "INSERT INTO notes (doc_id, item_id, row_json) VALUES (?1, 'n3', ?2)",
            params![
                &doc[..],
                row_json(serde_json::json!([format!("sha256:{a}")]))
            ],
        )
        .expect("note 3");
        assert_eq!(orphaned_at(&c, &a), None);

        // Deleting the rows (as a re-projection does) drops the references.
        c.execute("DELETE FROM notes WHERE doc_id = ?1", [&doc[..]])
            .expect("delete");
        assert!(refs(&c).is_empty());
        assert!(orphaned_at(&c, &a).is_some());
    }
}
