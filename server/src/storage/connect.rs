//! The layers that open the SQLite file themselves (review, admin, mail,
//! photos): what they answer on a PostgreSQL installation.

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
