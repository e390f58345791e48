//! Schema migrations and connection pragmas.
//!
//! Migrations are the `.sql` files in `server/migrations/`, compiled in with
//! `include_str!`. The schema version is `PRAGMA user_version`; migration `n`
//! (1-based) moves the database from version `n-1` to `n` inside one
//! `BEGIN IMMEDIATE` transaction. A database whose version is newer than
//! this binary knows is refused with a clear error (never downgraded).

use rusqlite::{Connection, TransactionBehavior};

/// The migrations, in order. Index `i` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_documents",
        include_str!("../../migrations/0001_documents.sql"),
    ),
    (
        "0002_accounts",
        include_str!("../../migrations/0002_accounts.sql"),
    ),
    (
        "0003_blobs",
        include_str!("../../migrations/0003_blobs.sql"),
    ),
    (
        "0004_review",
        include_str!("../../migrations/0004_review.sql"),
    ),
    (
        "0005_review_stats",
        include_str!("../../migrations/0005_review_stats.sql"),
    ),
    (
        "0006_device_sign_out",
        include_str!("../../migrations/0006_device_sign_out.sql"),
    ),
    ("0007_mail", include_str!("../../migrations/0007_mail.sql")),
    (
        "0008_mail_digest",
        include_str!("../../migrations/0008_mail_digest.sql"),
    ),
    (
        "0009_callbacks",
        include_str!("../../migrations/0009_callbacks.sql"),
    ),
    (
        "0010_sync_scope",
        include_str!("../../migrations/0010_sync_scope.sql"),
    ),
    (
        "0011_erasure",
        include_str!("../../migrations/0011_erasure.sql"),
    ),
    (
        "0012_resident_points",
        include_str!("../../migrations/0012_resident_points.sql"),
    ),
    (
        "0013_audit_retention",
        include_str!("../../migrations/0013_audit_retention.sql"),
    ),
    (
        "0014_wijkberichten",
        include_str!("../../migrations/0014_wijkberichten.sql"),
    ),
    (
        "0015_subscriptions_opened_at",
        include_str!("../../migrations/0015_subscriptions_opened_at.sql"),
    ),
];

/// The schema version this binary writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration failures.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The file is from a newer wijklog.
    #[error(
        "the database has schema version {found}, but this wijklog only knows versions up to \
         {supported}; it was written by a newer wijklog. Run that version (or restore a backup \
         made with this one); the database was not changed"
    )]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Latest version this binary knows.
        supported: u32,
    },
    /// A migration failed (rolled back).
    #[error("migration {name} failed (rolled back)")]
    Failed {
        /// The migration's file name.
        name: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading or setting the version failed.
    #[error("could not read the schema version")]
    Version(#[source] rusqlite::Error),
    /// A PostgreSQL migration failed (rolled back).
    #[error("migration {name} failed (rolled back)")]
    PgFailed {
        /// The migration's file name.
        name: &'static str,
        /// The cause.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Reading or setting the PostgreSQL schema version failed.
    #[error("could not read the schema version")]
    PgVersion(#[source] tokio_postgres::Error),
}

/// Reads `PRAGMA user_version`.
pub(crate) fn schema_version(conn: &Connection) -> Result<u32, MigrationError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(MigrationError::Version)
}

/// Migrates up to `target` (at most [`LATEST_VERSION`]). Refuses a newer file.
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, MigrationError> {
    let target = target.min(LATEST_VERSION);
    let mut version = schema_version(conn)?;
    if version > LATEST_VERSION {
        return Err(MigrationError::TooNew {
            found: version,
            supported: LATEST_VERSION,
        });
    }
    while version < target {
        let (name, sql) = MIGRATIONS[version as usize];
        let next = version + 1;
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Re-check inside the write lock: another process may have migrated.
            let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if current == version {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", next)?;
            }
            tx.commit()
        };
        run(conn).map_err(|source| MigrationError::Failed { name, source })?;
        version = schema_version(conn)?;
        if version > LATEST_VERSION {
            return Err(MigrationError::TooNew {
                found: version,
                supported: LATEST_VERSION,
            });
        }
        tracing::info!(migration = name, version, "database migrated");
    }
    Ok(version)
}

/// Migrates to the latest version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, MigrationError> {
    migrate_to(conn, LATEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir) -> Connection {
        crate::storage::connect::open(&dir.path().join("t.db")).expect("open")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    }

    #[test]
    fn fresh_database_migrates_to_latest_with_pragmas_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        assert_eq!(migrate(&mut conn).expect("migrate"), LATEST_VERSION);
        assert_eq!(schema_version(&conn).expect("version"), LATEST_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("sync");
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("fk");
        assert_eq!(fk, 1);
        let t = tables(&conn);
        for want in [
            "documents",
            "changes",
            "snapshots",
            "actors",
            "observations",
            "notes",
            "users",
            "devices",
            "refresh_tokens",
            "audit_log",
        ] {
            assert!(t.iter().any(|n| n == want), "missing table {want}");
        }
    }

    /// `EXPLAIN QUERY PLAN` of `sql` with two parameters (its `detail` lines).
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        stmt.query_map(rusqlite::params![0i64, 1000i64], |r| r.get(3))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    }

    #[test]
    fn the_lapsed_subscriptions_job_finds_its_rows_by_index_from_0015_on() {
        // Before 0015 the job's statement read the whole subscriptions table
        // (a row per device and document it opened) on every run.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        migrate_to(&mut conn, 14).expect("to v14");
        let sql = crate::storage::sqlite::LAPSED_SUBSCRIPTIONS_DELETE;
        let before = plan(&conn, sql);
        assert!(
            before
                .iter()
                .any(|l| l.starts_with("SCAN device_subscriptions")),
            "{before:?}"
        );
        migrate_to(&mut conn, 15).expect("to v15");
        let after = plan(&conn, sql);
        assert!(
            after.iter().all(|l| !l.starts_with("SCAN")),
            "no full scan: {after:?}"
        );
        assert!(
            after.iter().any(|l| l
                .contains("USING COVERING INDEX device_subscriptions_opened (opened_at<?)")
                || l.contains("USING INDEX device_subscriptions_opened (opened_at<?)")),
            "{after:?}"
        );
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        migrate(&mut conn).expect("first");
        assert_eq!(migrate(&mut conn).expect("second"), LATEST_VERSION);
    }

    #[test]
    fn upgrade_0001_to_0002_keeps_documents_and_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        assert_eq!(migrate_to(&mut conn, 1).expect("to v1"), 1);
        assert!(!tables(&conn).iter().any(|n| n == "users"));
        conn.execute(
            "INSERT INTO documents (id, kind, owner, team, created_at) VALUES (?1, 'walk', 'u1', 'noord', 5)",
            [&[7u8; 16][..]],
        )
        .expect("doc");
        conn.execute(
            "INSERT INTO changes (doc_id, hash, bytes, user_id, actor, received_at) VALUES (?1, ?2, x'01', 'u1', x'aa', 6)",
            rusqlite::params![&[7u8; 16][..], &[1u8; 32][..]],
        )
        .expect("change");
        assert_eq!(migrate_to(&mut conn, 2).expect("to v2"), 2);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1);
        let team: String = conn
            .query_row("SELECT team FROM documents", [], |r| r.get(0))
            .expect("team");
        assert_eq!(team, "noord");
        assert!(tables(&conn).iter().any(|n| n == "users"));
    }

    #[test]
    fn database_newer_than_binary_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        conn.pragma_update(None, "user_version", 99).expect("set");
        let err = migrate(&mut conn).expect_err("must refuse");
        assert!(matches!(
            err,
            MigrationError::TooNew {
                found: 99,
                supported: LATEST_VERSION
            }
        ));
        assert!(err.to_string().contains("newer wijklog"));
        assert_eq!(schema_version(&conn).expect("version"), 99);
        assert!(tables(&conn).is_empty());
    }

    #[test]
    fn a_failing_migration_rolls_back_completely() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        // A table that 0001 wants to create already exists: 0001 fails.
        conn.execute_batch("CREATE TABLE snapshots (x INTEGER)")
            .expect("pre-existing");
        let err = migrate(&mut conn).expect_err("must fail");
        assert!(matches!(
            err,
            MigrationError::Failed {
                name: "0001_documents",
                ..
            }
        ));
        assert_eq!(schema_version(&conn).expect("version"), 0);
        assert!(
            !tables(&conn).iter().any(|n| n == "documents"),
            "partial migration left behind"
        );
    }

    #[test]
    fn changes_and_audit_log_refuse_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        migrate(&mut conn).expect("migrate");
        conn.execute(
            "INSERT INTO documents (id, kind, owner, created_at) VALUES (?1, 'walk', 'u', 1)",
            [&[1u8; 16][..]],
        )
        .expect("doc");
        conn.execute(
            "INSERT INTO changes (doc_id, hash, bytes, user_id, actor, received_at) VALUES (?1, ?2, x'01', 'u', x'aa', 6)",
            rusqlite::params![&[1u8; 16][..], &[2u8; 32][..]],
        )
        .expect("change");
        assert!(conn.execute("DELETE FROM changes", []).is_err());
        assert!(
            conn.execute("UPDATE changes SET user_id = 'x'", [])
                .is_err()
        );
        assert!(
            conn.execute("UPDATE changes SET bytes = x'02'", [])
                .is_err()
        );
        // Compaction may clear bytes, nothing else.
        assert_eq!(
            conn.execute("UPDATE changes SET bytes = NULL", [])
                .expect("clear"),
            1
        );
        conn.execute(
            "INSERT INTO audit_log (at, action) VALUES (1, 'user.add')",
            [],
        )
        .expect("audit");
        assert!(
            conn.execute("UPDATE audit_log SET action = 'x'", [])
                .is_err()
        );
        assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    }

    #[test]
    fn upgrade_0002_to_0003_indexes_photo_references_of_existing_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        assert_eq!(migrate_to(&mut conn, 2).expect("to v2"), 2);
        let doc = [5u8; 16];
        conn.execute(
            "INSERT INTO documents (id, kind, owner, team, created_at) VALUES (?1, 'walk', 'u1', 'noord', 5)",
            [&doc[..]],
        )
        .expect("doc");
        let hex = "ab".repeat(32);
        let row =
            serde_json::json!({"photos": [format!("sha256:{hex}"), "sha256:nope"]}).to_string();
        conn.execute(
            "INSERT INTO observations (doc_id, item_id, row_json) VALUES (?1, 'o1', ?2)",
            rusqlite::params![&doc[..], row],
        )
        .expect("observation");
        assert_eq!(migrate_to(&mut conn, 3).expect("to v3"), 3);
        let refs: Vec<(String, String)> = {
            let mut stmt = conn
                .prepare("SELECT blob, item_id FROM blob_refs")
                .expect("prepare");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect()
        };
        assert_eq!(refs, vec![(hex, "o1".to_owned())]);
    }
}
