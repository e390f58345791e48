//! The `[database]` section (opened by `crate::startup::open_store`): SQLite
//! in the data directory, or PostgreSQL named by a URL.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// Whether a `--database` value names PostgreSQL.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A database URL with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let host = host.split('?').next().unwrap_or(host);
    match auth {
        Some(auth) => {
            let user = auth.split(':').next().unwrap_or("");
            if auth.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => format!("{scheme}://{host}"),
    }
}

/// The `[database]` section: SQLite in `data_dir` unless `url` names a
/// PostgreSQL database. The password belongs in the environment
/// (`WIJKLOG_DATABASE_PASSWORD`), not in the file or the URL.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty: SQLite (`<data_dir>/wijklog.db`). `postgres://user@host:port/db`:
    /// PostgreSQL (also `--database URL`, `WIJKLOG_DATABASE_URL`).
    pub url: String,
    /// Most PostgreSQL connections this process opens.
    pub max_connections: usize,
    /// Seconds to wait for a free or new PostgreSQL connection before a
    /// request fails (and nothing is acknowledged).
    pub wait_timeout_secs: u64,
    /// The PostgreSQL password when the URL has none
    /// (`WIJKLOG_DATABASE_PASSWORD`).
    pub password: Option<Secret>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            wait_timeout_secs: 10,
            password: None,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A password written into the URL stays out of logs.
        f.debug_struct("DatabaseConfig")
            .field(
                "url",
                &if self.url.is_empty() {
                    String::new()
                } else {
                    redact_url(&self.url)
                },
            )
            .field("max_connections", &self.max_connections)
            .field("wait_timeout_secs", &self.wait_timeout_secs)
            .field("password", &self.password)
            .finish()
    }
}

impl DatabaseConfig {
    /// Whether the data lives in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !self.url.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.url.is_empty() && !is_postgres_url(&self.url) {
            return Err(ConfigError::Invalid(
                "database.url must be empty (SQLite in data_dir) or a postgres:// URL".into(),
            ));
        }
        if self.max_connections == 0 || self.wait_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections and database.wait_timeout_secs must be positive".into(),
            ));
        }
        Ok(())
    }
}
