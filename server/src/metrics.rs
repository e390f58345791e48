//! Prometheus metrics (`GET /metrics`, text format).
//!
//! One [`Metrics`] lives in the application state; the sync layer updates
//! the sync-related ones:
//! `wijklog_sync_connections` (gauge: `inc()` on auth, `dec()` on close),
//! `wijklog_changes_committed_total` (counter: `inc_by(n)` per commit),
//! `wijklog_commit_latency_seconds` (histogram: one observation per group commit),
//! `wijklog_commit_batch_size` (histogram: documents per group commit),
//! `wijklog_errors_total{code}` (counter per error code sent to clients, REST and sync),
//! `wijklog_login_failures_total` (counter),
//! `wijklog_sync_work_seconds_total{phase}` (counter: time the sync sessions
//! spent on client frames (`frame`), on live pushes (`push`), on commit
//! results and acks (`ack`), and inside those on projecting documents
//! (`project`)), `wijklog_sync_pushes_total` (live updates a connection
//! handled) and `wijklog_sync_pushes_coalesced_total` (live updates folded
//! into another push of the same document or skipped as the connection's own),
//! `wijklog_sync_messages_generated_total` and
//! `wijklog_sync_messages_shared_total` (sync messages of stored documents
//! generated, and handed on to a connection in the same sync state instead),
//! `wijklog_sync_cached_documents` (gauge: documents in the sync cache).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `code` label of `wijklog_errors_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The stable error code (`forbidden`, `too_large`, ...).
    pub code: String,
}

/// The `phase` label of `wijklog_sync_work_seconds_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// `frame`, `push`, `ack` or `project`.
    pub phase: &'static str,
}

/// A counter of seconds.
pub type SecondsCounter = Counter<f64, std::sync::atomic::AtomicU64>;

/// All metrics of the server and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open, authenticated sync connections.
    pub sync_connections: Gauge,
    /// Changes newly stored (duplicates not counted).
    pub changes_committed: Counter,
    /// Duration of each group commit, seconds.
    pub commit_latency: Histogram,
    /// Documents written per group commit.
    pub commit_batch_size: Histogram,
    /// Errors sent to clients, by code.
    pub errors: Family<ErrorLabels, Counter>,
    /// Failed logins (wrong password, unknown user, rate limited, disabled).
    pub login_failures: Counter,
    /// Time spent by sync sessions, by phase.
    pub sync_work: Family<PhaseLabels, SecondsCounter>,
    /// Live updates handled by connections.
    pub sync_pushes: Counter,
    /// Live updates coalesced away.
    pub sync_pushes_coalesced: Counter,
    /// Sync messages of stored documents generated.
    pub sync_messages_generated: Counter,
    /// Sync messages handed on to a connection in the same sync state
    /// instead of being generated again.
    pub sync_messages_shared: Counter,
    /// Documents in the sync cache.
    pub sync_cached_documents: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wijklog");
        let sync_connections = Gauge::default();
        let changes_committed = Counter::default();
        let commit_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        let errors = Family::<ErrorLabels, Counter>::default();
        let login_failures = Counter::default();
        let sync_work = Family::<PhaseLabels, SecondsCounter>::default();
        let sync_pushes = Counter::default();
        let sync_pushes_coalesced = Counter::default();
        let sync_messages_generated = Counter::default();
        let sync_messages_shared = Counter::default();
        registry.register(
            "sync_messages_generated",
            "Sync messages of stored documents generated",
            sync_messages_generated.clone(),
        );
        registry.register(
            "sync_messages_shared",
            "Sync messages handed on to a connection in the same sync state instead of generated",
            sync_messages_shared.clone(),
        );
        let sync_cached_documents = Gauge::default();
        registry.register(
            "sync_cached_documents",
            "Documents held in the sync server's cache",
            sync_cached_documents.clone(),
        );
        registry.register(
            "sync_work_seconds",
            "Time sync sessions spent, by phase (frame, push, ack, project)",
            sync_work.clone(),
        );
        registry.register(
            "sync_pushes",
            "Live updates handled by sync connections",
            sync_pushes.clone(),
        );
        registry.register(
            "sync_pushes_coalesced",
            "Live updates folded into another push or skipped as the connection's own",
            sync_pushes_coalesced.clone(),
        );
        registry.register(
            "sync_connections",
            "Open authenticated sync connections",
            sync_connections.clone(),
        );
        registry.register(
            "changes_committed",
            "Automerge changes newly stored",
            changes_committed.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Duration of one group commit",
            commit_latency.clone(),
        );
        registry.register(
            "commit_batch_size",
            "Documents written per group commit",
            commit_batch_size.clone(),
        );
        registry.register("errors", "Errors sent to clients, by code", errors.clone());
        registry.register(
            "login_failures",
            "Failed login attempts",
            login_failures.clone(),
        );
        Self {
            registry,
            sync_connections,
            changes_committed,
            commit_latency,
            commit_batch_size,
            errors,
            login_failures,
            sync_work,
            sync_pushes,
            sync_pushes_coalesced,
            sync_messages_generated,
            sync_messages_shared,
            sync_cached_documents,
        }
    }

    /// Adds `elapsed` to a sync phase.
    pub fn add_sync_work(&self, phase: &'static str, elapsed: std::time::Duration) {
        self.sync_work
            .get_or_create(&PhaseLabels { phase })
            .inc_by(elapsed.as_secs_f64());
    }

    /// Counts one error sent to a client.
    pub fn count_error(&self, code: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                code: code.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_metric_with_its_value() {
        let m = Metrics::new();
        m.sync_connections.inc();
        m.changes_committed.inc_by(3);
        m.count_error("too_large");
        m.login_failures.inc();
        m.commit_batch_size.observe(4.0);
        m.add_sync_work("push", std::time::Duration::from_millis(250));
        m.sync_pushes.inc_by(2);
        let text = m.encode().expect("encode");
        assert!(
            text.contains("wijklog_sync_work_seconds_total{phase=\"push\"} 0.25"),
            "{text}"
        );
        assert!(text.contains("wijklog_sync_pushes_total 2"));
        assert!(text.contains("wijklog_sync_connections 1"));
        assert!(text.contains("wijklog_changes_committed_total 3"));
        assert!(text.contains("wijklog_errors_total{code=\"too_large\"} 1"));
        assert!(text.contains("wijklog_login_failures_total 1"));
        assert!(text.contains("wijklog_commit_batch_size_count 1"));
        assert!(text.contains("wijklog_commit_latency_seconds_bucket"));
    }
}
