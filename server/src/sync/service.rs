//! The long-lived sync services, built once per server (outside the
//! `HttpServer::new` closure): the document cache, the live hub and the
//! group committer, plus [`ServerContext`], the [`SyncContext`] the sessions
//! use.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use automerge::{ActorId, Automerge};
use tokio::sync::mpsc;
use tracing::error;

use super::cache::{CacheLimits, DocCache};
use super::committer::{BatchLimits, CommitObserver, Committer, QueuedWrite};
use super::core::{CachedDoc, CommitJob, ConnId, ContextError, Event, SyncContext, Ticket};
use super::hub::Hub;
use super::limits::SyncLimits;
use super::projection;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::{DocId, Principal, UserId};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::storage::{DocMeta, ProjectionRow, Store, Subscribed, SubscriptionBound};

/// The parts of the application the sync server uses, handed over by
/// `crate::startup` from the application state (so sync does not depend
/// on the state, which holds the layers built on sync).
#[derive(Debug, Clone)]
pub struct SyncApp {
    /// The configuration in effect.
    pub config: Arc<Config>,
    /// The storage backend. Blocking.
    pub store: Arc<dyn Store>,
    /// Token verification for the `auth` frame and the session checks.
    pub auth: Authenticator,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Graceful shutdown signal.
    pub shutdown: Shutdown,
    /// The clock of the sync scope rule (tests move it forward).
    pub scope_clock: super::scope::ScopeClock,
}

/// Everything the sync connections share.
#[derive(Clone)]
pub struct SyncService {
    /// The parts of the application sync uses (store, auth, metrics,
    /// shutdown, config).
    pub app: SyncApp,
    /// Limits and timings.
    pub limits: SyncLimits,
    /// The document cache.
    pub cache: Arc<DocCache>,
    /// The live hub.
    pub hub: Hub,
    /// The group committer.
    pub committer: Committer,
    next_conn: Arc<AtomicU64>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

struct MetricsObserver(Arc<Metrics>);

impl CommitObserver for MetricsObserver {
    fn batch_committed(&self, writes: usize, inserted: usize, elapsed: Duration) {
        self.0.changes_committed.inc_by(inserted as u64);
        self.0.commit_latency.observe(elapsed.as_secs_f64());
        self.0.commit_batch_size.observe(writes as f64);
    }
    fn batch_failed(&self, writes: usize) {
        self.0.commit_batch_size.observe(writes as f64);
    }
    fn projected(&self, elapsed: Duration) {
        self.0.add_sync_work("project", elapsed);
    }
}

impl SyncService {
    /// Builds the services and starts the group committer on the current
    /// runtime. Call once, outside `HttpServer::new`.
    pub fn start(app: SyncApp) -> Self {
        let limits = SyncLimits::from_config(&app.config);
        let cache = Arc::new(DocCache::with_limits(
            app.store.clone(),
            CacheLimits {
                max_documents: app.config.cache.max_documents,
                max_bytes: app.config.cache.max_bytes,
            },
            Some(app.metrics.sync_cached_documents.clone()),
        ));
        let hub = Hub::new(4096);
        let (committer, _task) = Committer::start(
            app.store.clone(),
            cache.clone(),
            hub.clone(),
            BatchLimits {
                max_delay: limits.commit_max_delay,
                max_batch: limits.commit_max_batch,
                max_bytes: limits.commit_max_bytes,
            },
            Arc::new(MetricsObserver(app.metrics.clone())),
        );
        super::scope::spawn_lapsed_subscriptions_job(
            app.store.clone(),
            app.config.sync.clone(),
            app.scope_clock.clone(),
            app.shutdown.clone(),
        );
        if let Some(remote) = app.store.remote_changes() {
            super::remote::spawn(remote, app.store.clone(), cache.clone(), hub.clone());
        }
        Self {
            app,
            limits,
            cache,
            hub,
            committer,
            next_conn: Arc::new(AtomicU64::new(1)),
        }
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.app.store
    }
}

/// The [`SyncContext`] of one connection: the shared services plus the
/// channel that brings commit results back to this connection.
pub struct ServerContext {
    service: SyncService,
    conn: ConnId,
    events: mpsc::UnboundedSender<Event>,
}

impl ServerContext {
    /// The context of connection `conn`; commit results arrive on `events`.
    pub fn new(service: SyncService, conn: ConnId, events: mpsc::UnboundedSender<Event>) -> Self {
        Self {
            service,
            conn,
            events,
        }
    }
}

impl ServerContext {
    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.service.app.metrics
    }
}

impl SyncContext for ServerContext {
    fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, ContextError> {
        self.service.cache.open(id).map_err(|e| {
            error!(doc = %id, error = ?e, "loading a document failed");
            ContextError
        })
    }

    fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>> {
        self.service.cache.insert_new(doc)
    }

    fn evict(&self, doc: &CachedDoc) {
        self.service.cache.evict(doc);
    }

    fn next_generation(&self) -> u64 {
        self.service.cache.next_generation()
    }

    fn actor_owner(&self, actor: &ActorId) -> Result<Option<UserId>, ContextError> {
        self.service
            .store()
            .actor_owner(actor.to_bytes())
            .map_err(|e| {
                error!(error = ?e, "reading an actor binding failed");
                ContextError
            })
    }

    fn docs_owned_by(&self, user: &UserId) -> Result<u64, ContextError> {
        self.service.store().docs_owned_by(user).map_err(|e| {
            error!(error = ?e, "counting a user's documents failed");
            ContextError
        })
    }

    fn project(
        &self,
        meta: &DocMeta,
        doc: &Automerge,
        authors: &HashMap<ActorId, UserId>,
    ) -> Option<Vec<ProjectionRow>> {
        let started = std::time::Instant::now();
        let rows = projection::rows_with_authors(meta, doc, authors, self.service.store().as_ref());
        self.metrics().add_sync_work("project", started.elapsed());
        rows
    }

    fn now_ms(&self) -> i64 {
        self.service.app.scope_clock.now_ms()
    }

    fn subscribe(&self, who: &Principal, doc: DocId, at: i64) -> Result<Subscribed, ContextError> {
        let cfg = &self.service.limits.scope;
        let bound = SubscriptionBound {
            live_since: super::scope::bounds(cfg, self.now_ms()).subscribed_since,
            max: cfg.max_subscriptions_per_device,
        };
        self.service
            .store()
            .subscribe(&who.device_id, doc, at, bound)
            .map_err(|e| {
                error!(doc = %doc, error = ?e, "recording a subscription failed");
                ContextError
            })
    }

    fn unsubscribe(&self, who: &Principal, doc: DocId) -> Result<(), ContextError> {
        self.service
            .store()
            .unsubscribe(&who.device_id, doc)
            .map(|_| ())
            .map_err(|e| {
                error!(doc = %doc, error = ?e, "ending a subscription failed");
                ContextError
            })
    }

    fn scope_reason(
        &self,
        who: &Principal,
        doc: DocId,
    ) -> Result<Option<super::scope::Reason>, ContextError> {
        super::scope::reason_for(
            self.service.store().as_ref(),
            who,
            doc,
            self.now_ms(),
            &self.service.limits.scope,
        )
        .map_err(|e| {
            error!(doc = %doc, error = ?e, "checking a document's scope failed");
            ContextError
        })
    }

    fn scope(&self, who: &Principal) -> Result<Option<Vec<DocId>>, ContextError> {
        super::scope::current(
            self.service.store().as_ref(),
            who,
            self.now_ms(),
            &self.service.limits.scope,
        )
        .map(|metas| Some(metas.into_iter().map(|m| m.id).collect()))
        .map_err(|e| {
            error!(error = ?e, "listing the documents in scope failed");
            ContextError
        })
    }

    fn submit(&self, ticket: Ticket, doc: Arc<CachedDoc>, job: CommitJob) {
        let events = self.events.clone();
        self.service.committer.submit(QueuedWrite {
            entry: doc,
            job,
            origin: self.conn,
            reply: Box::new(move |result| {
                // The connection may be gone; then nobody waits for the ack.
                let _ = events.send(Event::Committed { ticket, result });
            }),
        });
    }
}
