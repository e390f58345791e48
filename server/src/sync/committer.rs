//! The group committer: one FIFO task that batches the pending writes of all
//! connections into one [`Store::commit`] transaction, then answers each
//! write and publishes the committed documents on the [`Hub`]: one event
//! per changed document per batch, naming every connection that wrote to it.
//!
//! Projection: a write to a known document carries no projection rows
//! ([`CommitJob::project`]); the committer makes them once per document
//! and batch, at the heads of the batch's last write to it, from a copy
//! taken under the document's lock (the lock is held only for the copy).
//! Each projection is the whole document's, so the last one is all the
//! store needs; 200 writes to one walk in a batch cost one projection, not
//! 200 projections of a growing walk under its lock.
//!
//! Batches are bounded by count ([`BatchLimits::max_batch`]) and by the
//! bytes of their changes ([`BatchLimits::max_bytes`]), so one large batch
//! does not hold up the answers of the writes queued behind it.
//!
//! Ordering: writes reach the queue while their document's lock is held, so
//! the writes to one document are committed in the order they were applied,
//! and a write's heads are covered by what is committed once it succeeds.
//! When a write fails, its cache entry is evicted and poisoned: writes still
//! queued for that entry fail too (their heads could cover the lost changes).
//! A batch's answers go out after every write of it is marked committed, and
//! its live events after the answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::cache::DocCache;
use super::core::{CachedDoc, CommitFailure, CommitJob, ConnId};
use super::hub::{DocEvent, Hub, ScopeFacts};
use crate::storage::{CommitOutcome, DocWrite, ProjectionRow, Store, StoreError, WriteRejected};

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
    /// The projections of a batch took `elapsed`.
    fn projected(&self, _elapsed: Duration) {}
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// The longest a write waits for others to join its batch.
    pub max_delay: Duration,
    /// The most writes in one batch.
    pub max_batch: usize,
    /// The most bytes of changes in one batch (a single larger write is a
    /// batch of its own).
    pub max_bytes: usize,
}

/// The bytes of changes a write stores.
fn write_bytes(w: &QueuedWrite) -> usize {
    w.job.write.changes.iter().map(|c| c.bytes.len()).sum()
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
    // A write taken from the queue that did not fit the batch before it.
    let mut carried: Option<QueuedWrite> = None;
    loop {
        let first = match carried.take() {
            Some(w) => w,
            None => match rx.recv().await {
                Some(w) => w,
                None => break,
            },
        };
        let mut bytes = write_bytes(&first);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + limits.max_delay;
        while batch.len() < max_batch && bytes < limits.max_bytes {
            let next = match rx.try_recv() {
                Ok(w) => w,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if limits.max_delay.is_zero() {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(w)) => w,
                        _ => break,
                    }
                }
            };
            let more = write_bytes(&next);
            if bytes + more > limits.max_bytes {
                carried = Some(next);
                break;
            }
            bytes += more;
            batch.push(next);
        }
        commit_batch(batch, &store, &cache, &hub, &observer).await;
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

/// A batch split into the writes whose entry is still live, the store
/// writes they need and the projections to make for them (see
/// [`commit_batch_blocking`]).
struct Prepared {
    live: Vec<QueuedWrite>,
    writes: Vec<DocWrite>,
    projections: Vec<Projection>,
}

/// A projection the committer makes: of `entry`'s document at `heads`
/// (those of the batch's last write to it), carried by `writes[write]`.
struct Projection {
    entry: Arc<CachedDoc>,
    heads: Vec<ChangeHash>,
    write: usize,
}

/// Fails the writes whose entry was evicted (without touching the store)
/// and collects what the others must store, and the projections to make:
/// one per document whose writes in the batch ask for one, carried by its
/// last write.
fn prepare(batch: Vec<QueuedWrite>) -> Prepared {
    let (live, dead): (Vec<_>, Vec<_>) = batch.into_iter().partition(|w| !w.entry.is_poisoned());
    for w in dead {
        (w.reply)(Err(CommitFailure::Internal));
    }
    let (writes, projections) = plan(&live);
    Prepared {
        live,
        writes,
        projections,
    }
}

/// The store writes of `live` writes and the projections to make for them.
fn plan<'a>(live: impl IntoIterator<Item = &'a QueuedWrite>) -> (Vec<DocWrite>, Vec<Projection>) {
    let mut writes: Vec<DocWrite> = Vec::new();
    // Per cache entry: its last store write (its index in `writes`, the
    // write) and whether any of its writes asks for a projection.
    let mut last: HashMap<*const CachedDoc, (usize, &QueuedWrite, bool)> = HashMap::new();
    for w in live {
        if !needs_store(&w.job.write) {
            continue;
        }
        let at = writes.len();
        writes.push(w.job.write.clone());
        let slot = last.entry(Arc::as_ptr(&w.entry)).or_insert((at, w, false));
        slot.0 = at;
        slot.1 = w;
        slot.2 |= w.job.project;
    }
    let mut projections: Vec<Projection> = last
        .into_values()
        .filter(|&(at, _, project)| project && writes[at].projection.is_none())
        .map(|(at, w, _)| Projection {
            entry: w.entry.clone(),
            heads: w.job.heads.clone(),
            write: at,
        })
        .collect();
    projections.sort_by_key(|p| p.write);
    (writes, projections)
}

/// Stores the writes of `batch` whose entry is live as the committer does
/// (projections included) and answers none of them: what is on disk when
/// the process dies right after a commit (the deterministic simulation).
pub fn store_without_answers(
    batch: &[QueuedWrite],
    store: &dyn Store,
) -> Result<CommitOutcome, StoreError> {
    let (mut writes, projections) = plan(batch.iter().filter(|w| !w.entry.is_poisoned()));
    store_batch(&projections, &mut writes, store, &NoObserver)
}

/// Observes nothing.
struct NoObserver;

impl CommitObserver for NoObserver {
    fn batch_committed(&self, _: usize, _: usize, _: Duration) {}
    fn batch_failed(&self, _: usize) {}
}

/// The projection rows of `entry`'s document at `heads`: copied under its
/// lock, projected without it (sessions wait for that lock). `None` if the
/// document cannot be projected (then the store keeps its rows).
fn project_at(
    entry: &CachedDoc,
    heads: &[ChangeHash],
    store: &dyn Store,
) -> Option<Vec<ProjectionRow>> {
    let (doc, authors) = {
        let inner = entry.lock().ok()?;
        (inner.doc.clone(), inner.authors.clone())
    };
    // Later writes may have been applied since: project only what this
    // batch stores.
    let doc = if doc.get_heads() == heads {
        doc
    } else {
        match doc.fork_at(heads) {
            Ok(doc) => doc,
            Err(e) => {
                error!(doc = %entry.meta.id, error = %e, "the committed state could not be projected");
                return None;
            }
        }
    };
    super::projection::rows_with_authors(&entry.meta, &doc, &authors, store)
}

/// Makes the batch's projections (see [`prepare`]).
fn project(
    projections: &[Projection],
    writes: &mut [DocWrite],
    store: &dyn Store,
    observer: &dyn CommitObserver,
) {
    if projections.is_empty() {
        return;
    }
    let started = Instant::now();
    for p in projections {
        writes[p.write].projection = project_at(&p.entry, &p.heads, store);
    }
    observer.projected(started.elapsed());
}

/// Stores a batch: projections, then one [`Store::commit`]. When a write
/// that carries a projection is refused while another write of its
/// document in the batch was stored, the stored rows would lack that
/// write's items: the document is projected again from the store.
fn store_batch(
    projections: &[Projection],
    writes: &mut [DocWrite],
    store: &dyn Store,
    observer: &dyn CommitObserver,
) -> Result<CommitOutcome, StoreError> {
    project(projections, writes, store, observer);
    let outcome = store.commit(writes)?;
    for p in projections {
        let refused = matches!(outcome.writes.get(p.write), Some(Err(_)));
        let doc = writes[p.write].doc_id;
        let others_stored = outcome
            .writes
            .iter()
            .zip(writes.iter())
            .any(|(r, w)| r.is_ok() && w.doc_id == doc);
        if refused && others_stored {
            reproject_from_store(store, doc);
        }
    }
    Ok(outcome)
}

/// Writes the projection of the stored document `id` (every change in the
/// store, authors from the store's actor bindings). Failures are logged:
/// the rows are then as the last stored projection left them.
fn reproject_from_store(store: &dyn Store, id: crate::domain::DocId) {
    let result = (|| -> Result<(), String> {
        let meta = store
            .doc_meta(id)
            .map_err(|e| format!("{e:?}"))?
            .ok_or("no such document")?;
        let stored = store
            .load_doc(id)
            .map_err(|e| format!("{e:?}"))?
            .ok_or("no such document")?;
        let doc = stored.to_automerge().map_err(|e| e.to_string())?;
        let rows = super::projection::rows_from_bindings(&meta, &doc, store, None)
            .ok_or("not projectable")?;
        // Rows only: no changes, no device, based on no copy.
        let write = DocWrite {
            epoch: None,
            doc_id: id,
            user_id: meta.owner.clone(),
            device_id: None,
            create: None,
            changes: Vec::new(),
            projection: Some(rows),
            schedule: None,
        };
        match store
            .commit(&[write])
            .map_err(|e| format!("{e:?}"))?
            .writes
            .pop()
        {
            Some(Ok(_)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })();
    if let Err(cause) = result {
        error!(doc = %id, %cause, "the projection could not be made again from the store");
    }
}

async fn commit_batch(
    batch: Vec<QueuedWrite>,
    store: &Arc<dyn Store>,
    cache: &DocCache,
    hub: &Hub,
    observer: &Arc<dyn CommitObserver>,
) {
    let Prepared {
        live,
        mut writes,
        projections,
    } = prepare(batch);
    let n_writes = writes.len();
    let started = Instant::now();
    let outcome = if writes.is_empty() {
        Ok(None)
    } else {
        let (store, observer) = (store.clone(), observer.clone());
        match tokio::task::spawn_blocking(move || {
            let outcome = store_batch(&projections, &mut writes, store.as_ref(), observer.as_ref());
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
    finish(
        live,
        n_writes,
        outcome,
        started,
        cache,
        hub,
        observer.as_ref(),
    );
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
    let Prepared {
        live,
        mut writes,
        projections,
    } = prepare(batch);
    let n_writes = writes.len();
    let started = Instant::now();
    let outcome = if writes.is_empty() {
        Ok(None)
    } else {
        store_batch(&projections, &mut writes, store, observer)
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
    // Per cache entry, the heads of its last committed write: each entry is
    // marked once (its writes commit in order, so the last covers the rest).
    let mut committed: Vec<(Arc<CachedDoc>, Vec<ChangeHash>)> = Vec::new();
    let mut committed_at: HashMap<*const CachedDoc, usize> = HashMap::new();
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
                match committed_at.get(&Arc::as_ptr(&w.entry)) {
                    Some(&i) => committed[i].1.clone_from(&w.job.heads),
                    None => {
                        committed_at.insert(Arc::as_ptr(&w.entry), committed.len());
                        committed.push((w.entry.clone(), w.job.heads.clone()));
                    }
                }
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
    for (entry, heads) in committed {
        entry.mark_committed(&heads);
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
                project: false,
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

    /// A walk in the store made by `owner` (no observations), its cache
    /// entry, and the walk as the phones have it.
    fn empty_walk(
        store: &Arc<dyn Store>,
        cache: &DocCache,
        owner: &UserId,
    ) -> (Arc<CachedDoc>, wijklog_shared::Document) {
        let id = DocId::new_v4();
        let mut walk = wijklog_shared::Document::new_walk(
            id,
            &wijklog_shared::Catalog::defaults(),
            owner,
            wijklog_shared::Timestamp::from_millis(1_767_225_600_000),
            wijklog_shared::NewWalk {
                title: "Avondronde".into(),
                wijk: "oostermeent".into(),
                route: String::new(),
                team: "oost".into(),
                planned_at: None,
            },
        )
        .expect("walk");
        walk.automerge_mut().commit();
        let write = DocWrite::creating(
            id,
            DocKind::Walk,
            owner,
            Some("oost"),
            walk.automerge_mut().document(),
        );
        store.commit(&[write]).expect("commit");
        (cache.open(id).expect("open").expect("exists"), walk)
    }

    /// The answer a queued write got, once it got one.
    type Answer = Arc<Mutex<Option<Result<(), CommitFailure>>>>;

    /// A phone of `who` adds an observation `text` to its copy of `walk`;
    /// the change is applied to the shared copy as a connection applies it
    /// (the sender recorded as its author) and its write is queued with
    /// `project` set, as a session queues a write to a known document.
    fn observe(
        entry: &Arc<CachedDoc>,
        walk: &mut wijklog_shared::Document,
        who: &UserId,
        device: Option<&crate::domain::DeviceId>,
        text: &str,
    ) -> (QueuedWrite, Answer) {
        let mut phone = walk.fork();
        let before = phone.heads();
        phone
            .add_observation(
                &wijklog_shared::Catalog::defaults(),
                who,
                wijklog_shared::Timestamp::from_millis(1_767_225_660_000),
                wijklog_shared::NewItem {
                    id: None,
                    category: "jeugdoverlast".into(),
                    severity: wijklog_shared::Severity::ALL[0],
                    text: text.into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("observation");
        let changes = phone.automerge_mut().get_changes(&before);
        let mut inner = entry.lock().expect("lock");
        inner.doc.apply_changes(changes.clone()).expect("apply");
        for c in &changes {
            inner.authors.insert(c.actor_id().clone(), who.clone());
        }
        let heads = inner.doc.get_heads();
        drop(inner);
        let answer: Answer = Arc::default();
        let seen = answer.clone();
        let write = QueuedWrite {
            entry: entry.clone(),
            job: CommitJob {
                write: DocWrite {
                    epoch: Some(entry.epoch),
                    doc_id: entry.meta.id,
                    user_id: who.clone(),
                    device_id: device.cloned(),
                    create: None,
                    changes: changes.iter().map(NewChange::from_change).collect(),
                    projection: None,
                    schedule: None,
                },
                heads,
                project: true,
            },
            origin: 1,
            reply: Box::new(move |result| {
                *seen.lock().expect("answer") = Some(result);
            }),
        };
        (write, answer)
    }

    /// The stored rows of `entry`'s document: (text, created_by), sorted.
    fn stored_rows(store: &Arc<dyn Store>, entry: &CachedDoc) -> Vec<(String, Option<String>)> {
        let mut rows: Vec<_> = store
            .projection_rows(entry.meta.id)
            .expect("rows")
            .into_iter()
            .map(|r| (r.text, r.created_by))
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn a_batch_stores_one_projection_per_document_made_at_its_last_writes_heads() {
        // Two phones' observations of one walk commit in one batch; a third
        // phone's observation is applied to the shared copy but its write is
        // still queued behind the batch. The committer projects the walk
        // once, at the heads of the batch's last write: both observations of
        // the batch, attributed to their senders, and not the third (its
        // changes are not stored yet; projected from the document as it is
        // now, the rows would show it).
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let cache = DocCache::new(store.clone());
        let hub = Hub::new(16);
        let (anna, bram, cas) = (user("anna"), user("bram"), user("cas"));
        let (entry, mut walk) = empty_walk(&store, &cache, &anna);
        let (first, first_answer) = observe(&entry, &mut walk, &anna, None, "scooters bij de Roef");
        let (second, second_answer) =
            observe(&entry, &mut walk, &bram, None, "graffiti aan de Lindenlaan");
        let (third, _) = observe(&entry, &mut walk, &cas, None, "losliggende stoeptegel");
        assert!(first.job.write.projection.is_none() && second.job.write.projection.is_none());

        commit_batch_blocking(
            vec![first, second],
            store.as_ref(),
            &cache,
            &hub,
            &NoObserver,
        );

        assert_eq!(*first_answer.lock().expect("answer"), Some(Ok(())));
        assert_eq!(*second_answer.lock().expect("answer"), Some(Ok(())));
        assert_eq!(
            stored_rows(&store, &entry),
            vec![
                (
                    "graffiti aan de Lindenlaan".to_owned(),
                    Some("bram".to_owned())
                ),
                ("scooters bij de Roef".to_owned(), Some("anna".to_owned())),
            ]
        );
        commit_batch_blocking(vec![third], store.as_ref(), &cache, &hub, &NoObserver);
        assert_eq!(stored_rows(&store, &entry).len(), 3);
    }

    #[test]
    fn when_the_write_carrying_the_projection_is_refused_the_stored_writes_are_projected() {
        // Anna's and Bram's observations of one walk commit in one batch;
        // Bram's device was revoked meanwhile, so the store refuses his write,
        // the last of the batch, which carried the walk's projection. Anna's
        // observation is stored and acked: the rows are made again from the
        // store and show hers (and not Bram's). Without that, the walk's rows
        // would lack Anna's acked observation until its next commit.
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let cache = DocCache::new(store.clone());
        let hub = Hub::new(16);
        let account = |name: &str, refresh: u8| {
            let u = store
                .create_user(crate::storage::NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
                        .into(),
                    roles: vec![crate::domain::Role::Boa],
                    team: Some("oost".into()),
                })
                .expect("user");
            let d = store
                .create_device(&u.id, "telefoon", [refresh; 32], i64::MAX / 2)
                .expect("device");
            (u.id, d.id)
        };
        let (anna, anna_phone) = account("anna", 1);
        let (bram, bram_phone) = account("bram", 2);
        let (entry, mut walk) = empty_walk(&store, &cache, &anna);
        let (first, first_answer) = observe(
            &entry,
            &mut walk,
            &anna,
            Some(&anna_phone),
            "scooters bij de Roef",
        );
        let (second, second_answer) = observe(
            &entry,
            &mut walk,
            &bram,
            Some(&bram_phone),
            "graffiti aan de Lindenlaan",
        );
        store.revoke_device(&bram_phone).expect("revoke");

        commit_batch_blocking(
            vec![first, second],
            store.as_ref(),
            &cache,
            &hub,
            &NoObserver,
        );

        assert_eq!(*first_answer.lock().expect("answer"), Some(Ok(())));
        assert_eq!(
            *second_answer.lock().expect("answer"),
            Some(Err(CommitFailure::Revoked))
        );
        assert_eq!(
            stored_rows(&store, &entry),
            vec![(
                "scooters bij de Roef".to_owned(),
                Some(anna.as_str().to_owned())
            )]
        );
    }
}
