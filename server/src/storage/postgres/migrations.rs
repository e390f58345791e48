//! PostgreSQL schema migrations.
//!
//! The `.sql` files in `server/migrations/postgres/`, compiled in with
//! `include_str!`. The version is the one row of `wijklog_schema`; migration
//! `n` (1-based) moves the database from version `n-1` to `n` in one
//! transaction holding a transaction-scoped advisory lock, so several nodes
//! starting at once migrate once (the others wait, then see the new version).
//! A database whose version is newer than this binary knows is refused with
//! [`MigrationError::TooNew`], the same error as on SQLite.

use tokio_postgres::Client;

use crate::storage::MigrationError;

/// The migrations, in order. Index `i` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_store",
        include_str!("../../../migrations/postgres/0001_store.sql"),
    ),
    (
        "0002_sync_scope",
        include_str!("../../../migrations/postgres/0002_sync_scope.sql"),
    ),
    (
        "0003_open_callbacks",
        include_str!("../../../migrations/postgres/0003_open_callbacks.sql"),
    ),
    (
        "0004_login_counters",
        include_str!("../../../migrations/postgres/0004_login_counters.sql"),
    ),
    (
        "0005_erasure",
        include_str!("../../../migrations/postgres/0005_erasure.sql"),
    ),
    (
        "0006_blobs",
        include_str!("../../../migrations/postgres/0006_blobs.sql"),
    ),
    (
        "0007_subscriptions_opened_at",
        include_str!("../../../migrations/postgres/0007_subscriptions_opened_at.sql"),
    ),
    (
        "0008_review",
        include_str!("../../../migrations/postgres/0008_review.sql"),
    ),
];

/// The schema version this binary writes on PostgreSQL.
pub const PG_LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// The advisory lock key that serializes migrations (any fixed number; the
/// ASCII of "wijklog" read as an integer).
const MIGRATION_LOCK: i64 = 0x77_69_6a_6b_6c_6f_67;

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS wijklog_schema (\
     id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)";

/// Reads the schema version (0 for an empty database).
pub(crate) async fn schema_version(client: &Client) -> Result<u32, MigrationError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('wijklog_schema') IS NOT NULL", &[])
        .await
        .map_err(MigrationError::PgVersion)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_opt("SELECT version FROM wijklog_schema WHERE id = 1", &[])
        .await
        .map_err(MigrationError::PgVersion)?;
    Ok(row.map(|r| r.get::<_, i32>(0)).unwrap_or(0).max(0) as u32)
}

/// Migrates up to `target` (at most [`PG_LATEST_VERSION`]); refuses a newer
/// database untouched. Returns the version reached.
pub(crate) async fn migrate_to(client: &mut Client, target: u32) -> Result<u32, MigrationError> {
    let target = target.min(PG_LATEST_VERSION);
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(MigrationError::PgVersion)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(MigrationError::PgVersion)?;
        tx.batch_execute(VERSION_TABLE)
            .await
            .map_err(MigrationError::PgVersion)?;
        let version = tx
            .query_opt("SELECT version FROM wijklog_schema WHERE id = 1", &[])
            .await
            .map_err(MigrationError::PgVersion)?
            .map(|r| r.get::<_, i32>(0).max(0) as u32)
            .unwrap_or(0);
        if version > PG_LATEST_VERSION {
            return Err(MigrationError::TooNew {
                found: version,
                supported: PG_LATEST_VERSION,
            });
        }
        if version >= target {
            tx.rollback().await.map_err(MigrationError::PgVersion)?;
            return Ok(version);
        }
        let (name, sql) = MIGRATIONS[version as usize];
        let next = (version + 1) as i32;
        let run = async {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO wijklog_schema (id, version) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                &[&next],
            )
            .await?;
            tx.commit().await
        };
        run.await
            .map_err(|source| MigrationError::PgFailed { name, source })?;
    }
}

/// Migrates to the latest version.
pub(crate) async fn migrate(client: &mut Client) -> Result<u32, MigrationError> {
    migrate_to(client, PG_LATEST_VERSION).await
}
