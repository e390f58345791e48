//! Configuration: defaults, then one TOML file, then `WIJKLOG_*` environment
//! variables, then command-line flags (each overriding the one before).
//!
//! Every key of the file can be set from the environment:
//! `WIJKLOG_<KEY>` for top-level keys (`WIJKLOG_BIND`), and
//! `WIJKLOG_<SECTION>_<KEY>` for keys in a section (`WIJKLOG_LIMITS_MAX_FRAME_BYTES`).
//! `server/wijklog.example.toml` lists every key with its default.
//! Secrets are wrapped in [`Secret`], whose `Debug` prints `[redacted]`.
//!
//! Every section's type is defined here (the larger ones in submodules), so
//! the configuration imports none of the modules it configures.

mod blobs;
mod database;
mod geocoding;
mod http;
mod mail;
mod public;
mod retention;
mod sync;
mod theme;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use blobs::BlobsConfig;
pub use database::{DatabaseConfig, is_postgres_url, redact_url};
pub use geocoding::GeocodingConfig;
pub use http::HttpConfig;
pub use mail::{MailConfig, TlsMode};
pub use public::PublicConfig;
pub use retention::{DAY_MS, RetentionConfig};
pub use sync::SyncConfig;
pub use theme::{MAX_LOGO_BYTES, ThemeConfig};

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("wijklog.db")
}

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file or the merged values are not a valid configuration.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// An environment variable holds a value of the wrong type.
    #[error("environment variable {var}: expected {expected}")]
    Env {
        /// The variable.
        var: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// A secret string: never printed by `Debug`, never serialized.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Self {
        Self(s)
    }
    /// The secret itself; keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address (`ADDR:PORT`; port 0 picks a free port).
    pub bind: String,
    /// Data directory: the database (`wijklog.db`) and the JWT secret file.
    pub data_dir: PathBuf,
    /// The built PWA, served at `/`.
    pub static_dir: PathBuf,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// `tracing` filter (`RUST_LOG` syntax), e.g. `info,wijklog_server=debug`.
    pub log_filter: String,
    /// Seconds the server waits for in-flight work on SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Tokens and sessions.
    pub auth: AuthConfig,
    /// Login rate limits.
    pub login_rate_limit: LoginRateLimitConfig,
    /// Limits on sync input (read by the sync layer).
    pub limits: Limits,
    /// Periodic compaction of documents into snapshots.
    pub compaction: CompactionConfig,
    /// Photos: upload limit, garbage collection, thumbnails (see docs/blobs.md).
    pub blobs: BlobsConfig,
    /// The coordinator map's tiles (served to the PWA by `GET /api/v1/client-config`).
    pub map: MapConfig,
    /// The address service asked for the nearest address of a position and
    /// for the coordinator map's search (off by default; see `crate::geocode`).
    pub geocoding: GeocodingConfig,
    /// The sync server's in-memory document cache.
    pub cache: CacheConfig,
    /// The HTTP listener's limits: timeouts, connection caps, work queues,
    /// the `/metrics` token (see `crate::edge`, docs/security.md).
    pub http: HttpConfig,
    /// E-mail to residents and partners (off unless `host` is set; see docs/operations.md).
    pub mail: MailConfig,
    /// Where the data lives: SQLite in `data_dir` (the default) or PostgreSQL.
    pub database: DatabaseConfig,
    /// The sync scope: which documents each device holds (see docs/sync-protocol.md).
    pub sync: SyncConfig,
    /// The residents' public endpoints: rate limits and the form token
    /// (see docs/security.md, "Residents").
    pub public: PublicConfig,
    /// Retention periods: what `wijklog retention run` and its daily timer
    /// erase, and how long `wijklog backup --to-dir` keeps backups (see
    /// docs/privacy.md, "Retention").
    pub retention: RetentionConfig,
    /// How the app presents the municipality: name, colour, logo (served
    /// by `GET /api/v1/client-config`; the web manifest follows it).
    pub theme: ThemeConfig,
}

/// The `[cache]` section: bounds of the in-memory document cache. Documents
/// nobody has open are dropped, least recently used first, beyond them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Most documents kept in memory.
    pub max_documents: usize,
    /// Most bytes (sum of the documents' change sizes) kept in memory.
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_documents: 1000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The `[map]` section: the base map the coordinator views draw under the points.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MapConfig {
    /// Tile URL template (`{z}`, `{x}`, `{y}`), EPSG:3857.
    pub tile_url: String,
    /// Attribution shown on the map (may hold simple HTML entities).
    pub attribution: String,
    /// Highest zoom level the tiles exist for.
    pub max_zoom: u8,
}

impl Default for MapConfig {
    fn default() -> Self {
        Self {
            tile_url: "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png".into(),
            attribution: "Kaartgegevens &copy; Kadaster".into(),
            max_zoom: 19,
        }
    }
}

/// Token settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Access token lifetime (seconds).
    pub access_ttl_secs: u64,
    /// Refresh token lifetime (days); each refresh starts a new one.
    pub refresh_ttl_days: u64,
    /// Clock skew tolerated on `exp`/`nbf` (seconds).
    pub leeway_secs: u64,
    /// Seconds after a refresh during which presenting the just-used refresh
    /// token again (the answer was lost) rotates again instead of revoking
    /// the device; 0 disables the grace.
    pub refresh_reuse_grace_secs: u64,
    /// How often open sync connections re-check that the user is enabled
    /// and the device not revoked (seconds).
    pub session_check_secs: u64,
    /// File holding the JWT signing secret; empty = `<data_dir>/jwt_secret`.
    /// Created (mode 0600, 32 random bytes) on first start if absent.
    pub jwt_secret_file: PathBuf,
    /// The secret itself (e.g. from `WIJKLOG_AUTH_JWT_SECRET` when several
    /// nodes must share it); overrides the file. At least 32 characters.
    pub jwt_secret: Option<Secret>,
}

/// Login rate limiting (see docs/operations.md for the scheme).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoginRateLimitConfig {
    /// Window length (seconds) for all counters below.
    pub window_secs: u64,
    /// Failed logins allowed per (account, address) pair per window.
    pub pair_max_failures: u32,
    /// Failed logins allowed per address (all accounts) per window.
    pub address_max_failures: u32,
    /// Failed logins per account (all addresses) per window after which only
    /// addresses that logged in to that account successfully before may try.
    pub account_max_failures: u32,
}

/// Limits on what clients may send (all answered with `too_large`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket frame accepted (bytes).
    pub max_frame_bytes: usize,
    /// Most changes accepted in one sync message.
    pub max_changes_per_message: usize,
    /// Largest document (saved size, bytes).
    pub max_document_bytes: usize,
    /// Bound on the inflated size of compressed automerge chunks (bytes).
    pub max_decompressed_bytes: usize,
    /// Seconds a new sync connection has to send its auth frame.
    pub auth_timeout_secs: u64,
    /// Frames per second one sync connection may send on average (token
    /// bucket); frames beyond the budget are answered `rate_limited`.
    pub messages_per_second: u32,
    /// Frames one sync connection may send in a burst (the bucket's size).
    pub message_burst: u32,
    /// Most automerge operations in one change.
    pub max_ops_per_change: u64,
    /// Most operations in all changes of one sync message.
    pub max_ops_per_message: u64,
    /// Most operations in one document (all its changes).
    pub max_ops_per_document: u64,
    /// Deepest nesting of objects (maps, lists, texts) in a document.
    pub max_depth: u32,
    /// Most changes one sync connection may hold that wait for dependencies.
    pub max_waiting_changes: usize,
    /// Most bytes of such changes one sync connection may hold.
    pub max_waiting_bytes: u64,
    /// Most documents one user may create.
    pub max_docs_per_user: u64,
    /// Most item histories computed at once (more requests wait their turn).
    pub max_concurrent_history: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            static_dir: PathBuf::from("pwa/dist"),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            shutdown_timeout_secs: 10,
            auth: AuthConfig::default(),
            login_rate_limit: LoginRateLimitConfig::default(),
            limits: Limits::default(),
            compaction: CompactionConfig::default(),
            blobs: BlobsConfig::default(),
            mail: MailConfig::default(),
            public: PublicConfig::default(),
            retention: RetentionConfig::default(),
            map: MapConfig::default(),
            geocoding: GeocodingConfig::default(),
            cache: CacheConfig::default(),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            sync: SyncConfig::default(),
            theme: ThemeConfig::default(),
        }
    }
}

/// Periodic compaction (see `crate::compaction`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CompactionConfig {
    /// Seconds between passes; 0 disables the periodic task.
    pub interval_secs: u64,
    /// A document is compacted once it has this many changes not in its snapshot.
    pub min_changes: u64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            min_changes: 200,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 15 * 60,
            refresh_ttl_days: 60,
            leeway_secs: 5,
            refresh_reuse_grace_secs: 60,
            session_check_secs: 5,
            jwt_secret_file: PathBuf::new(),
            jwt_secret: None,
        }
    }
}

impl Default for LoginRateLimitConfig {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            pair_max_failures: 5,
            address_max_failures: 50,
            account_max_failures: 100,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 4 * 1024 * 1024,
            max_changes_per_message: 2_000,
            max_document_bytes: 32 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            auth_timeout_secs: 10,
            messages_per_second: 50,
            message_burst: 200,
            max_ops_per_change: 100_000,
            max_ops_per_message: 300_000,
            max_ops_per_document: 300_000,
            max_depth: 32,
            max_waiting_changes: 2_000,
            max_waiting_bytes: 8 * 1024 * 1024,
            max_docs_per_user: 2_000,
            max_concurrent_history: 2,
        }
    }
}

impl Config {
    /// Defaults, overridden by `file` (if given) and then by the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match file {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_sources(&text, std::env::vars())
    }

    /// Builds a configuration from TOML text and `(name, value)` variables
    /// (only `WIJKLOG_*` ones are looked at). Used by [`Config::load`] and tests.
    pub fn from_sources(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut value: toml::Table =
            toml::from_str(toml_text).map_err(|e| ConfigError::Invalid(e.message().to_owned()))?;
        let defaults = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("WIJKLOG_"))
            .collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        for (key, default) in &defaults {
            match default {
                toml::Value::Table(section) => {
                    let mut keys: Vec<&String> = section.keys().collect();
                    // Optional keys (absent from the serialized defaults).
                    let extra = optional_keys(key);
                    let extra_owned: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
                    keys.extend(extra_owned.iter());
                    for field in keys {
                        let var =
                            format!("WIJKLOG_{}_{}", key.to_uppercase(), field.to_uppercase());
                        if let Some(raw) = lookup(&var) {
                            let typed = typed_like(section.get(field), &raw, &var)?;
                            let table = value
                                .entry(key.clone())
                                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                            if let toml::Value::Table(t) = table {
                                t.insert(field.clone(), typed);
                            }
                        }
                    }
                }
                _ => {
                    let var = format!("WIJKLOG_{}", key.to_uppercase());
                    if let Some(raw) = lookup(&var) {
                        value.insert(key.clone(), typed_like(Some(default), &raw, &var)?);
                    }
                }
            }
        }
        let config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::Invalid(
                "auth.jwt_secret must be at least 32 characters".into(),
            ));
        }
        if self.auth.access_ttl_secs == 0 || self.auth.refresh_ttl_days == 0 {
            return Err(ConfigError::Invalid(
                "token lifetimes must be positive".into(),
            ));
        }
        let l = &self.limits;
        if l.max_frame_bytes == 0
            || l.max_changes_per_message == 0
            || l.max_document_bytes == 0
            || l.max_decompressed_bytes == 0
            || l.auth_timeout_secs == 0
            || l.messages_per_second == 0
            || l.message_burst == 0
            || l.max_ops_per_change == 0
            || l.max_ops_per_message == 0
            || l.max_ops_per_document == 0
            || l.max_depth == 0
            || l.max_waiting_changes == 0
            || l.max_waiting_bytes == 0
            || l.max_docs_per_user == 0
            || l.max_concurrent_history == 0
        {
            return Err(ConfigError::Invalid("limits must be positive".into()));
        }
        if self.cache.max_documents == 0 || self.cache.max_bytes == 0 {
            return Err(ConfigError::Invalid(
                "cache.max_documents and cache.max_bytes must be positive".into(),
            ));
        }
        if self.map.tile_url.trim().is_empty() || self.map.max_zoom == 0 || self.map.max_zoom > 24 {
            return Err(ConfigError::Invalid(
                "map.tile_url must be set and map.max_zoom between 1 and 24".into(),
            ));
        }
        self.blobs
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        self.http
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        self.mail.validate().map_err(ConfigError::Invalid)?;
        self.geocoding
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        self.theme.validate().map_err(ConfigError::Invalid)?;
        self.database.validate()?;
        self.sync
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        self.public
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        self.retention
            .validate()
            .map_err(|e| ConfigError::Invalid(e.into()))?;
        Ok(())
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        database_path(&self.data_dir)
    }

    /// The JWT secret file.
    pub fn jwt_secret_path(&self) -> PathBuf {
        if self.auth.jwt_secret_file.as_os_str().is_empty() {
            self.data_dir.join("jwt_secret")
        } else {
            self.auth.jwt_secret_file.clone()
        }
    }
}

fn optional_keys(section: &str) -> &'static [&'static str] {
    match section {
        "auth" => &["jwt_secret"],
        "http" => &["metrics_token"],
        "database" => &["password"],
        "theme" => &["logo"],
        _ => &[],
    }
}

fn typed_like(
    default: Option<&toml::Value>,
    raw: &str,
    var: &str,
) -> Result<toml::Value, ConfigError> {
    let err = |expected| ConfigError::Env {
        var: var.to_owned(),
        expected,
    };
    Ok(match default {
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| err("an integer"))?)
        }
        Some(toml::Value::Boolean(_)) => {
            toml::Value::Boolean(raw.trim().parse().map_err(|_| err("true or false"))?)
        }
        Some(toml::Value::Float(_)) => {
            toml::Value::Float(raw.trim().parse().map_err(|_| err("a number"))?)
        }
        _ => toml::Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn empty_sources_give_defaults() {
        let c = Config::from_sources("", env(&[])).expect("config");
        assert_eq!(c, Config::default());
        assert_eq!(c.auth.access_ttl_secs, 900);
        assert_eq!(c.limits.auth_timeout_secs, 10);
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let file =
            "bind = \"0.0.0.0:9000\"\n[limits]\nmax_frame_bytes = 1000\nauth_timeout_secs = 3\n";
        let c = Config::from_sources(
            file,
            env(&[
                ("WIJKLOG_LIMITS_MAX_FRAME_BYTES", "2000"),
                ("WIJKLOG_LOG_FORMAT", "json"),
                ("OTHER", "x"),
            ]),
        )
        .expect("config");
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.limits.max_frame_bytes, 2000);
        assert_eq!(c.limits.auth_timeout_secs, 3);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn the_sync_rate_limit_and_the_map_come_from_the_file_and_the_environment() {
        let file = "[limits]\nmessages_per_second = 7\nmessage_burst = 9\n[map]\nmax_zoom = 12\n";
        let c = Config::from_sources(file, env(&[])).expect("config");
        assert_eq!(
            (c.limits.messages_per_second, c.limits.message_burst),
            (7, 9)
        );
        assert_eq!(c.map.max_zoom, 12);
        let c = Config::from_sources(
            file,
            env(&[
                ("WIJKLOG_LIMITS_MESSAGES_PER_SECOND", "500"),
                ("WIJKLOG_LIMITS_MESSAGE_BURST", "2000"),
                ("WIJKLOG_MAP_TILE_URL", "https://t.example/{z}/{x}/{y}.png"),
            ]),
        )
        .expect("config");
        assert_eq!(
            (c.limits.messages_per_second, c.limits.message_burst),
            (500, 2000)
        );
        assert_eq!(c.map.tile_url, "https://t.example/{z}/{x}/{y}.png");
        assert!(Config::from_sources("[limits]\nmessage_burst = 0", env(&[])).is_err());
        assert!(
            Config::from_sources("", env(&[("WIJKLOG_LIMITS_MESSAGES_PER_SECOND", "-1")])).is_err()
        );
        assert!(Config::from_sources("[map]\nmax_zoom = 30", env(&[])).is_err());
    }

    #[test]
    fn env_secret_is_accepted_and_hidden_from_debug() {
        let secret = "a-very-long-secret-value-of-40-characters!";
        let c =
            Config::from_sources("", env(&[("WIJKLOG_AUTH_JWT_SECRET", secret)])).expect("config");
        assert_eq!(c.auth.jwt_secret.as_ref().map(Secret::expose), Some(secret));
        let debug = format!("{c:?}");
        assert!(!debug.contains(secret));
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let e = Config::from_sources("", env(&[("WIJKLOG_LIMITS_MAX_FRAME_BYTES", "lots")]))
            .expect_err("bad");
        assert!(e.to_string().contains("WIJKLOG_LIMITS_MAX_FRAME_BYTES"));
        assert!(Config::from_sources("nonsense_key = 1", env(&[])).is_err());
        assert!(Config::from_sources("[limits]\nmax_frame_bytes = 0", env(&[])).is_err());
        assert!(Config::from_sources("", env(&[("WIJKLOG_AUTH_JWT_SECRET", "short")])).is_err());
    }

    #[test]
    fn the_database_comes_from_the_file_or_the_environment_and_its_password_is_hidden() {
        let c = Config::from_sources(
            "[database]\nurl = \"postgres://w@db.example/wijklog\"\nmax_connections = 4",
            env(&[("WIJKLOG_DATABASE_PASSWORD", "pw-from-env-123")]),
        )
        .expect("config");
        assert!(c.database.is_postgres());
        assert_eq!(c.database.url, "postgres://w@db.example/wijklog");
        assert_eq!(c.database.max_connections, 4);
        assert_eq!(
            c.database.password.as_ref().map(Secret::expose),
            Some("pw-from-env-123")
        );
        let c = Config::from_sources(
            "",
            env(&[(
                "WIJKLOG_DATABASE_URL",
                "postgresql://w:pw-in-url-456@127.0.0.1:5433/x",
            )]),
        )
        .expect("config");
        assert!(c.database.is_postgres());
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw-in-url-456"), "{shown}");
        assert!(
            shown.contains("postgresql://w:***@127.0.0.1:5433/x"),
            "{shown}"
        );
        assert!(!Config::default().database.is_postgres());
        let e = Config::from_sources("[database]\nurl = \"mysql://x\"", env(&[]))
            .expect_err("not postgres");
        assert!(e.to_string().contains("postgres://"), "{e}");
        assert!(Config::from_sources("[database]\nmax_connections = 0", env(&[])).is_err());
    }

    #[test]
    fn example_file_parses_to_the_defaults() {
        let text = include_str!("../wijklog.example.toml");
        assert_eq!(
            Config::from_sources(text, env(&[])).expect("example"),
            Config::default()
        );
    }
}
