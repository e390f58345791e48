//! [`ReviewDb`]: the review layer's own connections to the server's
//! database, on either backend (ADR 0023). The review queries are written
//! once: each builds its SQL with SQLite's `?` / `?N` placeholders and the
//! few dialect differences asked of [`Dialect`], runs it with
//! [`ReviewDb::each_row`] and reads the columns through [`Row`], whichever
//! database answers. On PostgreSQL the placeholders become `$N`
//! ([`postgres_placeholders`]) and the queries run on the store's own pool
//! ([`PgHandle`]), driven to completion from the calling (blocking) thread,
//! as the store's methods are.
//!
//! The layers that still use [`ReviewDb::with_conn`] (a raw SQLite
//! connection: admin, mail, residents' points) answer 503 `sqlite_only` on
//! PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures_util::StreamExt;
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::edge::ApiError;
use crate::storage::{PgHandle, SqliteOnly, Store, StoreError};

/// How many idle SQLite connections are kept.
const MAX_IDLE: usize = 4;

/// The SQL dialect a query is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the projection's flags are integers 0/1, FTS5 tables).
    Sqlite,
    /// PostgreSQL (the flags are booleans, a `tsvector` column).
    Postgres,
}

impl Dialect {
    /// The condition "`col` is true" for a flag column.
    pub fn is_true(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{col} = 1"),
            Dialect::Postgres => col.to_owned(),
        }
    }

    /// The condition "`col` is false" for a flag column.
    pub fn is_false(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{col} = 0"),
            Dialect::Postgres => format!("NOT {col}"),
        }
    }

    /// How many rows satisfy `cond` (an aggregate; 0 when none do).
    pub fn count_where(self, cond: &str) -> String {
        match self {
            Dialect::Sqlite => format!("coalesce(sum({cond}), 0)"),
            Dialect::Postgres => format!("count(*) FILTER (WHERE {cond})"),
        }
    }
}

enum Backend {
    /// The SQLite file at `path`, with a few idle connections kept.
    Sqlite {
        path: PathBuf,
        idle: Mutex<Vec<Connection>>,
    },
    /// The PostgreSQL store's pool.
    Postgres(PgHandle),
    /// A PostgreSQL installation whose store does not share its pool:
    /// every use fails with [`SqliteOnly`].
    Unavailable,
}

/// Connections of the review layer to the server's database. Every method
/// blocks: call it from the blocking pool.
pub struct ReviewDb {
    backend: Backend,
}

impl std::fmt::Debug for ReviewDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            Backend::Postgres(_) => "postgres".to_owned(),
            Backend::Unavailable => "unavailable".to_owned(),
        };
        f.debug_struct("ReviewDb")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

/// One result row, from either backend. Reading a column as a type it
/// does not have is an internal error (a bug), never a panic.
pub enum Row<'a> {
    /// A SQLite row.
    Sqlite(&'a rusqlite::Row<'a>),
    /// A PostgreSQL row.
    Postgres(&'a tokio_postgres::Row),
}

fn column_error(i: usize, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("review query column {i}: {e}"))
}

impl Row<'_> {
    fn get<S, P>(&self, i: usize) -> Result<S, ApiError>
    where
        S: rusqlite::types::FromSql,
        P: for<'r> tokio_postgres::types::FromSql<'r> + Into<S>,
    {
        match self {
            Row::Sqlite(r) => r.get::<_, S>(i).map_err(|e| column_error(i, e)),
            Row::Postgres(r) => r
                .try_get::<_, P>(i)
                .map(Into::into)
                .map_err(|e| column_error(i, e)),
        }
    }

    /// A text column.
    pub fn text(&self, i: usize) -> Result<String, ApiError> {
        self.get::<String, String>(i)
    }

    /// A text column that may be NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, ApiError> {
        self.get::<Option<String>, Option<String>>(i)
    }

    /// An integer column (PostgreSQL: `bigint`).
    pub fn int(&self, i: usize) -> Result<i64, ApiError> {
        self.get::<i64, i64>(i)
    }

    /// An integer column that may be NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, ApiError> {
        self.get::<Option<i64>, Option<i64>>(i)
    }

    /// A blob column (PostgreSQL: `bytea`).
    pub fn blob(&self, i: usize) -> Result<Vec<u8>, ApiError> {
        self.get::<Vec<u8>, Vec<u8>>(i)
    }

    /// A truth value (SQLite: an integer, PostgreSQL: `boolean`).
    pub fn boolean(&self, i: usize) -> Result<bool, ApiError> {
        self.get::<bool, bool>(i)
    }
}

/// SQLite's placeholders as PostgreSQL's: `?N` becomes `$N`, and a bare
/// `?` the next number after the largest so far (SQLite's own rule). The
/// review queries hold no `?` inside string literals.
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut largest = 0u32;
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        let n = match digits.parse::<u32>() {
            Ok(n) => n,
            Err(_) => largest + 1,
        };
        largest = largest.max(n);
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// A bound value as PostgreSQL takes it.
fn pg_param(v: &Value) -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
    match v {
        Value::Null => Box::new(None::<String>),
        Value::Integer(i) => Box::new(*i),
        Value::Real(f) => Box::new(*f),
        Value::Text(s) => Box::new(s.clone()),
        Value::Blob(b) => Box::new(b.clone()),
    }
}

impl ReviewDb {
    /// For the SQLite file at `path` (opened lazily, per use).
    pub fn new(path: &Path) -> Self {
        Self {
            backend: Backend::Sqlite {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            },
        }
    }

    /// For `wijklog.db` in a data directory.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self::new(&crate::storage::database_path(data_dir))
    }

    /// On a PostgreSQL store's pool.
    pub fn postgres(pool: PgHandle) -> Self {
        Self {
            backend: Backend::Postgres(pool),
        }
    }

    /// For the database of `store`: its PostgreSQL pool when it has one,
    /// else the SQLite file in `data_dir` — unless `postgres` says the
    /// installation is on PostgreSQL, where a store without a pool to
    /// share leaves the layer answering `sqlite_only`.
    pub fn for_store(store: &dyn Store, postgres: bool, data_dir: &Path) -> Self {
        match store.postgres() {
            Some(pg) => Self::postgres(pg.handle()),
            None if postgres => Self::sqlite_only(),
            None => Self::in_dir(data_dir),
        }
    }

    /// Every use fails with [`SqliteOnly`].
    pub fn sqlite_only() -> Self {
        Self {
            backend: Backend::Unavailable,
        }
    }

    /// The dialect of this database (`None`: unavailable).
    pub fn dialect(&self) -> Option<Dialect> {
        match self.backend {
            Backend::Sqlite { .. } => Some(Dialect::Sqlite),
            Backend::Postgres(_) => Some(Dialect::Postgres),
            Backend::Unavailable => None,
        }
    }

    /// Whether [`ReviewDb::with_conn`] works here (SQLite), i.e. does not
    /// fail with [`SqliteOnly`].
    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite { .. })
    }

    /// [`ReviewDb::dialect`], or the `sqlite_only` error.
    pub fn require_dialect(&self) -> Result<Dialect, ApiError> {
        self.dialect().ok_or_else(|| SqliteOnly.into())
    }

    /// Runs `f` on a pooled SQLite connection ([`SqliteOnly`] on
    /// PostgreSQL): for the layers not yet written for both backends.
    pub fn with_conn<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let Backend::Sqlite { path, idle } = &self.backend else {
            return Err(SqliteOnly::as_rusqlite().into());
        };
        let pooled = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => crate::storage::open_connection(path)?,
        };
        let out = f(&conn);
        if !conn.is_autocommit() {
            // A failed closure left a transaction open: drop the connection.
            return out;
        }
        let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        out
    }

    /// Runs the query `sql` (SQLite placeholders) with `params` and calls
    /// `each` for every row, in order, one row at a time: memory stays one
    /// row (PostgreSQL: the driver's read buffer) however many match. On
    /// PostgreSQL `each` runs outside the runtime, so it may block (write
    /// into a bounded channel).
    pub fn each_row(
        &self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(Row<'_>) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        match &self.backend {
            Backend::Sqlite { .. } => self.with_conn(|c| {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                while let Some(r) = rows.next()? {
                    each(Row::Sqlite(r))?;
                }
                Ok(())
            }),
            Backend::Postgres(pg) => {
                let sql = postgres_placeholders(sql);
                let values: Vec<_> = params.iter().map(pg_param).collect();
                let conn = pg.block_on(pg.conn())?;
                let rows = pg
                    .block_on(async {
                        let stmt = conn.prepare_cached(&sql).await?;
                        let params = values
                            .iter()
                            .map(|v| &**v as &(dyn tokio_postgres::types::ToSql + Sync));
                        conn.query_raw(&stmt, params).await
                    })
                    .map_err(StoreError::from)?;
                let mut rows = std::pin::pin!(rows);
                while let Some(row) = pg.block_on(rows.next()) {
                    let row = row.map_err(StoreError::from)?;
                    each(Row::Postgres(&row))?;
                }
                Ok(())
            }
            Backend::Unavailable => Err(SqliteOnly.into()),
        }
    }

    /// The rows of `sql`, each read by `read`.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut read: impl FnMut(Row<'_>) -> Result<T, ApiError>,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        self.each_row(sql, params, |r| {
            out.push(read(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of `sql` read by `read`, `None` when there is none.
    pub fn first_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        read: impl FnOnce(Row<'_>) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        let mut read = Some(read);
        let mut out = None;
        self.each_row(sql, params, |r| {
            if let Some(read) = read.take() {
                out = Some(read(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_the_way_sqlite_numbers_them() {
        assert_eq!(
            postgres_placeholders("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(
            postgres_placeholders("x >= ?1 AND y < ?3 AND z = ?2"),
            "x >= $1 AND y < $3 AND z = $2"
        );
        assert_eq!(postgres_placeholders("?2, ?"), "$2, $3");
        assert_eq!(postgres_placeholders("no params"), "no params");
    }
}
