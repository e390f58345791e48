//! The application state shared by every worker: built once in
//! [`crate::startup::Application::build`], outside `HttpServer::new`, so all
//! workers share one store, one limiter, one metrics registry.

use std::sync::Arc;

use tokio::task::JoinError;

/// The one helper for blocking work, kept in the HTTP edge so the layers
/// below the state (the public endpoints) use it too.
pub use crate::edge::blocking;

use crate::auth::rate_limit::LoginRateLimiter;
use crate::auth::{Authenticator, JwtKeys};
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::edge::gate::WorkGate;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::storage::Store;

/// Shared state; cheap to clone (all `Arc`s). Handlers get it as
/// `web::Data<AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration in effect.
    pub config: Arc<Config>,
    /// The storage backend. Blocking: call from `web::block`/`spawn_blocking`.
    pub store: Arc<dyn Store>,
    /// Token verification (and the keys to issue tokens).
    pub auth: Authenticator,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Login rate limiter.
    pub login_limiter: Arc<LoginRateLimiter>,
    /// Graceful shutdown signal.
    pub shutdown: Shutdown,
    /// Photos (blobs): files under `<data_dir>/blobs` on SQLite, in the
    /// database on PostgreSQL. Blocking.
    pub blobs: Arc<BlobStore>,
    /// The review and admin queries' own connections to the database (the
    /// SQLite file, or the PostgreSQL store's pool). Blocking.
    pub review: Arc<crate::review::ReviewDb>,
    /// Bounds concurrent Argon2id work (logins, password changes): one per
    /// core, a bounded queue, then 503 `busy`.
    pub password_gate: Arc<WorkGate>,
    /// Bounds concurrent image decoding (upload checks, thumbnails).
    pub decode_gate: Arc<WorkGate>,
    /// E-mail: the SMTP client (None = off) and the outbox worker's bell.
    pub mail: Arc<crate::mail::worker::MailHandle>,
    /// The clock of the sync scope rule (tests move it forward).
    pub scope_clock: crate::sync::scope::ScopeClock,
    /// The residents' public endpoints: limits, form tokens, schedule.
    pub public: Arc<crate::public::Public>,
    /// Address lookups (`[geocoding]`): cache and limits.
    pub geocoder: Arc<crate::geocode::Geocoder>,
}

impl AppState {
    /// Assembles the state. The SMTP credentials come from the environment
    /// (see [`crate::mail::MailCredentials::from_env`]).
    pub fn new(config: Config, store: Arc<dyn Store>, keys: JwtKeys) -> Self {
        let mailer = crate::mail::Mailer::from_config(
            &config.mail,
            crate::mail::MailCredentials::from_env(),
        )
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "mail is configured but cannot be used; mail is off");
            None
        });
        // Several nodes share one PostgreSQL database: their login counters
        // are in it; one SQLite server counts in memory.
        let login_limiter = Arc::new(if config.database.is_postgres() {
            LoginRateLimiter::shared(config.login_rate_limit.clone(), store.clone())
        } else {
            LoginRateLimiter::new(config.login_rate_limit.clone())
        });
        // On PostgreSQL the photos are in the shared database (every node
        // reads what any node stored); on SQLite in the data directory.
        let blobs = Arc::new(BlobStore::for_store(
            &store,
            &config.data_dir,
            config.blobs.clone(),
        ));
        let review = Arc::new(crate::review::ReviewDb::for_store(
            store.as_ref(),
            config.database.is_postgres(),
            &config.data_dir,
        ));
        let password_gate = Arc::new(WorkGate::per_core(
            "password",
            config.http.max_queued_password_checks,
        ));
        let decode_gate = Arc::new(WorkGate::per_core(
            "image",
            config.http.max_queued_image_decodes,
        ));
        let public = Arc::new(crate::public::Public::new(
            &config.public,
            keys.public_form_key().clone(),
        ));
        let geocoder = Arc::new(crate::geocode::Geocoder::new(&config.geocoding));
        Self {
            public,
            geocoder,
            auth: Authenticator::new(store.clone(), Arc::new(keys)),
            config: Arc::new(config),
            store,
            metrics: Arc::new(Metrics::new()),
            login_limiter,
            shutdown: Shutdown::new(),
            blobs,
            review,
            password_gate,
            decode_gate,
            mail: Arc::new(crate::mail::worker::MailHandle::new(mailer)),
            scope_clock: crate::sync::scope::ScopeClock::default(),
        }
    }

    /// Runs blocking storage work on the blocking pool, handing it the store:
    /// [`blocking`] with the task's own error kept apart from a panic or
    /// cancellation ([`BlockingError`]), for callers whose error type has no
    /// conversion from [`JoinError`] (login and tokens, readiness).
    pub async fn blocking<T, E>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, BlockingError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let store = self.store.clone();
        blocking(move || f(store.as_ref()).map_err(BlockingError::Inner)).await
    }
}

/// A blocking task failed: its own error, or it panicked / was cancelled.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError<E> {
    /// The task's error.
    #[error(transparent)]
    Inner(E),
    /// The task panicked or was cancelled.
    #[error("blocking task failed")]
    Join(#[source] JoinError),
}

impl<E> From<JoinError> for BlockingError<E> {
    fn from(e: JoinError) -> Self {
        BlockingError::Join(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::blobs::BlobStore;
    use crate::config::BlobsConfig;
    use crate::review::ReviewDb;
    use crate::storage::{SqliteStore, connection_settings};

    /// What SQLite reports for a connection opened with the one pragma
    /// list: WAL, synchronous=FULL (2), foreign keys on, secure delete on,
    /// a busy timeout of 5 s.
    fn the_one_list() -> Vec<(&'static str, String)> {
        [
            ("journal_mode", "wal"),
            ("synchronous", "2"),
            ("foreign_keys", "1"),
            ("secure_delete", "1"),
            ("busy_timeout", "5000"),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.to_owned()))
        .collect()
    }

    fn review_settings(review: &ReviewDb) -> Vec<(&'static str, String)> {
        review
            .with_conn(|c| Ok::<_, rusqlite::Error>(connection_settings(c)))
            .expect("review connection")
    }

    /// The three pools on the SQLite file, as the application state makes
    /// them: the store (writer and readers), the photo table, and the
    /// review, admin and mail queries.
    #[test]
    fn a_connection_of_each_pool_runs_with_the_one_pragma_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("store");
        let (writer, reader) = store.connection_settings();
        assert_eq!(writer, the_one_list(), "store writer");
        assert_eq!(reader, the_one_list(), "store reader");
        let blobs = BlobStore::new(dir.path(), BlobsConfig::default());
        assert_eq!(blobs.connection_settings(), the_one_list(), "photos");
        let review = ReviewDb::in_dir(dir.path());
        assert_eq!(review_settings(&review), the_one_list(), "review");
    }

    /// A pool that opens the file before the store does gets the whole
    /// list too, WAL included (which only the store used to set).
    #[test]
    fn a_pool_that_opens_the_file_first_gets_the_whole_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let review = ReviewDb::in_dir(dir.path());
        assert_eq!(review_settings(&review), the_one_list(), "review");
        let other = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::new(other.path(), BlobsConfig::default());
        assert_eq!(blobs.connection_settings(), the_one_list(), "photos");
    }
}
