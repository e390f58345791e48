//! The group committer: one FIFO task that batches the pending writes of all
//! connections into one [`Store::commit`] transaction, then answers each
//! write and publishes the committed documents on the [`Hub`]: one event
//! per changed document per batch, naming every connection that wrote to it.
//!
//! Ordering: writes reach the queue while their document's lock is held, so
//! the writes to one document are committed in the order they were applied,
//! and a write's heads are covered by what is committed once it succeeds.
//! When a write fails, its cache entry is evicted and poisoned: writes still
//! queued for that entry fail too (their heads could cover the lost changes).
//! A batch's answers go out after every write of it is marked committed, and
//! its live events after the answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{error, warn};

use super::cache::DocCache;
use super::core::{CachedDoc, CommitFailure, CommitJob, ConnId};
use super::hub::{DocEvent, Hub, ScopeFacts};
use crate::storage::{CommitOutcome, DocWrite, Store, StoreError, WriteRejected};

/// Called with the outcome of a write.
pub type Reply = Box<dyn FnOnce(Result<(), CommitFailure>) + Send>;

/// One queued write.
pub struct QueuedWrite {
    /// The cache entry the changes were applied to.
    pub entry: Arc<CachedDoc>,
    /// What to store and the heads it makes durable.
    pub job: CommitJob,
    /// The connection that sent the changes (not notified by the hub).
    pub origin: ConnId,
    /// Receives the outcome.
    pub reply: Reply,
}

impl std::fmt::Debug for QueuedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedWrite")
            .field("doc", &self.job.write.doc_id)
            .field("changes", &self.job.write.changes.len())
            .finish_non_exhaustive()
    }
}

/// Observes commits (metrics).
pub trait CommitObserver: Send + Sync {
    /// A batch of `writes` writes committed in `elapsed`, storing `inserted` changes.
    fn batch_committed(&self, writes: usize, inserted: usize, elapsed: Duration);
    /// A batch failed.
    fn batch_failed(&self, writes: usize);
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// The longest a write waits for others to join its batch.
    pub max_delay: Duration,
    /// The most writes in one batch.
    pub max_batch: usize,
}

/// The handle connections submit writes to.
#[derive(Debug, Clone)]
pub struct Committer {
    tx: mpsc::UnboundedSender<QueuedWrite>,
}

impl Committer {
    /// Starts the committer task on the current tokio runtime. It ends when
    /// every handle is dropped and the queue is drained.
    pub fn start(
        store: Arc<dyn Store>,
        cache: Arc<DocCache>,
        hub: Hub,
        limits: BatchLimits,
        observer: Arc<dyn CommitObserver>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(rx, store, cache, hub, limits, observer));
        (Self { tx }, task)
    }

    /// Queues a write. If the committer is gone, the write fails at once.
    pub fn submit(&self, write: QueuedWrite) {
        if let Err(mpsc::error::SendError(write)) = self.tx.send(write) {
            (write.reply)(Err(CommitFailure::Internal));
        }
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<QueuedWrite>,
    store: Arc<dyn Store>,
    cache: Arc<DocCache>,
    hub: Hub,
    limits: BatchLimits,
    observer: Arc<dyn CommitObserver>,
) {
    let max_batch = limits.max_batch.max(1);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + limits.max_delay;
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if limits.max_delay.is_zero() {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(w)) => batch.push(w),
                        _ => break,
                    }
                }
            }
        }
        commit_batch(batch, &store, &cache, &hub, observer.as_ref()).await;
    }
}

fn needs_store(write: &DocWrite) -> bool {
    // A write from a device goes to the store even without changes: its ack
    // must not be sent if the device was revoked meanwhile.
    write.create.is_some()
        || !write.changes.is_empty()
        || write.projection.is_some()
        || write.device_id.is_some()
}

/// A batch split into the writes whose entry is still live and the store
/// writes they need (see [`commit_batch_blocking`]).
struct Prepared {
    live: Vec<QueuedWrite>,
    writes: Vec<DocWrite>,
}

/// Fails the writes whose entry was evicted (without touching the store)
/// and collects what the others must store.
fn prepare(batch: Vec<QueuedWrite>) -> Prepared {
    let (live, dead): (Vec<_>, Vec<_>) = batch.into_iter().partition(|w| !w.entry.is_poisoned());
    for w in dead {
        (w.reply)(Err(CommitFailure::Internal));
    }
    let writes: Vec<DocWrite> = live
        .iter()
        .filter(|w| needs_store(&w.job.write))
        .map(|w| w.job.write.clone())
        .collect();
    Prepared { live, writes }
}

async fn commit_batch(
    batch: Vec<QueuedWrite>,
    store: &Arc<dyn Store>,
    cache: &DocCache,
    hub: &Hub,
    observer: &dyn CommitObserver,
) {
    let Prepared { live, writes } = prepare(batch);
    let n_writes = writes.len();
    let started = Instant::now();
    let outcome = if writes.is_empty() {
        Ok(None)
    } else {
        let store = store.clone();
        match tokio::task::spawn_blocking(move || {
            let outcome = store.commit(&writes);
            if outcome.is_ok() {
                crate::crashpoint::reached_with(
                    crate::crashpoint::Point::CommitterCommitted,
                    || crate::storage::batch_change_hashes(&writes),
                );
            }
            outcome
        })
        .await
        {
            Ok(Ok(outcome)) => Ok(Some(outcome)),
            Ok(Err(e)) => Err(BatchFailed::from(&e)),
            Err(_) => Err(BatchFailed {
                cause: "commit task panicked".to_owned(),
                failure: CommitFailure::Internal,
            }),
        }
    };
    finish(live, n_writes, outcome, started, cache, hub, observer);
}

/// The same as the committer task does for one batch, on the calling
/// thread: fail the writes of evicted entries, store the rest in one
/// [`Store::commit`], answer each write and publish the changed documents.
/// The deterministic simulation drives the committer through this.
pub fn commit_batch_blocking(
    batch: Vec<QueuedWrite>,
    store: &dyn Store,
    cache: &DocCache,
    hub: &Hub,
    observer: &dyn CommitObserver,
) {
    let Prepared { live, writes } = prepare(batch);
    let n_writes = writes.len();
    let started = Instant::now();
    let outcome = if writes.is_empty() {
        Ok(None)
    } else {
        store
            .commit(&writes)
            .map(Some)
            .map_err(|e| BatchFailed::from(&e))
    };
    finish(live, n_writes, outcome, started, cache, hub, observer);
}

/// Why a whole batch failed: for the log, and what each write is told.
struct BatchFailed {
    cause: String,
    failure: CommitFailure,
}

impl From<&StoreError> for BatchFailed {
    fn from(e: &StoreError) -> Self {
        Self {
            cause: format!("{e:?}"),
            // A full disk is its own answer: the client can tell its user,
            // and tries again later like after any failed commit.
            failure: if e.is_storage_full() {
                CommitFailure::StorageFull
            } else {
                CommitFailure::Internal
            },
        }
    }
}

/// Answers the writes of a batch after the store's outcome.
fn finish(
    live: Vec<QueuedWrite>,
    n_writes: usize,
    outcome: Result<Option<CommitOutcome>, BatchFailed>,
    started: Instant,
    cache: &DocCache,
    hub: &Hub,
    observer: &dyn CommitObserver,
) {
    let mut results = match outcome {
        Err(BatchFailed { cause, failure }) => {
            error!(writes = n_writes, %cause, "group commit failed");
            observer.batch_failed(n_writes);
            for w in live {
                cache.evict(&w.entry);
                (w.reply)(Err(failure));
            }
            return;
        }
        Ok(None) => Vec::new().into_iter(),
        Ok(Some(outcome)) => {
            let inserted = outcome
                .writes
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|a| a.inserted)
                .sum();
            observer.batch_committed(n_writes, inserted, started.elapsed());
            outcome.writes.into_iter()
        }
    };
    // One live event per changed document, published after the whole batch.
    let mut changed_docs: Vec<DocEvent> = Vec::new();
    // Answers go out only once every write of the batch is marked committed:
    // a connection handles its answer at once (on another thread) and syncs
    // from the committed copy, while the batch's live event names it as an
    // origin and so does not reach it. Answered before a later write of the
    // same document was marked, it would never be sent that write's changes.
    let mut replies: Vec<(Reply, Result<(), CommitFailure>)> = Vec::with_capacity(live.len());
    for w in live {
        let stored = if needs_store(&w.job.write) {
            results.next()
        } else {
            None
        };
        let result = match stored {
            None if needs_store(&w.job.write) => Err(CommitFailure::Internal),
            None => Ok(false),
            Some(Ok(applied)) => Ok(applied.inserted > 0 || applied.created),
            Some(Err(rejected)) => {
                warn!(doc = %w.job.write.doc_id, reason = %rejected, "write rejected by the store");
                Err(match rejected {
                    WriteRejected::ActorBoundToOtherUser { .. } => CommitFailure::Forbidden,
                    WriteRejected::UnknownDocument | WriteRejected::CreateConflict => {
                        CommitFailure::Conflict
                    }
                    WriteRejected::SessionRevoked => CommitFailure::Revoked,
                    WriteRejected::Rewritten => CommitFailure::Rewritten,
                })
            }
        };
        // An earlier write of this batch for the same entry may have failed.
        let result = if w.entry.is_poisoned() {
            Err(result.err().unwrap_or(CommitFailure::Internal))
        } else {
            result
        };
        match result {
            Ok(changed) => {
                w.entry.mark_committed(&w.job.heads);
                if changed {
                    let id = w.entry.meta.id;
                    let event = match changed_docs.iter().position(|e| e.doc == id) {
                        Some(i) => &mut changed_docs[i],
                        None => {
                            changed_docs.push(DocEvent {
                                doc: id,
                                kind: w.entry.meta.kind,
                                team: w.entry.meta.team.clone(),
                                origins: Vec::new(),
                                scope: ScopeFacts {
                                    owner: Some(w.entry.meta.owner.clone()),
                                    created_at: w.entry.meta.created_at,
                                    ..ScopeFacts::default()
                                },
                            });
                            changed_docs.last_mut().expect("just pushed")
                        }
                    };
                    if !event.origins.contains(&w.origin) {
                        event.origins.push(w.origin);
                    }
                    if !event.scope.writers.contains(&w.job.write.user_id) {
                        event.scope.writers.push(w.job.write.user_id.clone());
                    }
                    if let Some(schedule) = &w.job.write.schedule {
                        event.scope.schedule = Some(schedule.clone());
                    }
                }
                replies.push((w.reply, Ok(())));
            }
            Err(failure) => {
                cache.evict(&w.entry);
                replies.push((w.reply, Err(failure)));
            }
        }
    }
    for (reply, result) in replies {
        reply(result);
    }
    for event in changed_docs {
        hub.publish(event);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ChangeHash, ROOT};
    use wijklog_shared::{DocId, DocKind, UserId};

    use super::*;
    use crate::storage::{NewChange, SqliteStore};

    /// What each connection's answer saw: its id and the committed heads.
    type Seen = Arc<Mutex<Vec<(ConnId, Vec<ChangeHash>)>>>;

    struct NoObserver;
    impl CommitObserver for NoObserver {
        fn batch_committed(&self, _: usize, _: usize, _: Duration) {}
        fn batch_failed(&self, _: usize) {}
    }

    fn user(name: &str) -> UserId {
        UserId::parse(name).expect("user")
    }

    /// A walk in the store, and its cache entry.
    fn stored_walk(store: &Arc<dyn Store>, cache: &DocCache) -> Arc<CachedDoc> {
        let id = DocId::new_v4();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "kind", "walk").expect("put");
        doc.put(ROOT, "title", "Stad en Lande").expect("put");
        doc.commit();
        let write = DocWrite::creating(
            id,
            DocKind::Walk,
            &user("anna"),
            Some("oost"),
            doc.document(),
        );
        store.commit(&[write]).expect("commit");
        cache.open(id).expect("open").expect("exists")
    }

    /// Applies a change of a new actor to the shared copy, as a connection
    /// does, and queues its write; the reply records the committed heads the
    /// connection would sync from when it handles the answer.
    fn apply(
        entry: &Arc<CachedDoc>,
        who: &str,
        key: &str,
        origin: ConnId,
        seen: &Seen,
    ) -> (QueuedWrite, ChangeHash) {
        let mut inner = entry.lock().expect("lock");
        let before = inner.doc.get_heads();
        inner.doc.set_actor(automerge::ActorId::random());
        let mut tx = inner.doc.transaction();
        tx.put(ROOT, key, who).expect("put");
        let hash = tx.commit().0.expect("a change");
        let changes = inner
            .doc
            .get_changes(&before)
            .iter()
            .map(NewChange::from_change)
            .collect();
        let heads = inner.doc.get_heads();
        drop(inner);
        let (seen, probe) = (seen.clone(), entry.clone());
        let write = QueuedWrite {
            entry: entry.clone(),
            job: CommitJob {
                write: DocWrite {
                    epoch: None,
                    doc_id: entry.meta.id,
                    user_id: user(who),
                    device_id: None,
                    create: None,
                    changes,
                    projection: None,
                    schedule: None,
                },
                heads,
            },
            origin,
            reply: Box::new(move |result| {
                result.expect("committed");
                let heads = probe.committed_heads().expect("heads");
                seen.lock().expect("seen").push((origin, heads));
            }),
        };
        (write, hash)
    }

    #[test]
    fn every_answer_of_a_batch_comes_after_the_whole_batch_is_committed() {
        // Two phones' changes to one walk commit in one batch. The batch's
        // live event names both as origins, so neither is pushed the other's
        // change: each syncs from the committed copy when it handles its
        // answer. Answered before the second write was marked committed, the
        // first phone synced from a copy without it and never got it (seen
        // in a browser test: the phone said "alles verstuurd" and lacked the
        // other phone's edits for good).
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let cache = DocCache::new(store.clone());
        let hub = Hub::new(16);
        let mut live = hub.subscribe();
        let entry = stored_walk(&store, &cache);
        let seen: Seen = Arc::default();
        let (first, a) = apply(&entry, "anna", "a", 1, &seen);
        let (second, b) = apply(&entry, "bram", "b", 2, &seen);
        assert_ne!(a, b);

        commit_batch_blocking(
            vec![first, second],
            store.as_ref(),
            &cache,
            &hub,
            &NoObserver,
        );

        let seen = seen.lock().expect("seen").clone();
        assert_eq!(seen.len(), 2, "both writes answered");
        // Bram's change was made on top of Anna's: committed, the walk's heads are Bram's change.
        for (origin, heads) in &seen {
            assert_eq!(
                heads,
                &vec![b],
                "connection {origin} was answered before the batch was committed"
            );
        }
        let event = live.try_recv().expect("one live event");
        assert_eq!(event.origins, vec![1, 2]);
    }
}
