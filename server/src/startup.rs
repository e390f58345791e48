//! Builds the application: opens the store, loads the JWT secret, seeds the
//! catalog, binds the listener and registers the routes.
//!
//! [`Application::build`] binds at once (port 0 picks a free port; see
//! [`Application::port`]) and returns; [`Application::run_until_stopped`]
//! serves until SIGTERM/Ctrl-C or [`crate::shutdown::Shutdown::trigger`],
//! then shuts down gracefully (see [`crate::shutdown`]).
//!
//! Sync layer seam: `register_sync` below is where `crate::sync` adds its
//! routes and long-lived services (built once here, outside
//! `HttpServer::new`, from the [`AppState`]).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::edge::http::Edge;
use crate::routes;
use crate::routes::static_files::{self, StaticDir};
use crate::state::AppState;
use crate::storage::{PgStore, SqliteStore, Store};

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the store the configuration names ([`open_store`]) and builds
    /// the server.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let opened = config.clone();
        let store = tokio::task::spawn_blocking(move || open_store(&opened))
            .await
            .context("opening the database")??;
        Self::build_with_store(config, store).await
    }

    /// Builds the server on a given store (tests, other backends).
    pub async fn build_with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let secret = crate::auth::secret::load_or_create(&config)?;
        let keys = JwtKeys::new(
            &secret,
            config.auth.access_ttl_secs,
            config.auth.leeway_secs,
        )
        .context("building the JWT keys")?;
        drop(secret);
        let state = AppState::new(config, store, keys);
        let postgres = state.config.database.is_postgres();
        if postgres {
            tracing::warn!(
                "on PostgreSQL this version serves sync, accounts, photos, health, erasure, \
                 retention, review, statistics and exports; mail, admin pages, the people list \
                 and the residents' endpoints answer 503 sqlite_only (docs/operations.md)"
            );
        }
        // On PostgreSQL one node at a time collects (`Singleton::BlobGc`).
        crate::blobs::gc::spawn_periodic(state.blobs.clone(), state.shutdown.clone());

        {
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || crate::seed::seed_catalog(store.as_ref()))
                .await
                .context("seeding the catalog")??;
        }

        // Walks and sessions stored before schedules were kept get theirs
        // once, in the background (the sync scope reads them).
        {
            let store = state.store.clone();
            actix_web::rt::spawn(async move {
                match tokio::task::spawn_blocking(move || {
                    crate::sync::scope::backfill_schedules(store.as_ref())
                })
                .await
                {
                    Ok(Ok(r)) if r.stored > 0 => tracing::info!(
                        stored = r.stored,
                        unreadable = r.unreadable,
                        "sync scope: schedules of older documents stored"
                    ),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "sync scope: the schedule backfill failed; it runs again at the next start")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "sync scope: the schedule backfill stopped")
                    }
                }
            });
        }

        crate::compaction::spawn_periodic(
            state.store.clone(),
            Duration::from_secs(state.config.compaction.interval_secs),
            state.config.compaction.min_changes,
            state.shutdown.clone(),
        );

        let listener = TcpListener::bind(&state.config.bind)
            .with_context(|| format!("binding {}", state.config.bind))?;
        let port = listener.local_addr()?.port();
        static_files::check_dir(&state.config.static_dir);
        let sync = crate::sync::SyncService::start(crate::sync::SyncApp {
            config: state.config.clone(),
            store: state.store.clone(),
            auth: state.auth.clone(),
            metrics: state.metrics.clone(),
            shutdown: state.shutdown.clone(),
            scope_clock: state.scope_clock.clone(),
        });
        if !postgres {
            crate::mail::worker::spawn(sync.clone(), state.mail.clone(), state.review.clone());
            // Residents' points follow the "bekeken" marks in their walks.
            crate::public::agenda::spawn_follower(
                sync.clone(),
                state.review.clone(),
                state.mail.clone(),
            );
        }
        // On one node at a time (`Singleton::Retention`).
        crate::retention::spawn_periodic(
            crate::erasure::Eraser::of(&sync),
            state.blobs.clone(),
            &state.config.retention,
            state.shutdown.clone(),
        );
        let server = run(listener, state.clone(), sync)?;
        tracing::info!(address = %listener_display(&state.config.bind, port), "listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (store, metrics, shutdown signal, ...).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until a signal or a triggered shutdown, then stops gracefully:
    /// 1. the shutdown signal is triggered (the sync layer finishes its
    ///    in-flight commit and closes sockets with 1001 `shutting_down`);
    /// 2. waits for all [`crate::shutdown::ShutdownGuard`]s (bounded by
    ///    `shutdown_timeout_secs`);
    /// 3. stops the HTTP server (no new connections; in-flight requests finish).
    ///
    /// SIGTERM and Ctrl-C are listened for from this call on, not from the
    /// first poll of the returned server: a caller that announces its port
    /// after this call cannot be stopped by a signal's default action (an
    /// exit without the graceful shutdown). Call it inside the runtime.
    pub fn run_until_stopped(self) -> actix_web::dev::Server {
        let signals = listen_for_signals();
        let handle = self.server.handle();
        let shutdown = self.state.shutdown.clone();
        let timeout = Duration::from_secs(self.state.config.shutdown_timeout_secs);
        actix_web::rt::spawn(async move {
            tokio::select! {
                _ = wait_for_signal(signals) => tracing::info!("shutdown signal received"),
                _ = shutdown.triggered() => tracing::info!("shutdown requested"),
            }
            shutdown.trigger();
            if !shutdown.wait_drained(timeout).await {
                tracing::warn!("shutdown: some tasks did not finish in time");
            }
            handle.stop(true).await;
            tracing::info!("server stopped");
        });
        self.server
    }
}

/// Connects to (and migrates) the PostgreSQL database of `database.url`;
/// the error names it without its password. Blocks.
pub fn open_postgres(config: &Config) -> anyhow::Result<PgStore> {
    PgStore::connect(
        &config.database.url,
        crate::storage::PgOptions::from_config(&config.database),
    )
    .with_context(|| {
        format!(
            "opening the database {}",
            crate::storage::redact_url(&config.database.url)
        )
    })
}

/// Opens (and migrates) the store the configuration names: PostgreSQL when
/// `database.url` is set, else SQLite in `data_dir`. Blocks: call it from a
/// blocking thread.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if config.database.is_postgres() {
        Ok(Arc::new(open_postgres(config)?))
    } else {
        let store = SqliteStore::open_in_dir(&config.data_dir)
            .with_context(|| format!("opening the database in {}", config.data_dir.display()))?;
        Ok(Arc::new(store))
    }
}

fn listener_display(bind: &str, port: u16) -> String {
    match bind.rsplit_once(':') {
        Some((host, _)) => format!("http://{host}:{port}"),
        None => format!("http://{bind}"),
    }
}

/// SIGTERM and SIGINT listeners, registered when made (`None`: they could
/// not be, and Ctrl-C is waited for the portable way).
#[cfg(unix)]
type Signals = Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>;
#[cfg(not(unix))]
type Signals = ();

fn listen_for_signals() -> Signals {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        Some((
            signal(SignalKind::terminate()).ok()?,
            signal(SignalKind::interrupt()).ok()?,
        ))
    }
}

async fn wait_for_signal(signals: Signals) {
    #[cfg(unix)]
    if let Some((mut term, mut interrupt)) = signals {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
        return;
    }
    let _ = signals;
    let _ = tokio::signal::ctrl_c().await;
}

/// Registers the sync layer's routes. The sync module adds itself here.
fn register_sync(cfg: &mut web::ServiceConfig, sync: &web::Data<crate::sync::SyncService>) {
    crate::sync::configure(cfg, sync.clone());
}

fn run(
    listener: TcpListener,
    state: AppState,
    sync: crate::sync::SyncService,
) -> anyhow::Result<Server> {
    let data = web::Data::new(state.clone());
    // The caller extractor (crate::edge::caller) reads the authenticator alone.
    let authenticator = web::Data::new(state.auth.clone());
    let static_dir = web::Data::new(StaticDir(state.config.static_dir.clone()));
    let shutdown_timeout = state.config.shutdown_timeout_secs;
    let sync = web::Data::new(sync);
    let http = state.config.http.clone();
    let edge = web::Data::new(Edge::new(&http));
    let tile_url = state.config.map.tile_url.clone();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let max_connections = connection_cap(http.max_connections);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(edge.clone())
            // Per-address request cap and body timeouts (crate::edge::http).
            .wrap(from_fn(crate::edge::http::guard))
            // gzip/br/zstd by Accept-Encoding for the app shell and JSON;
            // actix leaves images (the photos), 101 upgrades (the sync
            // WebSocket) and already-encoded bodies alone.
            .wrap(Compress::default())
            .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
            // Outermost: every answer, errors of the layers above included.
            .wrap(crate::edge::http::security_headers(&tile_url))
            // Every /api/ answer, errors of every layer included: no-store
            // unless the route chose its own caching.
            .wrap(from_fn(crate::edge::http::api_no_store))
            .app_data(data.clone())
            .app_data(authenticator.clone())
            .app_data(static_dir.clone())
            .configure(routes::configure)
            .configure(|cfg| register_sync(cfg, &sync))
            .route("/{tail:.*}", web::get().to(static_files::serve))
            .default_service(web::to(static_files::not_found))
    })
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .workers(workers)
    // actix counts connections per worker.
    .max_connections(max_connections.div_ceil(workers).max(1))
    .client_request_timeout(Duration::from_secs(http.header_timeout_secs))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(http.keep_alive_secs))
    .listen(listener)?
    .run();
    Ok(server)
}

/// Descriptors kept free for the database, photos, logs and the listener.
const RESERVED_FDS: u64 = 256;

/// The connection cap actually applied: `configured`, but never more than
/// the process's file-descriptor limit allows (each connection is one
/// descriptor; running out of them stalls every client). The soft limit is
/// first raised to the hard limit.
fn connection_cap(configured: usize) -> usize {
    let Some(fds) = raise_fd_limit() else {
        return configured;
    };
    let allowed = usize::try_from(fds.saturating_sub(RESERVED_FDS))
        .unwrap_or(usize::MAX)
        .max(16);
    if configured > allowed {
        tracing::warn!(
            configured,
            allowed,
            fd_limit = fds,
            "http.max_connections is above what the file-descriptor limit allows; using the lower value (raise `ulimit -n` / LimitNOFILE)"
        );
        allowed
    } else {
        configured
    }
}

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; the soft limit in
/// effect afterwards (`None` where there is no such limit).
fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim = raised;
                }
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
