//! Connections to the SQLite file: the one place that opens them and the
//! one list of pragmas every connection gets, whichever layer uses it (the
//! store's writer and readers, the photo table, the review, admin and mail
//! queries); and what the layers that open the file themselves answer on a
//! PostgreSQL installation ([`SqliteOnly`]).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a statement waits for another connection's lock before it
/// fails with `SQLITE_BUSY`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pragmas every connection gets, in this order. `journal_mode=WAL` is
/// kept in the file (readers read while the writer commits); the others
/// hold for the connection only, so each new connection sets them again.
pub(crate) const PRAGMAS: &[(&str, &str)] = &[
    ("journal_mode", "WAL"),
    // A commit is on disk when it returns (an acknowledged change survives
    // a power cut).
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    // Deleted content is overwritten with zeros, so an erased value does
    // not linger in free pages (docs/privacy.md, "Erasure").
    ("secure_delete", "ON"),
];

/// Opens (creating if needed) the database file at `path` with the busy
/// timeout and [`PRAGMAS`]. Every pooled connection comes from here.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    apply_pragmas(&conn)?;
    Ok(conn)
}

/// Sets the busy timeout and [`PRAGMAS`] on a connection opened otherwise
/// (a restore's target, after the copy switched its journal mode).
pub(crate) fn apply_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    for (name, value) in PRAGMAS {
        // The power-loss test's negative control may turn syncing off
        // (test-only variable; docs/operations.md, "Power loss").
        let value = match *name {
            "synchronous" => crate::crashpoint::powerloss::synchronous(value),
            _ => value,
        };
        conn.pragma_update(None, name, value)?;
    }
    Ok(())
}

/// A layer that still reads the SQLite file directly was used on a
/// PostgreSQL installation (answered 503 `sqlite_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this part of Wijklog runs on SQLite only in this version")]
pub struct SqliteOnly;

impl SqliteOnly {
    /// The error [`crate::review::ReviewDb::with_conn`] hands its caller on PostgreSQL: a
    /// rusqlite error carrying [`SqliteOnly`], so every caller's existing
    /// conversion from rusqlite errors keeps working.
    pub fn as_rusqlite() -> rusqlite::Error {
        rusqlite::Error::ToSqlConversionFailure(Box::new(SqliteOnly))
    }

    /// Whether a rusqlite error is [`SqliteOnly::as_rusqlite`].
    pub fn is(e: &rusqlite::Error) -> bool {
        matches!(e, rusqlite::Error::ToSqlConversionFailure(inner) if inner.is::<SqliteOnly>())
    }
}

/// A connection's settings: `(name, value)` as SQLite reports them.
#[cfg(test)]
pub(crate) type Settings = Vec<(&'static str, String)>;

/// The settings a connection runs with, read back from SQLite itself (not
/// from [`PRAGMAS`]): each pragma and the busy timeout.
#[cfg(test)]
pub(crate) fn read_back(conn: &Connection) -> Settings {
    [
        "journal_mode",
        "synchronous",
        "foreign_keys",
        "secure_delete",
        "busy_timeout",
    ]
    .into_iter()
    .map(|name| {
        let value: rusqlite::types::Value = conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("PRAGMA {name}: {e}"));
        let text = match value {
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Text(s) => s,
            other => format!("{other:?}"),
        };
        (name, text)
    })
    .collect()
}
