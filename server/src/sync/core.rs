//! The sync decisions of one connection, free of sockets and SQLite.
//!
//! A [`Session`] is fed [`Event`]s (a frame arrived, a commit finished, a
//! document changed on another connection, a session check came back) and
//! answers with [`Effect`]s (send a text or binary frame, close). Everything
//! it needs from the outside world (the shared document cache, actor
//! bindings, the group committer) it reaches through the [`SyncContext`]
//! trait, so the unit tests below drive it with an in-memory context and no
//! IO at all. The actix handler only moves bytes between the socket and the
//! session.
//!
//! The rules, in the order they are applied to a binary frame:
//! 1. the connection's message budget (`rate_limited`);
//! 2. frame size (`too_large`), 16-byte document id (`invalid_message`);
//! 3. the automerge sync message decodes (`invalid_message`);
//! 4. its chunks are walked with bounded inflation: change count and
//!    decompressed size (`too_large`), well-formed changes (`invalid_change`);
//! 5. access: a known document the user may not see, or may not change when
//!    the message carries changes, is `forbidden`; an unknown document is
//!    created only if its changes set a root `kind` the user may create
//!    (`invalid_document` for no or an unknown kind, `forbidden` otherwise);
//! 6. every change's actor must be unbound or bound to this user (`forbidden`);
//! 7. the document's size bound (`too_large`);
//! 8. apply (`invalid_change` if automerge refuses; the document is evicted
//!    so that nothing unstored lingers), the kind must not change
//!    (`invalid_document`);
//! 9. new changes go to the group committer; after the commit the client
//!    gets `ack` with the heads then committed, and the reply sync message.
//!
//! An error concerns one document: the connection and its other documents
//! carry on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjType, ReadDoc, Value};

use super::chunks::{self, ChunkError, ChunkLimits};
use super::hub::ScopeFacts;
use super::limits::SyncLimits;
use super::protocol::{
    self, CLOSE_REVOKED, CLOSE_UNAUTHENTICATED, ClientMessage, DocSummary, ErrorCode,
    LISTS_CHANGED_MIN_INTERVAL, ServerMessage,
};
use super::rate::TokenBucket;
use super::scope;
use crate::domain::Principal;
use crate::domain::{DocId, DocKind, UserId, now_ms};
use crate::storage::{
    DocMeta, DocWrite, NewChange, NewDoc, ProjectionRow, ScopeCandidate, SessionState, Subscribed,
};

/// Identifies one open connection (for the live hub: skip the origin).
pub type ConnId = u64;
/// Identifies one submitted commit of a connection.
pub type Ticket = u64;

/// One document held in memory, shared by every connection.
#[derive(Debug)]
pub struct CachedDoc {
    /// Its stored metadata (kind, owner, team never change).
    pub meta: DocMeta,
    /// Distinguishes this load from later ones after an eviction.
    pub generation: u64,
    /// The document's epoch when it was loaded (raised by an erasure, which
    /// evicts the entry): sent in `ready` and `doc`.
    pub epoch: i64,
    inner: Mutex<DocInner>,
    /// Set when the entry is evicted: writes still queued for it must fail,
    /// since its heads may cover changes that were never stored.
    poisoned: AtomicBool,
}

/// The mutable part of a [`CachedDoc`].
#[derive(Debug)]
pub struct DocInner {
    /// The document, possibly with changes whose commit is in flight.
    pub doc: Automerge,
    /// Heads of the committed state (what `ready`, `doc` and `ack` report).
    pub committed_heads: Vec<ChangeHash>,
    /// Sum of the raw sizes of its changes (for the document size bound).
    pub size_bytes: u64,
    /// Sum of its changes' operation counts (for the operation bound).
    pub ops: u64,
    /// The users whose changes were applied to this copy since it was
    /// loaded, by actor (their bindings may not be committed yet); actors
    /// of stored changes are looked up in the store.
    pub authors: HashMap<ActorId, UserId>,
    /// While commits are in flight: a copy of the document at
    /// `committed_heads`, the one every sync message is made from (see
    /// [`DocInner::committed_doc`]).
    committed_view: Option<Automerge>,
    /// Sync messages made from the committed state, by the sync state they
    /// were made for (see [`SharedMessages`]).
    shared: SharedMessages,
}

/// The most sync states of one document whose messages [`SharedMessages`] keeps.
pub const SHARED_MESSAGES_MAX_STATES: usize = 64;
/// The most bytes (messages and the sync states they are keyed by)
/// [`SharedMessages`] keeps per document.
pub const SHARED_MESSAGES_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The sync messages made from a document's committed state, by the sync
/// state of the peer they were made for. Making a message is a function of
/// the document's changes and the sync state alone (automerge's
/// `generate_sync_message`), so a connection in a state already seen at the
/// same committed heads gets the message and the next state made then
/// instead of generating them again: when one edit of a document many
/// devices hold is pushed to all of them, the devices that were in step
/// (same heads on both sides, same changes in flight) cost one generation.
/// Emptied whenever the committed heads move; bounded by
/// [`SHARED_MESSAGES_MAX_STATES`] and [`SHARED_MESSAGES_MAX_BYTES`] (a
/// state beyond them is generated and not kept).
#[derive(Debug, Default)]
pub struct SharedMessages {
    /// The committed heads the messages were made at.
    heads: Vec<ChangeHash>,
    /// Sync state before → the state after and the encoded message (`None`:
    /// nothing to send).
    made: HashMap<State, AfterMessage>,
    /// Bytes kept in `made` (roughly).
    bytes: usize,
}

/// The sync state after a message was made, and the message (encoded;
/// `None`: nothing to send).
type AfterMessage = (State, Option<Arc<[u8]>>);

/// Roughly the bytes a sync state holds.
fn state_bytes(state: &State) -> usize {
    let hashes = state.shared_heads.len()
        + state.last_sent_heads.len()
        + state.their_heads.as_ref().map_or(0, Vec::len)
        + state.their_need.as_ref().map_or(0, Vec::len)
        + state.sent_hashes.len();
    let haves: usize = state.their_have.as_ref().map_or(0, |h| {
        h.iter()
            .map(|h| h.last_sync.len() * 32 + h.bloom.to_bytes().len())
            .sum()
    });
    std::mem::size_of::<State>() + hashes * 32 + haves
}

/// Whether a sync message was generated or handed on from
/// [`SharedMessages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    Generated,
    Reused,
}

impl DocInner {
    /// The document as far as it is committed, the only state any client is
    /// sent: the document itself when no commit is in flight, else a copy at
    /// the committed heads (made once, moved along as commits finish,
    /// dropped once they settle). A change must reach other devices only
    /// after its commit: one that never commits would otherwise live on in
    /// their copies (and its still unbound actor could be taken by whoever
    /// uploads it first). `None` if the copy cannot be made; then nothing is
    /// sent.
    pub fn committed_doc(&mut self) -> Option<&Automerge> {
        if self.doc.get_heads() == self.committed_heads {
            self.committed_view = None;
            return Some(&self.doc);
        }
        if self.committed_view.is_none() {
            self.committed_view = self.doc.fork_at(&self.committed_heads).ok();
        }
        self.committed_view.as_ref()
    }

    /// A commit stored everything up to `heads` (commits of one document
    /// finish in the order their changes were applied).
    fn commit_up_to(&mut self, heads: &[ChangeHash]) {
        let Some(view) = self.committed_view.as_mut() else {
            self.committed_heads = heads.to_vec();
            return;
        };
        // The copy may hold more than `heads` (changes merged from the
        // store): add what just committed instead of copying again.
        let still_uncommitted: HashSet<ChangeHash> = self
            .doc
            .get_changes(heads)
            .iter()
            .map(Change::hash)
            .collect();
        let newly_committed: Vec<Change> = self
            .doc
            .get_changes(&view.get_heads())
            .into_iter()
            .filter(|c| !still_uncommitted.contains(&c.hash()))
            .collect();
        if view.apply_changes(newly_committed).is_ok() {
            self.committed_heads = view.get_heads();
        } else {
            self.committed_view = None;
            self.committed_heads = heads.to_vec();
        }
        self.settle();
    }

    /// Changes that are committed (read back from the store: another node
    /// stored them) were just applied to the document while local commits
    /// are in flight: they count as committed, the local ones still do not.
    pub fn merge_committed(&mut self, changes: &[Change]) {
        if self.committed_view.is_none() {
            self.committed_view = self.doc.fork_at(&self.committed_heads).ok();
        }
        if let Some(view) = self.committed_view.as_mut()
            && view.apply_changes(changes.iter().cloned()).is_ok()
        {
            self.committed_heads = view.get_heads();
        } else {
            // Without a copy the merged changes wait for the next commit.
            self.committed_view = None;
        }
        self.settle();
    }

    /// The next sync message (encoded) for a peer in `state`, made from the
    /// committed document, or handed on from another connection that was
    /// in the same state at the same committed heads (see
    /// [`SharedMessages`]). `state` moves on exactly as generating would
    /// move it.
    fn shared_message(&mut self, state: &mut State) -> (Option<Vec<u8>>, Option<Made>) {
        if self.shared.heads != self.committed_heads {
            self.shared.made.clear();
            self.shared.bytes = 0;
            self.shared.heads.clone_from(&self.committed_heads);
        }
        if let Some((after, message)) = self.shared.made.get(state) {
            *state = after.clone();
            return (message.as_deref().map(<[u8]>::to_vec), Some(Made::Reused));
        }
        let before = state.clone();
        let Some(doc) = self.committed_doc() else {
            return (None, None);
        };
        let message = doc.generate_sync_message(state).map(|m| sorted(m).encode());
        let size = 2 * state_bytes(&before) + message.as_ref().map_or(0, Vec::len);
        if self.shared.made.len() < SHARED_MESSAGES_MAX_STATES
            && self.shared.bytes + size <= SHARED_MESSAGES_MAX_BYTES
        {
            self.shared.bytes += size;
            self.shared.made.insert(
                before,
                (state.clone(), message.as_deref().map(Arc::<[u8]>::from)),
            );
        }
        (message, Some(Made::Generated))
    }

    /// Drops the copy once everything is committed.
    fn settle(&mut self) {
        if self.doc.get_heads() == self.committed_heads {
            self.committed_view = None;
        }
    }
}

/// A poisoned document lock (a panic while applying); the entry must be evicted.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("document lock poisoned")]
pub struct Poisoned;

impl CachedDoc {
    /// Wraps a document loaded from the store (everything in it is committed).
    pub fn new(meta: DocMeta, generation: u64, doc: Automerge) -> Self {
        let (size_bytes, ops) = doc
            .get_changes(&[])
            .iter()
            .fold((0u64, 0u64), |(bytes, ops), c| {
                (bytes + c.raw_bytes().len() as u64, ops + c.len() as u64)
            });
        let committed_heads = doc.get_heads();
        Self {
            meta,
            generation,
            epoch: 0,
            inner: Mutex::new(DocInner {
                doc,
                committed_heads,
                size_bytes,
                ops,
                authors: HashMap::new(),
                committed_view: None,
                shared: SharedMessages::default(),
            }),
            poisoned: AtomicBool::new(false),
        }
    }

    /// The same entry at `epoch`.
    pub fn with_epoch(mut self, epoch: i64) -> Self {
        self.epoch = epoch;
        self
    }

    /// A new document that is not committed yet (nothing of it is).
    fn new_uncommitted(meta: DocMeta, generation: u64, doc: Automerge) -> Self {
        let entry = Self::new(meta, generation, doc);
        if let Ok(mut inner) = entry.inner.lock() {
            inner.committed_heads = Vec::new();
        }
        entry
    }

    /// Locks the document. Never hold the guard across an `.await`.
    pub fn lock(&self) -> Result<MutexGuard<'_, DocInner>, Poisoned> {
        self.inner.lock().map_err(|_| Poisoned)
    }

    /// Marks the entry as evicted (see the field `poisoned`).
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Whether the entry was evicted.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// Records a successful commit up to `heads` (called by the committer).
    pub fn mark_committed(&self, heads: &[ChangeHash]) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.commit_up_to(heads);
        }
    }

    /// The document's size (sum of its changes' sizes), unless it is locked right now.
    pub fn try_size_bytes(&self) -> Option<u64> {
        self.inner.try_lock().ok().map(|inner| inner.size_bytes)
    }

    /// The committed heads.
    pub fn committed_heads(&self) -> Result<Vec<ChangeHash>, Poisoned> {
        Ok(self.lock()?.committed_heads.clone())
    }
}

/// The outside world could not answer (store failure); already logged.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("storage unavailable")]
pub struct ContextError;

/// A write for the group committer.
#[derive(Debug, Clone)]
pub struct CommitJob {
    /// What to store.
    pub write: DocWrite,
    /// The document's heads right after the changes were applied: once this
    /// job commits, every change up to them is durable (writes to one
    /// document are committed in the order they were applied).
    pub heads: Vec<ChangeHash>,
    /// The group committer makes the document's projection rows (the write
    /// carries none): once per batch, at the heads of the batch's last write
    /// to the document, instead of every write projecting the whole
    /// document while holding its lock.
    pub project: bool,
}

/// Why a submitted commit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitFailure {
    /// The store refused the write: an actor is bound to another user.
    Forbidden,
    /// The store refused the write: the document exists with another kind or team.
    Conflict,
    /// The transaction failed (disk, database); nothing of it was stored.
    Internal,
    /// The transaction failed because the disk is full; nothing of it was stored.
    StorageFull,
    /// The sending device was revoked or its user disabled before the
    /// write committed: nothing of it was stored, and it is not acked.
    Revoked,
    /// The document's history was rewritten (an erasure, possibly on
    /// another node) after the changes were applied to the copy of the old
    /// history: nothing of the write was stored.
    Rewritten,
}

/// What the session needs from the server.
pub trait SyncContext {
    /// The cached document, loading it from the store on first use; `None`
    /// if the store does not know it.
    fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, ContextError>;
    /// Caches a newly created document. If another connection created it in
    /// the meantime, returns that one as the error.
    fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>>;
    /// Drops a cached document (it holds changes that were not stored).
    fn evict(&self, doc: &CachedDoc);
    /// A fresh generation number for a new cache entry.
    fn next_generation(&self) -> u64;
    /// The user an actor is bound to.
    fn actor_owner(&self, actor: &ActorId) -> Result<Option<UserId>, ContextError>;
    /// How many documents `user` has created (for the per-user quota).
    fn docs_owned_by(&self, user: &UserId) -> Result<u64, ContextError>;
    /// The projection rows of a new document (observations or notes), or
    /// `None` when the document kind has none. Authorship comes from the
    /// senders of the changes: `authors` for changes not yet committed, the
    /// store's actor bindings for the rest. (The changes to a known document
    /// are projected by the group committer, once per batch: see
    /// [`CommitJob::project`].)
    fn project(
        &self,
        meta: &DocMeta,
        doc: &Automerge,
        authors: &HashMap<ActorId, UserId>,
    ) -> Option<Vec<ProjectionRow>>;
    /// Queues a write for the group committer; its result comes back as
    /// [`Event::Committed`] with the same ticket. Called while the document
    /// lock is held, which keeps the writes to one document in apply order.
    fn submit(&self, ticket: Ticket, doc: Arc<CachedDoc>, job: CommitJob);
    /// Now, for the scope rule (ms since the Unix epoch).
    fn now_ms(&self) -> i64 {
        now_ms()
    }
    /// Records that the connection's device opened `doc` at `at` (its
    /// subscription), within the device's bound
    /// (`sync.max_subscriptions_per_device`): `Full` when it holds as many
    /// others. A context without scope storage records nothing.
    fn subscribe(
        &self,
        _who: &Principal,
        _doc: DocId,
        _at: i64,
    ) -> Result<Subscribed, ContextError> {
        Ok(Subscribed::Recorded)
    }
    /// Ends the device's subscription of `doc`.
    fn unsubscribe(&self, _who: &Principal, _doc: DocId) -> Result<(), ContextError> {
        Ok(())
    }
    /// Why `doc` is in the scope of the device now, for a reason other
    /// than what the session itself decided; `None` when it is not.
    fn scope_reason(
        &self,
        _who: &Principal,
        _doc: DocId,
    ) -> Result<Option<scope::Reason>, ContextError> {
        Ok(None)
    }
    /// The scope of the device now; `None` when the context keeps no scope
    /// (then the connection's scope is never checked again).
    fn scope(&self, _who: &Principal) -> Result<Option<Vec<DocId>>, ContextError> {
        Ok(None)
    }
}

/// Something happened to this connection.
#[derive(Debug)]
pub enum Event {
    /// A text frame from the client.
    Text(String),
    /// A binary frame from the client.
    Binary(Vec<u8>),
    /// A submitted commit finished.
    Committed {
        /// The ticket given to [`SyncContext::submit`].
        ticket: Ticket,
        /// Its outcome.
        result: Result<(), CommitFailure>,
    },
    /// Another connection committed changes to a document.
    DocChanged {
        /// The document.
        doc: DocId,
        /// Its kind.
        kind: DocKind,
        /// Its team.
        team: Option<String>,
        /// The connections whose changes were committed (they are not told).
        origins: Vec<ConnId>,
        /// What decides whether the document entered this connection's scope.
        scope: ScopeFacts,
    },
    /// Time to check the connection's scope again (windows pass, subscriptions lapse).
    ScopeCheck,
    /// The time [`Session::lists_changed_due`] named has come: a
    /// `lists_changed` held back by its minimum interval may go now.
    ListsChangedDue,
    /// Live updates were missed (the hub overflowed): resync every open document.
    Resync,
    /// The periodic check of user and device came back.
    SessionChecked {
        /// Active, signed out (log in again: close 4001) or revoked
        /// (device disabled or user disabled: close 4003, the client wipes).
        state: SessionState,
    },
}

/// What the handler must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a JSON text frame.
    Text(ServerMessage),
    /// Send a binary frame (document id + sync message).
    Binary(Vec<u8>),
    /// Close the connection.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: &'static str,
    },
}

/// What the session tracks per document. (One per document a connection
/// syncs: the size difference of the variants does not matter.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum PeerDoc {
    /// A document the server does not have: the client is told so by a sync
    /// message from an empty document, and its changes will create it.
    Unknown { scratch: Automerge, state: State },
    /// A document in the cache.
    Known { entry: Arc<CachedDoc>, state: State },
}

#[derive(Debug)]
struct Pending {
    doc: DocId,
    heads: Vec<ChangeHash>,
}

/// The sync decisions for one authenticated connection.
#[derive(Debug)]
pub struct Session {
    conn: ConnId,
    principal: Principal,
    limits: SyncLimits,
    bucket: TokenBucket,
    docs: HashMap<DocId, PeerDoc>,
    /// Documents the client has been told about (ready, doc) or has synced.
    known: HashSet<DocId>,
    /// The documents in this device's scope (`ready`, then `doc` / `unscope`):
    /// only these are pushed.
    scope: HashSet<DocId>,
    pending: HashMap<Ticket, Pending>,
    next_ticket: Ticket,
    /// Changes of this connection whose dependencies have not arrived, per
    /// document. They are held here, never in the shared document, count
    /// against `limits.max_waiting_changes` and go with the connection.
    waiting: HashMap<DocId, Vec<Change>>,
    /// When the last `lists_changed` was sent, and whether another is owed
    /// (a change came within [`LISTS_CHANGED_MIN_INTERVAL`] of it).
    lists_sent: Option<Instant>,
    lists_owed: bool,
    /// Sync messages of known documents generated and handed on from
    /// another connection (see [`SharedMessages`]) since last taken.
    messages: (u64, u64),
}

/// Parses the first frame; the token on success, the error to send otherwise.
pub fn parse_auth(text: &str) -> Result<String, ServerMessage> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Auth { token }) => Ok(token),
        Ok(_) | Err(_) => Err(ServerMessage::error(
            None,
            ErrorCode::Unauthenticated,
            "the first frame must be {\"type\":\"auth\",\"token\":\"<access token>\"}",
        )),
    }
}

/// The root `kind` could not be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the document's kind could not be read")]
pub struct KindUnreadable;

/// Reads a document's root `kind` (a string or Text). `None` if absent or unknown.
pub fn read_kind(doc: &Automerge) -> Result<Option<DocKind>, KindUnreadable> {
    let kind = match doc.get(automerge::ROOT, "kind") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            _ => return Ok(None),
        },
        Ok(Some((Value::Object(ObjType::Text), id))) => {
            doc.text(&id).map_err(|_| KindUnreadable)?
        }
        Ok(_) => return Ok(None),
        Err(_) => return Err(KindUnreadable),
    };
    Ok(DocKind::parse(&kind).ok())
}

/// Reads a root string field (a string or Text); `None` if absent or another type.
fn read_root_str(doc: &Automerge, key: &str) -> Option<String> {
    match doc.get(automerge::ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).ok(),
        _ => None,
    }
}

/// Collapses a connection's queued events before they are handled: live
/// updates caused by the connection's own writes are dropped (it gets its
/// ack and reply anyway), and of several live updates of one document only
/// the first stays (one push covers them all, since a push syncs the
/// document as it is then). Everything else keeps its order.
pub fn coalesce(conn: ConnId, events: Vec<Event>) -> Vec<Event> {
    let mut pushed = HashSet::new();
    events
        .into_iter()
        .filter(|event| match event {
            Event::DocChanged { doc, origins, .. } => {
                !origins.contains(&conn) && pushed.insert(*doc)
            }
            _ => true,
        })
        .collect()
}

fn err(doc: Option<DocId>, code: ErrorCode, message: &str) -> Vec<Effect> {
    vec![Effect::Text(ServerMessage::error(doc, code, message))]
}

const FORBIDDEN: &str = "you may not access this document";

impl Session {
    /// A session for an authenticated principal; `ready_docs` are the
    /// documents listed in `ready`.
    pub fn new(
        conn: ConnId,
        principal: Principal,
        limits: SyncLimits,
        ready_docs: &[DocSummary],
        now: Instant,
    ) -> Self {
        let bucket = TokenBucket::new(limits.messages_per_second, limits.message_burst, now);
        Self {
            conn,
            principal,
            limits,
            bucket,
            docs: HashMap::new(),
            known: ready_docs.iter().map(|d| d.id).collect(),
            scope: ready_docs.iter().map(|d| d.id).collect(),
            pending: HashMap::new(),
            next_ticket: 1,
            waiting: HashMap::new(),
            lists_sent: None,
            lists_owed: false,
            messages: (0, 0),
        }
    }

    /// When a `lists_changed` held back by its minimum interval is due
    /// (the handler sends [`Event::ListsChangedDue`] then); `None` when
    /// none is owed.
    pub fn lists_changed_due(&self) -> Option<Instant> {
        // Owed only while an earlier one is within its interval (else it went at once).
        self.lists_sent
            .filter(|_| self.lists_owed)
            .map(|t| t + LISTS_CHANGED_MIN_INTERVAL)
    }

    /// A walk or session changed through another connection: a
    /// coordinator's connection tells its review screens that their lists
    /// may read differently (`lists_changed`, no content), at most once per
    /// [`LISTS_CHANGED_MIN_INTERVAL`]; a change within the interval is told
    /// when it has passed ([`Event::ListsChangedDue`]).
    fn note_lists_changed(&mut self, kind: DocKind, now: Instant) -> Option<Effect> {
        if kind == DocKind::Catalog || !self.principal.is_coordinator() {
            return None;
        }
        self.lists_owed = true;
        self.lists_changed_now(now)
    }

    /// Sends the owed `lists_changed` if its interval has passed.
    fn lists_changed_now(&mut self, now: Instant) -> Option<Effect> {
        if !self.lists_owed
            || self
                .lists_sent
                .is_some_and(|t| now.saturating_duration_since(t) < LISTS_CHANGED_MIN_INTERVAL)
        {
            return None;
        }
        self.lists_owed = false;
        self.lists_sent = Some(now);
        Some(Effect::Text(ServerMessage::ListsChanged))
    }

    /// The authenticated principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Changes held waiting for their dependencies (all documents).
    pub fn waiting_changes(&self) -> usize {
        self.waiting.values().map(Vec::len).sum()
    }

    /// Commits submitted and not yet answered (graceful shutdown waits for them).
    pub fn pending_commits(&self) -> usize {
        self.pending.len()
    }

    /// Handles one event.
    pub fn handle(&mut self, event: Event, ctx: &dyn SyncContext, now: Instant) -> Vec<Effect> {
        match event {
            Event::Text(text) => self.on_text(&text, ctx, now),
            Event::Binary(frame) => self.on_binary(&frame, ctx, now),
            Event::Committed { ticket, result } => self.on_committed(ticket, result),
            Event::DocChanged {
                doc,
                kind,
                team,
                origins,
                scope,
            } => {
                let mut effects = Vec::new();
                if !origins.contains(&self.conn) {
                    effects.extend(self.note_lists_changed(kind, now));
                }
                effects.extend(self.on_doc_changed(
                    doc,
                    kind,
                    team.as_deref(),
                    &origins,
                    &scope,
                    ctx,
                ));
                effects
            }
            Event::ScopeCheck => self.on_scope_check(ctx),
            Event::ListsChangedDue => self.lists_changed_now(now).into_iter().collect(),
            Event::Resync => {
                let ids: Vec<DocId> = self.docs.keys().copied().collect();
                let mut effects: Vec<Effect> =
                    ids.into_iter().flat_map(|id| self.generate(id)).collect();
                // The missed updates may have been of any walk or session.
                effects.extend(self.note_lists_changed(DocKind::Walk, now));
                effects
            }
            Event::SessionChecked { state } => match state {
                SessionState::Active => Vec::new(),
                SessionState::SignedOut => vec![
                    Effect::Text(ServerMessage::error(
                        None,
                        ErrorCode::Unauthenticated,
                        "your session ended; log in again",
                    )),
                    Effect::Close {
                        code: CLOSE_UNAUTHENTICATED,
                        reason: "unauthenticated",
                    },
                ],
                SessionState::Revoked => vec![Effect::Close {
                    code: CLOSE_REVOKED,
                    reason: "revoked",
                }],
            },
        }
    }

    fn on_text(&mut self, text: &str, ctx: &dyn SyncContext, now: Instant) -> Vec<Effect> {
        if !self.bucket.take(now) {
            return err(None, ErrorCode::RateLimited, "too many messages; slow down");
        }
        if text.len() > self.limits.max_frame_bytes {
            return err(None, ErrorCode::TooLarge, "frame larger than the limit");
        }
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(ClientMessage::Auth { .. }) => err(
                None,
                ErrorCode::InvalidMessage,
                "already authenticated; reconnect to use another token",
            ),
            Ok(ClientMessage::Subscribe { doc }) => self.on_subscribe(doc, ctx),
            Ok(ClientMessage::Unsubscribe { doc }) => self.on_unsubscribe(doc, ctx),
            Err(_) => err(
                None,
                ErrorCode::InvalidMessage,
                "text frame is not a known JSON message",
            ),
        }
    }

    fn on_binary(&mut self, frame: &[u8], ctx: &dyn SyncContext, now: Instant) -> Vec<Effect> {
        let doc_hint = protocol::split_frame(frame).ok().map(|(id, _)| id);
        if !self.bucket.take(now) {
            return err(
                doc_hint,
                ErrorCode::RateLimited,
                "too many messages; slow down",
            );
        }
        if frame.len() > self.limits.max_frame_bytes {
            return err(doc_hint, ErrorCode::TooLarge, "frame larger than the limit");
        }
        let Ok((doc_id, bytes)) = protocol::split_frame(frame) else {
            return err(
                None,
                ErrorCode::InvalidMessage,
                "a binary frame must start with the 16-byte document id",
            );
        };
        let Ok(message) = Message::decode(bytes) else {
            return err(
                Some(doc_id),
                ErrorCode::InvalidMessage,
                "not an automerge sync message",
            );
        };
        let chunk_refs: Vec<&[u8]> = message.changes.iter().collect();
        let inspection = match chunks::inspect(
            &chunk_refs,
            ChunkLimits {
                max_inflated_bytes: self.limits.max_decompressed_bytes,
                max_changes: self.limits.max_changes_per_message,
                max_ops_per_change: self.limits.max_ops_per_change,
                max_ops: self.limits.max_ops_per_message,
            },
        ) {
            Ok(i) => i,
            Err(ChunkError::TooLarge(why)) => return err(Some(doc_id), ErrorCode::TooLarge, why),
            Err(ChunkError::Malformed(why)) => {
                return err(
                    Some(doc_id),
                    ErrorCode::InvalidChange,
                    &format!("the message's changes are not valid automerge changes: {why}"),
                );
            }
        };
        let carries_changes = !message.changes.is_empty();

        // Always ask the cache: after an eviction it holds a fresh entry.
        let entry = match ctx.open(doc_id) {
            Ok(found) => found,
            Err(ContextError) => {
                return err(
                    Some(doc_id),
                    ErrorCode::Internal,
                    "internal error; retry later",
                );
            }
        };
        // Actor bindings: every change the document does not hold yet must come
        // from an actor that is free or ours. Changes the server already stores
        // are skipped: automerge's sync resends a small document whole, which
        // includes other users' changes, and those are no-ops, not forgeries.
        if carries_changes {
            // One lock: which of the message's changes does the document lack?
            let is_new: Vec<bool> = match entry.as_ref().map(|e| e.lock()) {
                Some(Ok(inner)) => inspection
                    .changes
                    .iter()
                    .map(|c| inner.doc.get_change_meta_by_hash(&c.hash).is_none())
                    .collect(),
                // Unknown document, or a poisoned entry: every change counts as new.
                _ => vec![true; inspection.changes.len()],
            };
            let mut seen = HashSet::new();
            for (change, is_new) in inspection.changes.iter().zip(is_new) {
                if !is_new || !seen.insert(change.actor.clone()) {
                    continue;
                }
                match ctx.actor_owner(&change.actor) {
                    Ok(Some(owner)) if owner != self.principal.user_id => {
                        return err(
                            Some(doc_id),
                            ErrorCode::Forbidden,
                            "a change's actor id belongs to another user",
                        );
                    }
                    Ok(_) => {}
                    Err(ContextError) => {
                        return err(
                            Some(doc_id),
                            ErrorCode::Internal,
                            "internal error; retry later",
                        );
                    }
                }
            }
        }

        // The changes are applied from the inspected list (see `Incoming`):
        // the message itself goes to automerge without them.
        let mut message = message;
        message.changes = automerge::sync::ChunkList::empty();
        let incoming = inspection.changes.into_iter().map(|c| c.change).collect();
        match entry {
            Some(entry) => {
                // A visible document outside the scope: an implicit subscribe.
                let mut out = Vec::new();
                if !self.scope.contains(&doc_id)
                    && self
                        .principal
                        .may_see(entry.meta.kind, entry.meta.team.as_deref())
                {
                    match self.enter_by_subscribe(doc_id, &entry, ctx) {
                        Ok(effects) => out = effects,
                        Err(effects) => return effects,
                    }
                }
                out.extend(self.sync_known(doc_id, entry, message, incoming, carries_changes, ctx));
                out
            }
            None => {
                let out = self.sync_unknown(doc_id, message, incoming, carries_changes, ctx);
                // The sync state with a document the server does not have is
                // kept only while changes of it wait in this connection for
                // their dependencies. Otherwise it holds nothing the next
                // frame needs (a fresh state answers as well), and keeping
                // it would let frames for made-up ids grow the connection's
                // memory until it closes.
                if matches!(self.docs.get(&doc_id), Some(PeerDoc::Unknown { .. }))
                    && !self.waiting.contains_key(&doc_id)
                {
                    self.docs.remove(&doc_id);
                }
                out
            }
        }
    }

    /// Records the device's subscription of `doc_id` and brings it into the
    /// scope: a `doc` frame when the client had not been told of it.
    fn enter_by_subscribe(
        &mut self,
        doc_id: DocId,
        entry: &Arc<CachedDoc>,
        ctx: &dyn SyncContext,
    ) -> Result<Vec<Effect>, Vec<Effect>> {
        match ctx.subscribe(&self.principal, doc_id, ctx.now_ms()) {
            Ok(Subscribed::Recorded) => Ok(self.enter(doc_id, entry)),
            Ok(Subscribed::Full) => Err(err(
                Some(doc_id),
                ErrorCode::TooManySubscriptions,
                "this device holds as many subscriptions as allowed; unsubscribe one first",
            )),
            Err(ContextError) => Err(err(
                Some(doc_id),
                ErrorCode::Internal,
                "internal error; retry later",
            )),
        }
    }

    /// Brings a document into the scope; a `doc` frame if the client was
    /// not told of it yet.
    fn enter(&mut self, doc_id: DocId, entry: &Arc<CachedDoc>) -> Vec<Effect> {
        self.scope.insert(doc_id);
        if !self.known.insert(doc_id) {
            return Vec::new();
        }
        match entry.committed_heads() {
            Ok(heads) => vec![Effect::Text(ServerMessage::Doc {
                id: doc_id,
                kind: entry.meta.kind,
                heads: protocol::heads_hex(&heads),
                epoch: entry.epoch,
            })],
            Err(Poisoned) => Vec::new(),
        }
    }

    /// Takes a document out of the scope: `unscope`, and nothing more of it
    /// is sent (a commit in flight is still acked).
    fn leave(&mut self, doc_id: DocId) -> Vec<Effect> {
        self.scope.remove(&doc_id);
        self.known.remove(&doc_id);
        self.docs.remove(&doc_id);
        self.waiting.remove(&doc_id);
        vec![Effect::Text(ServerMessage::Unscope { doc: doc_id })]
    }

    fn on_subscribe(&mut self, doc_id: DocId, ctx: &dyn SyncContext) -> Vec<Effect> {
        let entry = match ctx.open(doc_id) {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                return err(
                    Some(doc_id),
                    ErrorCode::NotFound,
                    "there is no such document",
                );
            }
            Err(ContextError) => {
                return err(
                    Some(doc_id),
                    ErrorCode::Internal,
                    "internal error; retry later",
                );
            }
        };
        if !self
            .principal
            .may_see(entry.meta.kind, entry.meta.team.as_deref())
        {
            return err(Some(doc_id), ErrorCode::Forbidden, FORBIDDEN);
        }
        let mut out = match self.enter_by_subscribe(doc_id, &entry, ctx) {
            Ok(effects) => effects,
            Err(effects) => return effects,
        };
        let reuse = matches!(self.docs.get(&doc_id), Some(PeerDoc::Known { entry: e, .. }) if Arc::ptr_eq(e, &entry));
        if !reuse {
            self.docs.insert(
                doc_id,
                PeerDoc::Known {
                    entry,
                    state: State::new(),
                },
            );
        }
        out.extend(self.generate(doc_id));
        out
    }

    fn on_unsubscribe(&mut self, doc_id: DocId, ctx: &dyn SyncContext) -> Vec<Effect> {
        let stays = ctx
            .unsubscribe(&self.principal, doc_id)
            .and_then(|()| ctx.scope_reason(&self.principal, doc_id));
        match stays {
            Ok(Some(reason)) => vec![Effect::Text(ServerMessage::Kept {
                doc: doc_id,
                reason,
            })],
            Ok(None) => self.leave(doc_id),
            Err(ContextError) => err(
                Some(doc_id),
                ErrorCode::Internal,
                "internal error; retry later",
            ),
        }
    }

    /// The scope check: documents that entered since (a window opened) get
    /// `doc` and a sync message, documents that left (a window passed, a
    /// subscription lapsed, access lost) get `unscope` — except while a
    /// write of this connection to them is in flight or waiting.
    fn on_scope_check(&mut self, ctx: &dyn SyncContext) -> Vec<Effect> {
        let now_in = match ctx.scope(&self.principal) {
            Ok(Some(ids)) => ids.into_iter().collect::<HashSet<DocId>>(),
            Ok(None) => return Vec::new(),
            Err(ContextError) => return Vec::new(),
        };
        let mut out = Vec::new();
        let mut leaving: Vec<DocId> = self
            .scope
            .iter()
            .filter(|id| !now_in.contains(id))
            .filter(|id| {
                !self.waiting.contains_key(id) && !self.pending.values().any(|p| p.doc == **id)
            })
            .copied()
            .collect();
        leaving.sort();
        for id in leaving {
            out.extend(self.leave(id));
        }
        let mut entering: Vec<DocId> = now_in
            .into_iter()
            .filter(|id| !self.scope.contains(id))
            .collect();
        entering.sort();
        for id in entering {
            let Ok(Some(entry)) = ctx.open(id) else {
                continue;
            };
            out.extend(self.enter(id, &entry));
            self.docs.insert(
                id,
                PeerDoc::Known {
                    entry,
                    state: State::new(),
                },
            );
            out.extend(self.generate(id));
        }
        out
    }

    /// Takes this connection's waiting changes of `doc_id` together with the
    /// frame's `incoming` ones and decides what may be applied to `doc`:
    /// the causally ready changes (in an order automerge applies without
    /// queueing anything) once they pass the depth and operation bounds, and
    /// the ones still missing a dependency (held by the connection, within
    /// its bound). On a refusal nothing is applied and the document's waiting
    /// changes are dropped.
    fn admit(
        &mut self,
        doc_id: DocId,
        doc: &Automerge,
        doc_ops: u64,
        incoming: Vec<Change>,
    ) -> Result<Admitted, Vec<Effect>> {
        let mut candidates = self.waiting.remove(&doc_id).unwrap_or_default();
        candidates.extend(incoming);
        let (ready, waiting) = causal_split(doc, candidates);
        match check_depth(doc, &ready, self.limits.max_depth) {
            Ok(()) => {}
            Err(DepthError::TooDeep) => {
                return Err(err(
                    Some(doc_id),
                    ErrorCode::TooDeep,
                    "objects are nested deeper than the limit",
                ));
            }
            Err(DepthError::UnknownObject) => {
                return Err(err(
                    Some(doc_id),
                    ErrorCode::InvalidChange,
                    "a change refers to an object the document does not have",
                ));
            }
        }
        let ops: u64 = ready.iter().map(|c| c.len() as u64).sum();
        if doc_ops.saturating_add(ops) > self.limits.max_ops_per_document {
            return Err(err(
                Some(doc_id),
                ErrorCode::TooLarge,
                "the document would exceed its operation limit",
            ));
        }
        if !waiting.is_empty() {
            let held = self.waiting_changes() + waiting.len();
            let held_bytes: u64 = self
                .waiting
                .values()
                .chain(std::iter::once(&waiting))
                .flatten()
                .map(|c| c.raw_bytes().len() as u64)
                .sum();
            if held > self.limits.max_waiting_changes || held_bytes > self.limits.max_waiting_bytes
            {
                return Err(err(
                    Some(doc_id),
                    ErrorCode::TooLarge,
                    "too many changes wait for dependencies that never arrived; they were dropped",
                ));
            }
            self.waiting.insert(doc_id, waiting);
        }
        let bytes = ready.iter().map(|c| c.raw_bytes().len() as u64).sum();
        Ok(Admitted { ready, bytes })
    }

    /// A sync message for a document the server has.
    fn sync_known(
        &mut self,
        doc_id: DocId,
        entry: Arc<CachedDoc>,
        mut message: Message,
        incoming: Vec<Change>,
        carries_changes: bool,
        ctx: &dyn SyncContext,
    ) -> Vec<Effect> {
        let meta = &entry.meta;
        if !self.principal.may_see(meta.kind, meta.team.as_deref()) {
            self.docs.remove(&doc_id);
            return err(Some(doc_id), ErrorCode::Forbidden, FORBIDDEN);
        }
        if carries_changes && !self.principal.may_write(meta.kind, meta.team.as_deref()) {
            return err(
                Some(doc_id),
                ErrorCode::Forbidden,
                "you may read but not change this document",
            );
        }
        self.known.insert(doc_id);
        // Keep the sync state if it belongs to this cache entry, else start afresh.
        let mut state = match self.docs.remove(&doc_id) {
            Some(PeerDoc::Known { entry: old, state }) if Arc::ptr_eq(&old, &entry) => state,
            _ => State::new(),
        };
        let mut guard = match entry.lock() {
            Ok(g) => g,
            Err(Poisoned) => {
                ctx.evict(&entry);
                return err(
                    Some(doc_id),
                    ErrorCode::Internal,
                    "internal error; retry later",
                );
            }
        };
        let admitted = if carries_changes {
            match self.admit(doc_id, &guard.doc, guard.ops, incoming) {
                Ok(a) => a,
                Err(effects) => {
                    drop(guard);
                    self.docs.insert(doc_id, PeerDoc::Known { entry, state });
                    return effects;
                }
            }
        } else {
            Admitted::default()
        };
        if carries_changes
            && guard.size_bytes.saturating_add(admitted.bytes) > self.limits.max_document_bytes
        {
            drop(guard);
            self.docs.insert(doc_id, PeerDoc::Known { entry, state });
            return err(
                Some(doc_id),
                ErrorCode::TooLarge,
                "the document would exceed its size limit",
            );
        }
        message.changes = admitted.chunks();
        let old_heads = guard.doc.get_heads();
        if let Err(e) = guard.doc.receive_sync_message(&mut state, message) {
            drop(guard);
            // automerge may have applied part of the message: forget it all.
            ctx.evict(&entry);
            if matches!(e, automerge::AutomergeError::DuplicateSeqNumber(..)) {
                // Same actor and sequence number, other content: the client
                // holds history the server rewrote (an erasure).
                return err(
                    Some(doc_id),
                    ErrorCode::DocumentRewritten,
                    "the server rewrote this document's history (data was erased); replace your copy",
                );
            }
            return err(
                Some(doc_id),
                ErrorCode::InvalidChange,
                "the changes could not be applied",
            );
        }
        let applied = guard.doc.get_changes(&old_heads);
        let new_changes: Vec<NewChange> = applied.iter().map(NewChange::from_change).collect();
        let new_ops: u64 = applied.iter().map(|c| c.len() as u64).sum();
        if !new_changes.is_empty() {
            match read_kind(&guard.doc) {
                Ok(Some(kind)) if kind == meta.kind => {}
                _ => {
                    drop(guard);
                    ctx.evict(&entry);
                    return err(
                        Some(doc_id),
                        ErrorCode::InvalidDocument,
                        "changes must not remove or change the document's kind",
                    );
                }
            }
        }
        if !carries_changes {
            drop(guard);
            self.docs.insert(doc_id, PeerDoc::Known { entry, state });
            return self.generate(doc_id);
        }
        guard.size_bytes += new_changes
            .iter()
            .map(|c| c.bytes.len() as u64)
            .sum::<u64>();
        guard.ops += new_ops;
        for c in &applied {
            guard
                .authors
                .insert(c.actor_id().clone(), self.principal.user_id.clone());
        }
        // The projection is made by the committer, once per batch (see
        // `CommitJob::project`); the schedule is a few root fields.
        let project = !new_changes.is_empty();
        let schedule = if project {
            super::scope::schedule_of(meta.kind, &guard.doc)
        } else {
            None
        };
        let heads = guard.doc.get_heads();
        let write = DocWrite {
            doc_id,
            user_id: self.principal.user_id.clone(),
            device_id: Some(self.principal.device_id.clone()),
            create: None,
            changes: new_changes,
            projection: None,
            schedule,
            epoch: Some(entry.epoch),
        };
        self.submit(doc_id, &entry, write, heads, project, ctx);
        drop(guard);
        self.docs.insert(doc_id, PeerDoc::Known { entry, state });
        Vec::new()
    }

    /// A sync message for a document the server does not have (yet).
    fn sync_unknown(
        &mut self,
        doc_id: DocId,
        mut message: Message,
        incoming: Vec<Change>,
        carries_changes: bool,
        ctx: &dyn SyncContext,
    ) -> Vec<Effect> {
        let (scratch, mut state) = match self.docs.remove(&doc_id) {
            Some(PeerDoc::Unknown { scratch, state }) => (scratch, state),
            _ => (Automerge::new(), State::new()),
        };
        if !carries_changes {
            // Nothing to create: answer from an empty document, so the client sends its changes.
            let mut scratch = scratch;
            if scratch.receive_sync_message(&mut state, message).is_err() {
                return err(
                    Some(doc_id),
                    ErrorCode::InvalidMessage,
                    "not a valid sync message",
                );
            }
            self.docs
                .insert(doc_id, PeerDoc::Unknown { scratch, state });
            return self.generate(doc_id);
        }
        let admitted = match self.admit(doc_id, &scratch, 0, incoming) {
            Ok(a) => a,
            Err(effects) => {
                self.docs
                    .insert(doc_id, PeerDoc::Unknown { scratch, state });
                return effects;
            }
        };
        if admitted.bytes > self.limits.max_document_bytes {
            self.waiting.remove(&doc_id);
            self.docs
                .insert(doc_id, PeerDoc::Unknown { scratch, state });
            return err(
                Some(doc_id),
                ErrorCode::TooLarge,
                "the document would exceed its size limit",
            );
        }
        message.changes = admitted.chunks();
        let mut doc = scratch.clone();
        let mut trial_state = state.clone();
        if doc.receive_sync_message(&mut trial_state, message).is_err() {
            self.waiting.remove(&doc_id);
            self.docs
                .insert(doc_id, PeerDoc::Unknown { scratch, state });
            return err(
                Some(doc_id),
                ErrorCode::InvalidChange,
                "the changes could not be applied",
            );
        }
        if doc.get_heads().is_empty() {
            // Only changes whose dependencies are missing: keep waiting for them.
            self.docs.insert(
                doc_id,
                PeerDoc::Unknown {
                    scratch: doc,
                    state: trial_state,
                },
            );
            return self.generate(doc_id);
        }
        let kind = match read_kind(&doc) {
            Ok(Some(kind)) => kind,
            _ => {
                self.waiting.remove(&doc_id);
                self.docs
                    .insert(doc_id, PeerDoc::Unknown { scratch, state });
                return err(
                    Some(doc_id),
                    ErrorCode::InvalidDocument,
                    "a new document must set a root kind of walk, spreekuur or catalog",
                );
            }
        };
        if !self.principal.may_create(kind) {
            self.waiting.remove(&doc_id);
            self.docs
                .insert(doc_id, PeerDoc::Unknown { scratch, state });
            return err(Some(doc_id), ErrorCode::Forbidden, FORBIDDEN);
        }
        match ctx.docs_owned_by(&self.principal.user_id) {
            Ok(n) if n < self.limits.max_docs_per_user => {}
            Ok(_) => {
                self.waiting.remove(&doc_id);
                self.docs
                    .insert(doc_id, PeerDoc::Unknown { scratch, state });
                return err(
                    Some(doc_id),
                    ErrorCode::QuotaExceeded,
                    "you have created as many documents as the quota allows",
                );
            }
            Err(ContextError) => {
                self.waiting.remove(&doc_id);
                self.docs
                    .insert(doc_id, PeerDoc::Unknown { scratch, state });
                return err(
                    Some(doc_id),
                    ErrorCode::Internal,
                    "internal error; retry later",
                );
            }
        }
        let meta = DocMeta {
            id: doc_id,
            kind,
            owner: self.principal.user_id.clone(),
            team: self
                .principal
                .team_for_new_doc(kind, read_root_str(&doc, "team").as_deref()),
            created_at: now_ms(),
        };
        let changes: Vec<NewChange> = doc
            .get_changes(&[])
            .iter()
            .map(NewChange::from_change)
            .collect();
        let heads = doc.get_heads();
        let authors: HashMap<ActorId, UserId> = doc
            .get_changes(&[])
            .iter()
            .map(|c| (c.actor_id().clone(), self.principal.user_id.clone()))
            .collect();
        let projection = ctx.project(&meta, &doc, &authors);
        let create = NewDoc {
            kind,
            owner: meta.owner.clone(),
            team: meta.team.clone(),
        };
        let fresh = CachedDoc::new_uncommitted(meta, ctx.next_generation(), doc);
        if let Ok(mut inner) = fresh.lock() {
            inner.authors = authors;
        }
        let entry = match ctx.insert_new(fresh) {
            Ok(entry) => entry,
            Err(_existing) => {
                // Another connection created it a moment ago: our scratch
                // state is not its state. Answer with a fresh sync from it;
                // the client will resend its changes against that document.
                self.docs.remove(&doc_id);
                return match ctx.open(doc_id) {
                    Ok(Some(entry)) => self.restart_known(doc_id, entry),
                    _ => err(
                        Some(doc_id),
                        ErrorCode::Internal,
                        "internal error; retry later",
                    ),
                };
            }
        };
        let guard = match entry.lock() {
            Ok(g) => g,
            Err(Poisoned) => {
                ctx.evict(&entry);
                return err(
                    Some(doc_id),
                    ErrorCode::Internal,
                    "internal error; retry later",
                );
            }
        };
        let write = DocWrite {
            doc_id,
            user_id: self.principal.user_id.clone(),
            device_id: Some(self.principal.device_id.clone()),
            create: Some(create),
            changes,
            projection,
            schedule: super::scope::schedule_of(kind, &guard.doc),
            epoch: Some(entry.epoch),
        };
        self.submit(doc_id, &entry, write, heads, false, ctx);
        drop(guard);
        // The store subscribes the creating device in the same commit.
        self.known.insert(doc_id);
        self.scope.insert(doc_id);
        self.docs.insert(
            doc_id,
            PeerDoc::Known {
                entry,
                state: trial_state,
            },
        );
        Vec::new()
    }

    fn restart_known(&mut self, doc_id: DocId, entry: Arc<CachedDoc>) -> Vec<Effect> {
        let meta = &entry.meta;
        if !self.principal.may_see(meta.kind, meta.team.as_deref()) {
            return err(Some(doc_id), ErrorCode::Forbidden, FORBIDDEN);
        }
        self.known.insert(doc_id);
        self.docs.insert(
            doc_id,
            PeerDoc::Known {
                entry,
                state: State::new(),
            },
        );
        self.generate(doc_id)
    }

    fn submit(
        &mut self,
        doc_id: DocId,
        entry: &Arc<CachedDoc>,
        write: DocWrite,
        heads: Vec<ChangeHash>,
        project: bool,
        ctx: &dyn SyncContext,
    ) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.pending.insert(
            ticket,
            Pending {
                doc: doc_id,
                heads: heads.clone(),
            },
        );
        ctx.submit(
            ticket,
            entry.clone(),
            CommitJob {
                write,
                heads,
                project,
            },
        );
    }

    fn on_committed(&mut self, ticket: Ticket, result: Result<(), CommitFailure>) -> Vec<Effect> {
        let Some(Pending { doc, heads }) = self.pending.remove(&ticket) else {
            return Vec::new();
        };
        match result {
            Ok(()) => {
                let mut out = vec![Effect::Text(ServerMessage::Ack {
                    doc,
                    heads: protocol::heads_hex(&heads),
                })];
                out.extend(self.generate(doc));
                out
            }
            Err(CommitFailure::Revoked) => {
                self.docs.remove(&doc);
                vec![
                    Effect::Text(ServerMessage::error(
                        Some(doc),
                        ErrorCode::Unauthenticated,
                        "this device was revoked or the account disabled; nothing was stored",
                    )),
                    Effect::Close {
                        code: CLOSE_REVOKED,
                        reason: "revoked",
                    },
                ]
            }
            Err(failure) => {
                // The committer evicted the document; start this document's sync afresh.
                self.docs.remove(&doc);
                let (code, message) = match failure {
                    CommitFailure::Forbidden => (
                        ErrorCode::Forbidden,
                        "a change's actor id belongs to another user",
                    ),
                    CommitFailure::Conflict => (ErrorCode::Forbidden, FORBIDDEN),
                    CommitFailure::Rewritten => (
                        ErrorCode::DocumentRewritten,
                        "the server rewrote this document's history (data was erased); replace your copy",
                    ),
                    CommitFailure::StorageFull => (
                        ErrorCode::StorageFull,
                        "the server's disk is full and nothing of these changes was stored; reset this document's sync state and resend later",
                    ),
                    CommitFailure::Internal | CommitFailure::Revoked => (
                        ErrorCode::Internal,
                        "the changes could not be stored; reset this document's sync state and resend",
                    ),
                };
                err(Some(doc), code, message)
            }
        }
    }

    fn on_doc_changed(
        &mut self,
        doc_id: DocId,
        kind: DocKind,
        team: Option<&str>,
        origins: &[ConnId],
        facts: &ScopeFacts,
        ctx: &dyn SyncContext,
    ) -> Vec<Effect> {
        if origins.contains(&self.conn) || !self.principal.may_see(kind, team) {
            return Vec::new();
        }
        if !self.scope.contains(&doc_id) {
            if facts.rewritten {
                // An erasure brings nothing into a scope.
                return Vec::new();
            }
            // Did the change bring the document into this device's scope
            // (a walk planned for the team, a session naming the user staff)?
            let me = &self.principal.user_id;
            let member = facts.owner.as_ref() == Some(me)
                || facts.writers.contains(me)
                || facts
                    .schedule
                    .as_ref()
                    .is_some_and(|s| s.staff.iter().any(|u| u == me.as_str()));
            let candidate = ScopeCandidate {
                meta: DocMeta {
                    id: doc_id,
                    kind,
                    owner: facts.owner.clone().unwrap_or_else(|| me.clone()),
                    team: team.map(str::to_owned),
                    created_at: facts.created_at,
                },
                schedule: facts.schedule.clone(),
                member,
                subscribed_at: None,
                // Open call backs are read from the stored projection: a
                // session they bring in enters at the next scope check.
                tasks: Default::default(),
            };
            if scope::reason(
                &self.principal,
                &candidate,
                ctx.now_ms(),
                &self.limits.scope,
            )
            .is_none()
            {
                return Vec::new();
            }
            self.scope.insert(doc_id);
        }
        let mut out = Vec::new();
        let current = match self.docs.get(&doc_id) {
            Some(PeerDoc::Known { entry, .. }) => Some(entry.clone()),
            _ => None,
        };
        let entry = match ctx.open(doc_id) {
            Ok(Some(entry)) => entry,
            _ => return out,
        };
        let reuse = matches!(&current, Some(c) if Arc::ptr_eq(c, &entry));
        // An erasure rewrote the history since this connection last synced
        // the document: its client must replace its copy, so it is told the
        // new epoch again (even though it knows the document), and what
        // waited for dependencies belonged to the old history.
        let rewritten = matches!(&current, Some(c) if c.epoch != entry.epoch);
        if rewritten {
            self.known.remove(&doc_id);
            self.waiting.remove(&doc_id);
        }
        if !reuse {
            self.docs.insert(
                doc_id,
                PeerDoc::Known {
                    entry: entry.clone(),
                    state: State::new(),
                },
            );
        }
        if self.known.insert(doc_id) {
            let heads = match entry.committed_heads() {
                Ok(h) => h,
                Err(Poisoned) => return out,
            };
            out.push(Effect::Text(ServerMessage::Doc {
                id: doc_id,
                kind: entry.meta.kind,
                heads: protocol::heads_hex(&heads),
                epoch: entry.epoch,
            }));
        }
        out.extend(self.generate(doc_id));
        out
    }

    /// The next sync message for a document, if there is one to send.
    fn generate(&mut self, doc_id: DocId) -> Vec<Effect> {
        // While a commit of this connection's changes to the document is in
        // flight, its answer waits for the commit (`on_committed` sends the
        // ack and generates): made from the committed copy, which lacks those
        // changes, it would ask the device for them again, round after round
        // until the commit lands.
        if self.pending.values().any(|p| p.doc == doc_id) {
            return Vec::new();
        }
        let waiting = self.waiting.get(&doc_id).filter(|w| !w.is_empty());
        let share = self.limits.scope.share_messages;
        let mut made = None;
        let message = match self.docs.get_mut(&doc_id) {
            // Only what is committed is sent (see `DocInner::committed_doc`).
            Some(PeerDoc::Known { entry, state }) => match entry.lock() {
                // Changes held for their dependencies change the message
                // (`ask_for_missing`): only a connection without any shares.
                Ok(mut guard) if share && waiting.is_none() => {
                    let (message, how) = guard.shared_message(state);
                    made = how;
                    message
                }
                Ok(mut guard) => guard.committed_doc().and_then(|doc| {
                    made = Some(Made::Generated);
                    doc.generate_sync_message(state)
                        .map(|m| ask_for_missing(m, doc, waiting).encode())
                }),
                Err(Poisoned) => None,
            },
            Some(PeerDoc::Unknown { scratch, state }) => scratch
                .generate_sync_message(state)
                .map(|m| ask_for_missing(m, scratch, waiting).encode()),
            None => None,
        };
        match made {
            Some(Made::Generated) => self.messages.0 += 1,
            Some(Made::Reused) => self.messages.1 += 1,
            None => {}
        }
        match message {
            Some(m) => vec![Effect::Binary(protocol::encode_frame(doc_id, &m))],
            None => Vec::new(),
        }
    }

    /// Sync messages of known documents this session generated, and got
    /// from another connection in the same state instead, since the last
    /// call (for the metrics).
    pub fn take_message_counts(&mut self) -> (u64, u64) {
        std::mem::take(&mut self.messages)
    }
}

/// Changes held for their dependencies are kept out of the document, so
/// automerge's `need` names the held changes themselves: the peer then
/// sends nothing (it does not send a change twice on one connection) and
/// the two sides trade the same two messages forever while the held changes
/// never apply. Ask for what they wait for instead.
///
/// The hash lists also leave sorted, as the wire format requires (automerge
/// only debug-asserts it when encoding): a peer's unsorted heads would
/// otherwise come back as an unsorted `need`; found by the sync fuzzer.
fn ask_for_missing(
    mut message: Message,
    doc: &Automerge,
    waiting: Option<&Vec<Change>>,
) -> Message {
    let Some(waiting) = waiting.filter(|w| !w.is_empty()) else {
        return sorted(message);
    };
    let held: HashSet<ChangeHash> = waiting.iter().map(Change::hash).collect();
    message.need.retain(|h| !held.contains(h));
    for change in waiting {
        for dep in change.deps() {
            if !held.contains(dep)
                && doc.get_change_meta_by_hash(dep).is_none()
                && !message.need.contains(dep)
            {
                message.need.push(*dep);
            }
        }
    }
    sorted(message)
}

/// Sorts and deduplicates the hash lists of a message.
fn sorted(mut message: Message) -> Message {
    message.heads.sort();
    message.heads.dedup();
    message.need.sort();
    message.need.dedup();
    for have in &mut message.have {
        have.last_sync.sort();
        have.last_sync.dedup();
    }
    message
}

/// What [`Session::admit`] lets through.
#[derive(Debug, Default)]
struct Admitted {
    /// Causally ready changes, in an order automerge applies without queueing.
    ready: Vec<Change>,
    /// Their total size.
    bytes: u64,
}

impl Admitted {
    fn chunks(&self) -> automerge::sync::ChunkList {
        automerge::sync::ChunkList::from(
            self.ready
                .iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect::<Vec<_>>(),
        )
    }
}

/// Splits `candidates` into the changes `doc` lacks whose dependencies are
/// all in `doc` or among those changes (in causal order), and the ones that
/// still miss a dependency. Duplicates and changes `doc` has are dropped.
fn causal_split(doc: &Automerge, mut candidates: Vec<Change>) -> (Vec<Change>, Vec<Change>) {
    let mut seen = HashSet::new();
    candidates
        .retain(|c| seen.insert(c.hash()) && doc.get_change_meta_by_hash(&c.hash()).is_none());
    let index: HashMap<ChangeHash, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let n = candidates.len();
    let mut unmet = vec![0usize; n];
    let mut blocked = vec![false; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, c) in candidates.iter().enumerate() {
        for dep in c.deps() {
            if let Some(&j) = index.get(dep) {
                unmet[i] += 1;
                dependents[j].push(i);
            } else if doc.get_change_meta_by_hash(dep).is_none() {
                blocked[i] = true;
            }
        }
    }
    let mut queue: Vec<usize> = (0..n).filter(|&i| unmet[i] == 0 && !blocked[i]).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = queue.pop() {
        order.push(i);
        for &k in &dependents[i] {
            unmet[k] -= 1;
            if unmet[k] == 0 && !blocked[k] {
                queue.push(k);
            }
        }
    }
    let mut slots: Vec<Option<Change>> = candidates.into_iter().map(Some).collect();
    let ready: Vec<Change> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let waiting: Vec<Change> = slots.into_iter().flatten().collect();
    (ready, waiting)
}

/// Why [`check_depth`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepthError {
    /// An object would sit deeper than the limit.
    TooDeep,
    /// An object is created inside an object the document does not have.
    UnknownObject,
}

/// Checks that applying `ready` (in order) to `doc` creates no object
/// deeper than `max_depth` (the root is depth 0, an object in it depth 1).
/// Reads only the changes' operations and, for objects the document already
/// has, their chain of parents; never recurses.
fn check_depth(doc: &Automerge, ready: &[Change], max_depth: usize) -> Result<(), DepthError> {
    use automerge::legacy::ObjectId;
    let mut known: HashMap<(u64, ActorId), usize> = HashMap::new();
    for change in ready {
        let expanded = change.decode();
        let start = change.start_op().get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if !matches!(op.action, automerge::legacy::OpType::Make(_)) {
                continue;
            }
            let parent = match &op.obj {
                ObjectId::Root => 0,
                ObjectId::Id(id) => {
                    let key = (id.0, id.1.clone());
                    match known.get(&key) {
                        Some(d) => *d,
                        None => {
                            let exid = automerge::ObjId::Id(id.0, id.1.clone(), usize::MAX);
                            let d = doc
                                .parents(&exid)
                                .map_err(|_| DepthError::UnknownObject)?
                                .take(max_depth + 1)
                                .count();
                            known.insert(key, d);
                            d
                        }
                    }
                }
            };
            let depth = parent + 1;
            if depth > max_depth {
                return Err(DepthError::TooDeep);
            }
            known.insert((start + i as u64, change.actor_id().clone()), depth);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::time::Duration;

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ScalarValue};

    use super::*;
    use crate::domain::{DeviceId, Role};

    /// An in-memory [`SyncContext`]: documents, actor bindings, and the
    /// writes submitted to the (absent) committer.
    #[derive(Default)]
    struct Fake {
        docs: RefCell<HashMap<DocId, Arc<CachedDoc>>>,
        owners: RefCell<HashMap<ActorId, UserId>>,
        submitted: RefCell<Vec<(Ticket, Arc<CachedDoc>, CommitJob)>>,
        generation: Cell<u64>,
    }

    impl SyncContext for Fake {
        fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, ContextError> {
            Ok(self.docs.borrow().get(&id).cloned())
        }
        fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>> {
            let mut docs = self.docs.borrow_mut();
            if let Some(e) = docs.get(&doc.meta.id) {
                return Err(e.clone());
            }
            let e = Arc::new(doc);
            docs.insert(e.meta.id, e.clone());
            Ok(e)
        }
        fn evict(&self, doc: &CachedDoc) {
            doc.poison();
            self.docs.borrow_mut().remove(&doc.meta.id);
        }
        fn next_generation(&self) -> u64 {
            self.generation.set(self.generation.get() + 1);
            self.generation.get()
        }
        fn actor_owner(&self, actor: &ActorId) -> Result<Option<UserId>, ContextError> {
            Ok(self.owners.borrow().get(actor).cloned())
        }
        fn docs_owned_by(&self, user: &UserId) -> Result<u64, ContextError> {
            Ok(self
                .docs
                .borrow()
                .values()
                .filter(|d| &d.meta.owner == user)
                .count() as u64)
        }
        fn project(
            &self,
            _meta: &DocMeta,
            _doc: &Automerge,
            _authors: &HashMap<ActorId, UserId>,
        ) -> Option<Vec<ProjectionRow>> {
            None
        }
        fn submit(&self, ticket: Ticket, doc: Arc<CachedDoc>, job: CommitJob) {
            self.submitted.borrow_mut().push((ticket, doc, job));
        }
    }

    impl Fake {
        /// Plays the committer: every submitted write succeeds, in order.
        fn commit_all(&self, session: &mut Session, now: Instant) -> Vec<Effect> {
            let jobs: Vec<_> = self.submitted.borrow_mut().drain(..).collect();
            let mut out = Vec::new();
            for (ticket, entry, job) in jobs {
                for c in &job.write.changes {
                    let actor = ActorId::from(c.actor.clone());
                    self.owners
                        .borrow_mut()
                        .entry(actor)
                        .or_insert(job.write.user_id.clone());
                }
                entry.mark_committed(&job.heads);
                out.extend(session.handle(
                    Event::Committed {
                        ticket,
                        result: Ok(()),
                    },
                    self,
                    now,
                ));
            }
            out
        }
    }

    fn principal(user: &str, roles: &[Role], team: Option<&str>) -> Principal {
        Principal {
            user_id: UserId::parse(user).expect("user id"),
            name: "Test".into(),
            roles: roles.to_vec(),
            team: team.map(str::to_owned),
            device_id: DeviceId::from_string(format!("dev-{user}")),
        }
    }

    fn session(conn: ConnId, p: Principal) -> Session {
        Session::new(conn, p, SyncLimits::default(), &[], Instant::now())
    }

    /// A live update: a walk of team noord changed by the connections
    /// `origins`, with no scope facts.
    fn noord_walk_changed(doc: DocId, origins: Vec<ConnId>) -> Event {
        Event::DocChanged {
            doc,
            kind: DocKind::Walk,
            team: Some("noord".into()),
            origins,
            scope: ScopeFacts::default(),
        }
    }

    fn walk(actor: u8) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(vec![actor; 16]));
        doc.put(ROOT, "kind", "walk").expect("put");
        doc.put(ROOT, "schema", 1).expect("put");
        doc.commit();
        doc
    }

    /// One sync round from the client side: the frame it sends.
    fn client_frame(id: DocId, doc: &mut AutoCommit, state: &mut State) -> Option<Vec<u8>> {
        doc.sync()
            .generate_sync_message(state)
            .map(|m| protocol::encode_frame(id, &m.encode()))
    }

    fn client_receive(doc: &mut AutoCommit, state: &mut State, effects: &[Effect]) {
        for e in effects {
            if let Effect::Binary(frame) = e {
                let (_, bytes) = protocol::split_frame(frame).expect("frame");
                let msg = Message::decode(bytes).expect("message");
                doc.sync()
                    .receive_sync_message(state, msg)
                    .expect("receive");
            }
        }
    }

    fn errors(effects: &[Effect]) -> Vec<(Option<DocId>, ErrorCode)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Text(ServerMessage::Error { doc, code, .. }) => Some((*doc, *code)),
                _ => None,
            })
            .collect()
    }

    fn acks(effects: &[Effect]) -> Vec<(DocId, Vec<String>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Text(ServerMessage::Ack { doc, heads }) => Some((*doc, heads.clone())),
                _ => None,
            })
            .collect()
    }

    /// Syncs `doc` with the server session until neither side has anything
    /// to say, playing the committer in between. Returns every effect.
    fn sync_until_quiet(
        id: DocId,
        doc: &mut AutoCommit,
        state: &mut State,
        s: &mut Session,
        ctx: &Fake,
    ) -> Vec<Effect> {
        let now = Instant::now();
        let mut all = Vec::new();
        for _ in 0..20 {
            let Some(frame) = client_frame(id, doc, state) else {
                break;
            };
            let mut effects = s.handle(Event::Binary(frame), ctx, now);
            effects.extend(ctx.commit_all(s, now));
            client_receive(doc, state, &effects);
            all.extend(effects);
        }
        all
    }

    #[test]
    fn old_history_of_a_rewritten_document_is_refused_as_document_rewritten() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let mut base = walk(1);
        let mut stale = base.fork().with_actor(ActorId::from(vec![1; 16]));
        // The server's (rewritten) history: seq 2 of actor 1 says "x".
        base.put(ROOT, "title", "x").expect("put");
        base.commit();
        let effects = sync_until_quiet(id, &mut base, &mut State::new(), &mut s, &ctx);
        assert!(errors(&effects).is_empty());
        // The old history: seq 2 of actor 1 said something else.
        stale.put(ROOT, "title", "erased value").expect("put");
        stale.commit();
        let mut s2 = session(2, principal("ann", &[Role::Boa], Some("noord")));
        let mut msg = stale
            .sync()
            .generate_sync_message(&mut State::new())
            .expect("msg");
        let chunks: Vec<Vec<u8>> = stale
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        msg.changes = automerge::sync::ChunkList::from(chunks);
        let effects = s2.handle(
            Event::Binary(protocol::encode_frame(id, &msg.encode())),
            &ctx,
            Instant::now(),
        );
        assert_eq!(
            errors(&effects),
            vec![(Some(id), ErrorCode::DocumentRewritten)]
        );
        assert!(acks(&effects).is_empty());
    }

    #[test]
    fn a_boa_creates_a_walk_owned_by_their_token_and_gets_an_ack_after_the_commit() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let mut doc = walk(1);
        // The document's own content claims another team; the token wins.
        doc.put(ROOT, "team", "zuid").expect("put");
        doc.commit();
        let mut state = State::new();
        let frame = client_frame(id, &mut doc, &mut state).expect("first message");
        let effects = s.handle(Event::Binary(frame), &ctx, Instant::now());
        // The first message has no changes (only heads): the server answers.
        assert!(errors(&effects).is_empty());
        client_receive(&mut doc, &mut state, &effects);
        let frame = client_frame(id, &mut doc, &mut state).expect("changes");
        let effects = s.handle(Event::Binary(frame), &ctx, Instant::now());
        assert!(acks(&effects).is_empty(), "no ack before the commit");
        let submitted = ctx.submitted.borrow();
        assert_eq!(submitted.len(), 1);
        let write = &submitted[0].2.write;
        let create = write.create.as_ref().expect("creates the document");
        assert_eq!(create.kind, DocKind::Walk);
        assert_eq!(create.owner.as_str(), "ann");
        assert_eq!(create.team.as_deref(), Some("noord"));
        assert_eq!(write.changes.len(), 2);
        drop(submitted);
        let effects = ctx.commit_all(&mut s, Instant::now());
        assert_eq!(
            acks(&effects),
            vec![(id, protocol::heads_hex(&doc.get_heads()))]
        );
    }

    #[test]
    fn a_document_without_a_known_kind_is_invalid_and_nothing_is_stored() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        for kind in [Some("shopping_list"), None] {
            let id = DocId::new_v4();
            let mut doc = AutoCommit::new();
            match kind {
                Some(k) => doc.put(ROOT, "kind", k).expect("put"),
                None => doc.put(ROOT, "title", "x").expect("put"),
            }
            doc.commit();
            let effects = sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
            assert_eq!(
                errors(&effects),
                vec![(Some(id), ErrorCode::InvalidDocument)]
            );
            assert!(ctx.submitted.borrow().is_empty());
            assert!(ctx.docs.borrow().is_empty());
        }
    }

    #[test]
    fn only_admins_create_the_catalog() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "kind", "catalog").expect("put");
        doc.commit();
        let mut boa = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let effects = sync_until_quiet(id, &mut doc.clone(), &mut State::new(), &mut boa, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
        let mut admin = session(2, principal("root", &[Role::Admin], None));
        let effects = sync_until_quiet(id, &mut doc, &mut State::new(), &mut admin, &ctx);
        assert!(errors(&effects).is_empty());
        assert_eq!(acks(&effects).len(), 1);
        // Everyone reads it, but a boa may not change it.
        let mut copy = doc.fork();
        copy.put(ROOT, "x", 1).expect("put");
        copy.commit();
        let effects = sync_until_quiet(id, &mut copy, &mut State::new(), &mut boa, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
        // Nor may a coordinator: the catalog is the admins' to change.
        let mut coord = session(3, principal("cora", &[Role::Coordinator], None));
        let effects = sync_until_quiet(id, &mut copy, &mut State::new(), &mut coord, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
        let stored = ctx.docs.borrow().get(&id).cloned().expect("catalog");
        let heads = stored.lock().expect("lock").doc.get_heads();
        assert_eq!(heads, doc.get_heads(), "nothing of theirs stored");
    }

    #[test]
    fn a_coordinator_plans_a_walk_for_the_team_the_document_names() {
        let ctx = Fake::default();
        let mut coord = session(1, principal("cora", &[Role::Coordinator], None));
        let id = DocId::new_v4();
        let mut doc = walk(1);
        doc.put(ROOT, "team", "zuid").expect("put");
        doc.commit();
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut coord, &ctx);
        let stored = ctx.docs.borrow().get(&id).cloned().expect("created");
        assert_eq!(stored.meta.team.as_deref(), Some("zuid"));
        assert_eq!(stored.meta.owner.as_str(), "cora");
        // A boa of that team sees it; a boa of another team does not.
        let mut zed = session(2, principal("zed", &[Role::Boa], Some("zuid")));
        let mut theirs = AutoCommit::new();
        let effects = sync_until_quiet(id, &mut theirs, &mut State::new(), &mut zed, &ctx);
        assert!(errors(&effects).is_empty());
        assert_eq!(theirs.get_heads(), doc.get_heads());
        let mut ann = session(3, principal("ann", &[Role::Boa], Some("noord")));
        let effects = sync_until_quiet(
            id,
            &mut AutoCommit::new(),
            &mut State::new(),
            &mut ann,
            &ctx,
        );
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
    }

    #[test]
    fn another_team_is_refused_and_learns_nothing_of_the_content() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut doc = walk(1);
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut ann, &ctx);
        let mut zed = session(2, principal("zed", &[Role::Boa], Some("zuid")));
        let mut theirs = AutoCommit::new();
        let effects = sync_until_quiet(id, &mut theirs, &mut State::new(), &mut zed, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
        assert!(!effects.iter().any(|e| matches!(e, Effect::Binary(_))));
        assert!(theirs.get_heads().is_empty());
        // Live updates skip them too.
        let live = zed.handle(noord_walk_changed(id, vec![1]), &ctx, Instant::now());
        assert!(live.is_empty());
    }

    #[test]
    fn a_change_from_an_actor_bound_to_another_user_is_forbidden() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut doc = walk(7);
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut ann, &ctx);
        // Bob (same team) edits with Ann's actor id.
        let mut forged = doc.fork().with_actor(ActorId::from(vec![7u8; 16]));
        forged.put(ROOT, "title", "forged").expect("put");
        forged.commit();
        let mut bob = session(2, principal("bob", &[Role::Boa], Some("noord")));
        let effects = sync_until_quiet(id, &mut forged, &mut State::new(), &mut bob, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::Forbidden)]);
        assert!(ctx.submitted.borrow().is_empty());
        // Nothing of it reached the shared document.
        let entry = ctx.open(id).expect("ctx").expect("doc");
        assert_eq!(entry.lock().expect("lock").doc.get_heads(), doc.get_heads());
    }

    #[test]
    fn a_teammate_resending_the_creators_stored_changes_with_an_edit_is_accepted() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut doc = walk(1);
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut ann, &ctx);
        // Bob (same team, his own actor) edits and sends a message that carries
        // the whole document: Ann's stored changes plus his new one, as
        // automerge's sync does for a small document.
        let mut bobs = doc.fork().with_actor(ActorId::from(vec![2u8; 16]));
        bobs.put(ROOT, "title", "by bob").expect("put");
        bobs.commit();
        let all: Vec<Vec<u8>> = bobs
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        assert!(all.len() >= 2, "the message must carry Ann's change too");
        let mut msg = bobs
            .sync()
            .generate_sync_message(&mut State::new())
            .expect("msg");
        msg.changes = automerge::sync::ChunkList::from(all);
        let mut bob = session(2, principal("bob", &[Role::Boa], Some("noord")));
        let effects = bob.handle(
            Event::Binary(protocol::encode_frame(id, &msg.encode())),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty(), "{:?}", errors(&effects));
        let entry = ctx.open(id).expect("ctx").expect("doc");
        assert_eq!(
            entry.lock().expect("lock").doc.get_heads(),
            bobs.get_heads()
        );
    }

    #[test]
    fn a_retried_upload_stores_nothing_new_but_is_acked() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut doc = walk(1);
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut ann, &ctx);
        // A fresh connection resends everything (the first ack was lost).
        let mut again = session(2, principal("ann", &[Role::Boa], Some("noord")));
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let mut msg_state = State::new();
        let mut msg = doc
            .sync()
            .generate_sync_message(&mut msg_state)
            .expect("msg");
        msg.changes = automerge::sync::ChunkList::from(changes);
        let effects = again.handle(
            Event::Binary(protocol::encode_frame(id, &msg.encode())),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty());
        let submitted: Vec<usize> = ctx
            .submitted
            .borrow()
            .iter()
            .map(|(_, _, j)| j.write.changes.len())
            .collect();
        assert_eq!(submitted, vec![0], "an ordering-only write, no changes");
        let effects = ctx.commit_all(&mut again, Instant::now());
        assert_eq!(
            acks(&effects),
            vec![(id, protocol::heads_hex(&doc.get_heads()))]
        );
    }

    #[test]
    fn bad_frames_get_their_codes_and_the_session_carries_on() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let now = Instant::now();
        let cases: Vec<(Event, (Option<DocId>, ErrorCode))> = vec![
            (
                Event::Binary(vec![1, 2, 3]),
                (None, ErrorCode::InvalidMessage),
            ),
            (
                Event::Binary(protocol::encode_frame(id, b"garbage")),
                (Some(id), ErrorCode::InvalidMessage),
            ),
            (
                Event::Text("{not json".into()),
                (None, ErrorCode::InvalidMessage),
            ),
            (
                Event::Text(r#"{"type":"subscribe"}"#.into()),
                (None, ErrorCode::InvalidMessage),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(errors(&s.handle(event, &ctx, now)), vec![expected]);
        }
        // A sync message whose change chunk is corrupt.
        let mut doc = walk(1);
        let mut msg = doc
            .sync()
            .generate_sync_message(&mut State::new())
            .expect("msg");
        let mut bytes = doc.get_changes(&[])[0].raw_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        msg.changes = automerge::sync::ChunkList::from(vec![bytes]);
        let effects = s.handle(
            Event::Binary(protocol::encode_frame(id, &msg.encode())),
            &ctx,
            now,
        );
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::InvalidChange)]);
        // And the session still syncs a good document.
        let effects = sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        assert!(errors(&effects).is_empty());
        assert_eq!(acks(&effects).len(), 1);
    }

    #[test]
    fn limits_answer_too_large() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            max_frame_bytes: 2000,
            max_changes_per_message: 3,
            ..SyncLimits::default()
        };
        let p = principal("ann", &[Role::Boa], Some("noord"));
        let mut s = Session::new(1, p, limits, &[], Instant::now());
        let id = DocId::new_v4();
        let big = protocol::encode_frame(id, &vec![0x42; 2001]);
        assert_eq!(
            errors(&s.handle(Event::Binary(big), &ctx, Instant::now())),
            vec![(Some(id), ErrorCode::TooLarge)]
        );
        let mut doc = walk(1);
        for i in 0..5 {
            doc.put(ROOT, "n", i).expect("put");
            doc.commit();
        }
        let effects = sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::TooLarge)]);
    }

    #[test]
    fn frames_for_documents_the_server_does_not_have_leave_nothing_in_the_connection() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            message_burst: 10_000,
            ..SyncLimits::default()
        };
        let mut s = session_with(limits);
        let now = Instant::now();
        // A thousand made-up ids, each with a first sync message (no
        // changes): each is answered, and none is remembered.
        let mut doc = walk(1);
        for _ in 0..1000 {
            let id = DocId::new_v4();
            let frame = client_frame(id, &mut doc, &mut State::new()).expect("frame");
            let effects = s.handle(Event::Binary(frame), &ctx, now);
            assert!(errors(&effects).is_empty(), "{effects:?}");
            assert_eq!(
                effects
                    .iter()
                    .filter(|e| matches!(e, Effect::Binary(_)))
                    .count(),
                1,
                "answered as by an empty document"
            );
        }
        // And as many refused creations (no kind).
        for _ in 0..1000 {
            let id = DocId::new_v4();
            let mut bad = AutoCommit::new();
            bad.put(ROOT, "title", "geen soort").expect("put");
            bad.commit();
            let effects = s.handle(Event::Binary(frame_since(id, &mut bad, &[])), &ctx, now);
            assert_eq!(
                errors(&effects),
                vec![(Some(id), ErrorCode::InvalidDocument)]
            );
        }
        assert_eq!(s.docs.len(), 0, "no per-document state kept");
        assert!(ctx.submitted.borrow().is_empty());
        // The ordinary creation still goes through: first message, then the
        // changes, on a fresh state each time on the server's side.
        let id = DocId::new_v4();
        let mut state = State::new();
        let effects = sync_until_quiet(id, &mut doc, &mut state, &mut s, &ctx);
        assert!(errors(&effects).is_empty(), "{effects:?}");
        assert_eq!(
            acks(&effects),
            vec![(id, protocol::heads_hex(&doc.get_heads()))]
        );
        assert_eq!(s.docs.len(), 1);
    }

    #[test]
    fn the_message_budget_answers_rate_limited() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            messages_per_second: 1,
            message_burst: 2,
            ..SyncLimits::default()
        };
        let t0 = Instant::now();
        let mut s = Session::new(
            1,
            principal("ann", &[Role::Boa], Some("noord")),
            limits,
            &[],
            t0,
        );
        let text = || Event::Text("{}".into());
        assert_eq!(
            errors(&s.handle(text(), &ctx, t0)),
            vec![(None, ErrorCode::InvalidMessage)]
        );
        assert_eq!(
            errors(&s.handle(text(), &ctx, t0)),
            vec![(None, ErrorCode::InvalidMessage)]
        );
        assert_eq!(
            errors(&s.handle(text(), &ctx, t0)),
            vec![(None, ErrorCode::RateLimited)]
        );
        let later = t0 + std::time::Duration::from_secs(1);
        assert_eq!(
            errors(&s.handle(text(), &ctx, later)),
            vec![(None, ErrorCode::InvalidMessage)]
        );
    }

    #[test]
    fn a_failed_commit_is_reported_as_internal_for_that_document_only() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let (a, b) = (DocId::new_v4(), DocId::new_v4());
        let mut doc_a = walk(1);
        let mut state_a = State::new();
        let now = Instant::now();
        for _ in 0..2 {
            if let Some(frame) = client_frame(a, &mut doc_a, &mut state_a) {
                let effects = s.handle(Event::Binary(frame), &ctx, now);
                client_receive(&mut doc_a, &mut state_a, &effects);
            }
        }
        let (ticket, entry, _) = ctx.submitted.borrow_mut().pop().expect("a write");
        ctx.evict(&entry);
        let effects = s.handle(
            Event::Committed {
                ticket,
                result: Err(CommitFailure::Internal),
            },
            &ctx,
            now,
        );
        assert_eq!(errors(&effects), vec![(Some(a), ErrorCode::Internal)]);
        assert!(acks(&effects).is_empty());
        let effects = sync_until_quiet(b, &mut walk(2), &mut State::new(), &mut s, &ctx);
        assert_eq!(acks(&effects).len(), 1);
        // The client resends document a with a fresh sync state, and it is stored.
        let effects = sync_until_quiet(a, &mut doc_a, &mut State::new(), &mut s, &ctx);
        assert_eq!(
            acks(&effects),
            vec![(a, protocol::heads_hex(&doc_a.get_heads()))]
        );
    }

    #[test]
    fn changing_the_kind_of_a_document_is_invalid_and_leaves_it_as_it_was() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let mut doc = walk(1);
        let mut state = State::new();
        sync_until_quiet(id, &mut doc, &mut state, &mut s, &ctx);
        doc.put(ROOT, "kind", "catalog").expect("put");
        doc.commit();
        let effects = sync_until_quiet(id, &mut doc, &mut state, &mut s, &ctx);
        assert_eq!(
            errors(&effects),
            vec![(Some(id), ErrorCode::InvalidDocument)]
        );
        assert!(ctx.submitted.borrow().is_empty());
        assert!(
            ctx.docs.borrow().get(&id).is_none(),
            "evicted, to be reloaded from the store"
        );
    }

    #[test]
    fn a_teammates_new_walk_is_announced_then_synced_live() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let mut bob = session(2, principal("bob", &[Role::Boa], Some("noord")));
        let mut doc = walk(1);
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut ann, &ctx);
        let event = |started: bool| Event::DocChanged {
            doc: id,
            kind: DocKind::Walk,
            team: Some("noord".into()),
            origins: vec![1],
            scope: ScopeFacts {
                owner: Some(UserId::parse("ann").expect("id")),
                created_at: now_ms(),
                schedule: Some(crate::storage::DocSchedule {
                    planned_at: Some(now_ms() + 86_400_000),
                    started,
                    running: started,
                    last_at: Some(now_ms()),
                    staff: Vec::new(),
                }),
                writers: vec![UserId::parse("ann").expect("id")],
                rewritten: false,
            },
        };
        assert!(
            ann.handle(event(false), &ctx, Instant::now()).is_empty(),
            "origin skipped"
        );
        // A running walk of a teammate is not pushed (joined on demand).
        assert!(bob.handle(event(true), &ctx, Instant::now()).is_empty());
        // A walk planned for the team is.
        let effects = bob.handle(event(false), &ctx, Instant::now());
        assert!(matches!(
            &effects[0],
            Effect::Text(ServerMessage::Doc { id: d, kind: DocKind::Walk, heads, epoch: 0 })
                if *d == id && *heads == protocol::heads_hex(&doc.get_heads())
        ));
        assert!(matches!(effects[1], Effect::Binary(_)));
        // Bob's client follows the server's lead and ends with Ann's walk.
        let mut bobs = AutoCommit::new();
        let mut state = State::new();
        client_receive(&mut bobs, &mut state, &effects);
        sync_until_quiet(id, &mut bobs, &mut state, &mut bob, &ctx);
        assert_eq!(bobs.get_heads(), doc.get_heads());
    }

    /// The binary frames among `effects`.
    fn binaries(effects: &[Effect]) -> Vec<Vec<u8>> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Binary(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// Pushes one committed edit of Ann's walk to Bob and Cara, whose
    /// connections are in step with it, and to Dirk, whose device has not
    /// answered the server's first message yet. Returns the three pushes,
    /// the messages generated and reused for them, and whether
    /// every device ends with Ann's heads.
    fn push_to_three(share: bool) -> ([Vec<Vec<u8>>; 3], (u64, u64), bool) {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut limits = SyncLimits::default();
        limits.scope.share_messages = share;
        let boa = |conn: ConnId, name: &str| {
            Session::new(
                conn,
                principal(name, &[Role::Boa], Some("noord")),
                limits.clone(),
                &[],
                Instant::now(),
            )
        };
        let (mut ann, mut bob, mut cara, mut dirk) =
            (boa(1, "ann"), boa(2, "bob"), boa(3, "cara"), boa(4, "dirk"));
        let now = Instant::now();
        let mut anns = walk(1);
        let mut ann_state = State::new();
        sync_until_quiet(id, &mut anns, &mut ann_state, &mut ann, &ctx);
        let mut devices: Vec<(AutoCommit, State)> =
            (0..3).map(|_| (AutoCommit::new(), State::new())).collect();
        for (device, session) in devices.iter_mut().zip([&mut bob, &mut cara]) {
            let (doc, state) = device;
            sync_until_quiet(id, doc, state, session, &ctx);
        }
        // Dirk sends his first message and gets the answer, but does not reply.
        let (dirks, dirk_state) = &mut devices[2];
        let frame = client_frame(id, dirks, dirk_state).expect("dirk's first message");
        let answer = dirk.handle(Event::Binary(frame), &ctx, now);
        client_receive(dirks, dirk_state, &answer);

        anns.put(ROOT, "title", "Avondronde").expect("put");
        anns.commit();
        let frame = client_frame(id, &mut anns, &mut ann_state).expect("ann's edit");
        ann.handle(Event::Binary(frame), &ctx, now);
        ctx.commit_all(&mut ann, now);
        let mut counts = (0, 0);
        let pushes = [&mut bob, &mut cara, &mut dirk].map(|s| {
            s.take_message_counts();
            let push = binaries(&s.handle(noord_walk_changed(id, vec![1]), &ctx, now));
            let (generated, reused) = s.take_message_counts();
            counts = (counts.0 + generated, counts.1 + reused);
            push
        });
        let sessions = [&mut bob, &mut cara, &mut dirk];
        let mut converged = true;
        for ((device, session), push) in devices.iter_mut().zip(sessions).zip(&pushes) {
            let (doc, state) = device;
            let effects: Vec<Effect> = push.iter().cloned().map(Effect::Binary).collect();
            client_receive(doc, state, &effects);
            sync_until_quiet(id, doc, state, session, &ctx);
            converged &= doc.get_heads() == anns.get_heads();
        }
        (pushes, counts, converged)
    }

    #[test]
    fn connections_in_the_same_sync_state_share_one_generated_message() {
        let ([bob, cara, dirk], (generated, reused), converged) = push_to_three(true);
        assert_eq!(bob.len(), 1, "one push to Bob");
        assert_eq!(
            bob, cara,
            "Bob and Cara were in the same state: the same bytes"
        );
        assert_ne!(bob, dirk, "Dirk was not in step: a message of his own");
        assert_eq!(
            (generated, reused),
            (2, 1),
            "one generation for Bob and Cara, one for Dirk"
        );
        assert!(converged, "every device ends with Ann's edit");
        // Without sharing: the same messages, each generated.
        let (unshared, (generated, reused), converged) = push_to_three(false);
        assert_eq!((generated, reused), (3, 0));
        assert_eq!(unshared[0], unshared[1]);
        assert!(converged);
    }

    /// `effects`' sync messages applied to a copy of `base` (what a device
    /// holding `base` would end up with).
    fn received_by(base: &mut AutoCommit, effects: &[Effect]) -> AutoCommit {
        let mut copy = base.fork();
        let mut state = State::new();
        // The device's view of the exchange: it starts from what it holds.
        client_receive(&mut copy, &mut state, effects);
        copy
    }

    #[test]
    fn a_change_reaches_other_devices_only_after_its_commit() {
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let mut bob = session(2, principal("bob", &[Role::Boa], Some("noord")));
        let now = Instant::now();
        let mut anns = walk(1);
        let mut ann_state = State::new();
        sync_until_quiet(id, &mut anns, &mut ann_state, &mut ann, &ctx);
        let mut bobs = AutoCommit::new();
        let mut bob_state = State::new();
        sync_until_quiet(id, &mut bobs, &mut bob_state, &mut bob, &ctx);
        assert_eq!(bobs.get_heads(), anns.get_heads());
        let committed = anns.get_heads();

        // Ann's edit is applied to the shared copy; its commit is in flight.
        anns.put(ROOT, "title", "not yet stored").expect("put");
        anns.commit();
        let draft = anns.get_heads()[0];
        let frame = client_frame(id, &mut anns, &mut ann_state).expect("ann's change");
        let effects = ann.handle(Event::Binary(frame), &ctx, now);
        assert!(errors(&effects).is_empty() && acks(&effects).is_empty());
        assert_eq!(ctx.submitted.borrow().len(), 1);

        // Whatever Bob's connection is sent meanwhile holds only what is committed:
        // the answer to a fresh sync, a resync, and a subscribe.
        let mut fresh = State::new();
        let frame = client_frame(id, &mut bobs, &mut fresh).expect("bob's first message");
        let mut sent = bob.handle(Event::Binary(frame), &ctx, now);
        sent.extend(bob.handle(Event::Resync, &ctx, now));
        sent.extend(bob.handle(
            Event::Text(format!(r#"{{"type":"subscribe","doc":"{id}"}}"#)),
            &ctx,
            now,
        ));
        let mut bobs_copy = received_by(&mut bobs, &sent);
        assert!(
            bobs_copy.get_change_by_hash(&draft).is_none(),
            "a change whose commit is in flight reached another device"
        );
        assert_eq!(bobs_copy.get_heads(), committed);
        for e in &sent {
            if let Effect::Binary(frame) = e {
                let (_, bytes) = protocol::split_frame(frame).expect("frame");
                let msg = Message::decode(bytes).expect("message");
                assert!(
                    !msg.heads.contains(&draft),
                    "heads name an uncommitted change"
                );
            }
        }

        // The commit finishes: Bob's push now carries the change.
        ctx.commit_all(&mut ann, now);
        let push = bob.handle(noord_walk_changed(id, vec![1]), &ctx, now);
        client_receive(&mut bobs, &mut fresh, &push);
        sync_until_quiet(id, &mut bobs, &mut fresh, &mut bob, &ctx);
        assert!(bobs.get_change_by_hash(&draft).is_some());
        assert_eq!(bobs.get_heads(), anns.get_heads());
    }

    #[test]
    fn a_device_is_not_asked_again_for_a_change_whose_commit_is_in_flight() {
        // The answer to a device about a document whose commit from this same
        // connection is in flight waits for the commit (the ack brings it): made
        // from the committed copy, which lacks the change, it asked the device
        // for the change again, and device and server went round, a frame each
        // way per round against the rate limit, until the commit landed (under
        // load: `rate_limited`).
        let ctx = Fake::default();
        let id = DocId::new_v4();
        let mut ann = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let now = Instant::now();
        let mut anns = walk(1);
        let mut ann_state = State::new();
        sync_until_quiet(id, &mut anns, &mut ann_state, &mut ann, &ctx);

        anns.put(ROOT, "title", "on its way").expect("put");
        anns.commit();
        let frame = client_frame(id, &mut anns, &mut ann_state).expect("ann's change");
        let effects = ann.handle(Event::Binary(frame), &ctx, now);
        assert!(acks(&effects).is_empty());
        // The device starts this document's sync afresh on the same socket (as
        // the app does after a retryable error) while the commit is in flight.
        let mut again = State::new();
        let mut rounds = 0;
        while let Some(frame) = client_frame(id, &mut anns, &mut again) {
            rounds += 1;
            if rounds > 10 {
                break;
            }
            let effects = ann.handle(Event::Binary(frame), &ctx, now);
            client_receive(&mut anns, &mut again, &effects);
        }
        assert!(
            rounds <= 2,
            "device and server went round {rounds} times while the commit was in flight"
        );
        assert_eq!(ctx.submitted.borrow().len(), 1, "one commit for one change");

        // The commit lands: the ack and the answer come together, and the exchange ends.
        let effects = ctx.commit_all(&mut ann, now);
        assert_eq!(acks(&effects).len(), 1);
        client_receive(&mut anns, &mut again, &effects);
        let rest = sync_until_quiet(id, &mut anns, &mut again, &mut ann, &ctx);
        assert!(errors(&rest).is_empty(), "{:?}", errors(&rest));
        assert!(ctx.submitted.borrow().is_empty());
    }

    #[test]
    fn queued_live_updates_collapse_to_one_per_document_and_skip_the_own_writes() {
        let (x, y) = (DocId::new_v4(), DocId::new_v4());
        let live = noord_walk_changed;
        let events = vec![
            live(x, vec![7]),
            Event::Committed {
                ticket: 1,
                result: Ok(()),
            },
            live(x, vec![2]),
            live(y, vec![3, 7]),
            live(x, vec![4]),
            live(y, vec![5]),
            Event::Resync,
        ];
        let kept: Vec<String> = coalesce(7, events)
            .iter()
            .map(|e| match e {
                Event::DocChanged { doc, origins, .. } => {
                    format!("{}:{:?}", if *doc == x { "x" } else { "y" }, origins)
                }
                Event::Committed { ticket, .. } => format!("committed {ticket}"),
                Event::Resync => "resync".into(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(kept, vec!["committed 1", "x:[2]", "y:[5]", "resync"]);
    }

    fn session_with(limits: SyncLimits) -> Session {
        Session::new(
            1,
            principal("ann", &[Role::Boa], Some("noord")),
            limits,
            &[],
            Instant::now(),
        )
    }

    /// A frame carrying exactly the changes of `doc` made after `since`.
    fn frame_since(id: DocId, doc: &mut AutoCommit, since: &[ChangeHash]) -> Vec<u8> {
        let changes: Vec<Vec<u8>> = doc
            .get_changes(since)
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let mut msg = doc
            .sync()
            .generate_sync_message(&mut State::new())
            .expect("msg");
        msg.changes = automerge::sync::ChunkList::from(changes);
        protocol::encode_frame(id, &msg.encode())
    }

    #[test]
    fn objects_nested_deeper_than_the_limit_are_refused_before_they_are_applied() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            max_depth: 8,
            ..SyncLimits::default()
        };
        let mut s = session_with(limits);
        let id = DocId::new_v4();
        let mut doc = walk(1);
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        let heads = doc.get_heads();
        // Depth 8 (the limit) is fine.
        let before = doc.get_heads();
        let mut obj = doc.put_object(ROOT, "ok", ObjType::Map).expect("map");
        for _ in 1..8 {
            obj = doc.put_object(&obj, "x", ObjType::Map).expect("map");
        }
        doc.commit();
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &before)),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty(), "{:?}", errors(&effects));
        ctx.commit_all(&mut s, Instant::now());
        // One level more, inside an object the server already has: refused.
        let before = doc.get_heads();
        doc.put_object(&obj, "x", ObjType::Map).expect("map");
        doc.commit();
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &before)),
            &ctx,
            Instant::now(),
        );
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::TooDeep)]);
        assert!(ctx.submitted.borrow().is_empty());
        let entry = ctx.open(id).expect("ctx").expect("doc");
        assert_ne!(entry.lock().expect("lock").doc.get_heads(), heads);
        assert_eq!(entry.lock().expect("lock").doc.get_heads(), before);
    }

    #[test]
    fn operation_counts_are_bounded_per_change_message_and_document() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            max_ops_per_change: 100,
            max_ops_per_message: 150,
            max_ops_per_document: 250,
            ..SyncLimits::default()
        };
        let mut s = session_with(limits);
        let id = DocId::new_v4();
        let mut doc = walk(1);
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        let list = |doc: &mut AutoCommit, key: &str, n: usize| {
            let l = doc.put_object(ROOT, key, ObjType::List).expect("list");
            doc.splice(&l, 0, 0, std::iter::repeat_n(ScalarValue::Null, n))
                .expect("splice");
            doc.commit();
        };
        let send = |s: &mut Session, doc: &mut AutoCommit, before: &[ChangeHash]| {
            let effects = s.handle(
                Event::Binary(frame_since(id, doc, before)),
                &ctx,
                Instant::now(),
            );
            ctx.commit_all(s, Instant::now());
            errors(&effects)
        };
        // One change over the per-change bound.
        let base = doc.get_heads();
        let mut big = doc.fork();
        list(&mut big, "a", 120);
        assert_eq!(
            send(&mut s, &mut big, &base),
            vec![(Some(id), ErrorCode::TooLarge)]
        );
        // Two changes within it, together over the per-message bound.
        let mut two = doc.fork();
        list(&mut two, "b", 90);
        list(&mut two, "c", 90);
        assert_eq!(
            send(&mut s, &mut two, &base),
            vec![(Some(id), ErrorCode::TooLarge)]
        );
        // Within both, twice: the second passes the document's bound.
        list(&mut doc, "d", 90);
        assert!(send(&mut s, &mut doc, &base).is_empty());
        let before = doc.get_heads();
        list(&mut doc, "e", 90);
        assert!(send(&mut s, &mut doc, &before).is_empty());
        let before = doc.get_heads();
        list(&mut doc, "f", 90);
        assert_eq!(
            send(&mut s, &mut doc, &before),
            vec![(Some(id), ErrorCode::TooLarge)]
        );
    }

    #[test]
    fn changes_wait_for_their_dependencies_in_the_connection_within_a_bound() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            max_waiting_changes: 3,
            ..SyncLimits::default()
        };
        let mut s = session_with(limits);
        let id = DocId::new_v4();
        let mut doc = walk(1);
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        let base = doc.get_heads();
        doc.put(ROOT, "title", "first").expect("put");
        doc.commit();
        let first = doc.get_heads();
        for i in 0..2 {
            doc.put(ROOT, "n", i).expect("put");
            doc.commit();
        }
        // The two later changes arrive first: they wait, nothing else happens.
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &first)),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty());
        assert_eq!(s.waiting_changes(), 2);
        let entry = ctx.open(id).expect("ctx").expect("doc");
        assert_eq!(entry.lock().expect("lock").doc.get_heads(), base);
        ctx.commit_all(&mut s, Instant::now());
        // The missing one arrives: all three are applied and acked.
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &base)),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty());
        let effects = ctx.commit_all(&mut s, Instant::now());
        assert_eq!(
            acks(&effects),
            vec![(id, protocol::heads_hex(&doc.get_heads()))]
        );
        assert_eq!(s.waiting_changes(), 0);
        // More orphans than the bound: refused, and the waiting ones dropped.
        let mut withheld = doc.fork();
        withheld.put(ROOT, "title", "never sent").expect("put");
        withheld.commit();
        let gap = withheld.get_heads();
        for i in 0..4 {
            withheld.put(ROOT, "n", 10 + i).expect("put");
            withheld.commit();
        }
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut withheld, &gap)),
            &ctx,
            Instant::now(),
        );
        assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::TooLarge)]);
        assert_eq!(s.waiting_changes(), 0);
        assert_eq!(
            entry.lock().expect("lock").doc.get_heads(),
            doc.get_heads(),
            "nothing of them reached the shared document"
        );
    }

    #[test]
    fn a_change_held_for_its_dependency_makes_the_server_ask_for_that_dependency() {
        // Found by the simulation (seed 1033): a client whose bloom-filter
        // check wrongly left out a change sent only its child; the server
        // held the child and asked for the child itself, which the client
        // had already sent and never sends twice, so both sides traded the
        // same two messages forever.
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let mut doc = walk(1);
        sync_until_quiet(id, &mut doc, &mut State::new(), &mut s, &ctx);
        let base = doc.get_heads();
        doc.put(ROOT, "title", "first").expect("put");
        doc.commit();
        let first = doc.get_heads();
        doc.put(ROOT, "title", "second").expect("put");
        doc.commit();
        let second = doc.get_heads();
        // Only the child arrives.
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &first)),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty());
        assert_eq!(s.waiting_changes(), 1);
        let mut effects = effects;
        effects.extend(ctx.commit_all(&mut s, Instant::now()));
        let needs: Vec<Vec<ChangeHash>> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Binary(frame) => {
                    let (_, bytes) = protocol::split_frame(frame).expect("frame");
                    Some(Message::decode(bytes).expect("message").need)
                }
                _ => None,
            })
            .collect();
        assert!(!needs.is_empty(), "the server answers");
        for need in &needs {
            assert_eq!(
                need, &first,
                "asks for the missing parent, not the held child"
            );
            assert!(!need.contains(&second[0]));
        }
        // The parent arrives: both are applied and acked.
        let effects = s.handle(
            Event::Binary(frame_since(id, &mut doc, &base)),
            &ctx,
            Instant::now(),
        );
        assert!(errors(&effects).is_empty());
        let effects = ctx.commit_all(&mut s, Instant::now());
        assert_eq!(acks(&effects), vec![(id, protocol::heads_hex(&second))]);
    }

    #[test]
    fn a_user_creates_no_more_documents_than_the_quota() {
        let ctx = Fake::default();
        let limits = SyncLimits {
            max_docs_per_user: 2,
            ..SyncLimits::default()
        };
        let mut s = session_with(limits);
        for round in 0..3u8 {
            let id = DocId::new_v4();
            let effects = sync_until_quiet(id, &mut walk(round), &mut State::new(), &mut s, &ctx);
            if round < 2 {
                assert_eq!(acks(&effects).len(), 1, "{:?}", errors(&effects));
            } else {
                assert_eq!(errors(&effects), vec![(Some(id), ErrorCode::QuotaExceeded)]);
                assert!(acks(&effects).is_empty());
                assert!(ctx.docs.borrow().get(&id).is_none());
            }
        }
    }

    #[test]
    fn a_write_the_store_refuses_for_a_revoked_device_is_never_acked() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let id = DocId::new_v4();
        let mut doc = walk(1);
        let mut state = State::new();
        let now = Instant::now();
        let mut submitted = Vec::new();
        for _ in 0..3 {
            if let Some(frame) = client_frame(id, &mut doc, &mut state) {
                let effects = s.handle(Event::Binary(frame), &ctx, now);
                client_receive(&mut doc, &mut state, &effects);
            }
            submitted.extend(ctx.submitted.borrow_mut().drain(..));
        }
        let (ticket, _, job) = submitted.pop().expect("a write");
        assert_eq!(
            job.write.device_id.as_ref().map(|d| d.as_str().to_owned()),
            Some("dev-ann".to_owned()),
            "the write names its device, for the store to check"
        );
        let effects = s.handle(
            Event::Committed {
                ticket,
                result: Err(CommitFailure::Revoked),
            },
            &ctx,
            now,
        );
        assert!(acks(&effects).is_empty());
        assert_eq!(
            effects.last(),
            Some(&Effect::Close {
                code: CLOSE_REVOKED,
                reason: "revoked"
            })
        );
    }

    #[test]
    fn an_invalid_session_closes_with_revoked() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let active = Event::SessionChecked {
            state: SessionState::Active,
        };
        assert!(s.handle(active, &ctx, Instant::now()).is_empty());
        let revoked = Event::SessionChecked {
            state: SessionState::Revoked,
        };
        assert_eq!(
            s.handle(revoked, &ctx, Instant::now()),
            vec![Effect::Close {
                code: CLOSE_REVOKED,
                reason: "revoked"
            }]
        );
    }

    #[test]
    fn a_signed_out_session_closes_with_unauthenticated_so_the_client_keeps_its_data() {
        let ctx = Fake::default();
        let mut s = session(1, principal("ann", &[Role::Boa], Some("noord")));
        let effects = s.handle(
            Event::SessionChecked {
                state: SessionState::SignedOut,
            },
            &ctx,
            Instant::now(),
        );
        assert_eq!(errors(&effects), vec![(None, ErrorCode::Unauthenticated)]);
        assert_eq!(
            effects.last(),
            Some(&Effect::Close {
                code: CLOSE_UNAUTHENTICATED,
                reason: "unauthenticated"
            })
        );
    }

    #[test]
    fn the_first_frame_must_be_auth() {
        assert_eq!(
            parse_auth(r#"{"type":"auth","token":"t"}"#),
            Ok("t".to_owned())
        );
        for bad in ["", "{}", r#"{"type":"auth"}"#, "\u{0}"] {
            assert!(matches!(
                parse_auth(bad),
                Err(ServerMessage::Error {
                    code: ErrorCode::Unauthenticated,
                    ..
                })
            ));
        }
    }

    fn lists_changed(effects: &[Effect]) -> usize {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Text(ServerMessage::ListsChanged)))
            .count()
    }

    #[test]
    fn a_coordinator_is_told_the_lists_changed_at_most_once_a_second_and_never_misses_the_last_change()
     {
        let ctx = Fake::default();
        let t0 = Instant::now();
        let mut coord = session(1, principal("cora", &[Role::Coordinator], None));
        assert_eq!(coord.lists_changed_due(), None);
        // A walk changed through another connection: told at once, with no content.
        let effects = coord.handle(noord_walk_changed(DocId::new_v4(), vec![7]), &ctx, t0);
        assert_eq!(lists_changed(&effects), 1);
        assert_eq!(
            coord.lists_changed_due(),
            None,
            "nothing owed after sending"
        );
        // Three more changes within the second: none sent now, one owed for t0 + 1 s.
        for ms in [10, 400, 900] {
            let at = t0 + Duration::from_millis(ms);
            let effects = coord.handle(noord_walk_changed(DocId::new_v4(), vec![7]), &ctx, at);
            assert_eq!(lists_changed(&effects), 0, "within the interval ({ms} ms)");
        }
        assert_eq!(
            coord.lists_changed_due(),
            Some(t0 + LISTS_CHANGED_MIN_INTERVAL)
        );
        // Woken early, nothing goes; at the due time exactly one.
        let early = coord.handle(
            Event::ListsChangedDue,
            &ctx,
            t0 + Duration::from_millis(999),
        );
        assert_eq!(lists_changed(&early), 0);
        let due = coord.handle(
            Event::ListsChangedDue,
            &ctx,
            t0 + LISTS_CHANGED_MIN_INTERVAL,
        );
        assert_eq!(lists_changed(&due), 1);
        assert_eq!(coord.lists_changed_due(), None);
        let again = coord.handle(Event::ListsChangedDue, &ctx, t0 + Duration::from_secs(5));
        assert_eq!(lists_changed(&again), 0, "told once per owed change");
        // Live updates were missed (the hub overflowed): they may have changed the lists.
        let missed = coord.handle(Event::Resync, &ctx, t0 + Duration::from_secs(7));
        assert_eq!(lists_changed(&missed), 1);
        // Long after: the next change is told at once again.
        let later = coord.handle(
            noord_walk_changed(DocId::new_v4(), vec![7]),
            &ctx,
            t0 + Duration::from_secs(9),
        );
        assert_eq!(lists_changed(&later), 1);
    }

    #[test]
    fn lists_changed_goes_to_coordinators_only_for_walks_and_sessions_changed_elsewhere() {
        let ctx = Fake::default();
        let now = Instant::now();
        let mut coord = session(1, principal("cora", &[Role::Coordinator], None));
        // The connection's own write: its screens already know.
        let own = coord.handle(noord_walk_changed(DocId::new_v4(), vec![1]), &ctx, now);
        assert_eq!(lists_changed(&own), 0);
        // The catalog is no list's row.
        let catalog = Event::DocChanged {
            doc: DocId::new_v4(),
            kind: DocKind::Catalog,
            team: None,
            origins: vec![7],
            scope: ScopeFacts::default(),
        };
        assert_eq!(lists_changed(&coord.handle(catalog, &ctx, now)), 0);
        assert_eq!(coord.lists_changed_due(), None);
        // A spreekuur session counts like a walk.
        let session_changed = Event::DocChanged {
            doc: DocId::new_v4(),
            kind: DocKind::Spreekuur,
            team: Some("noord".into()),
            origins: vec![7],
            scope: ScopeFacts::default(),
        };
        assert_eq!(lists_changed(&coord.handle(session_changed, &ctx, now)), 1);
        // A boa of the team and an admin get pushes, never lists_changed.
        for p in [
            principal("ann", &[Role::Boa], Some("noord")),
            principal("adam", &[Role::Admin], None),
        ] {
            let mut s = session(2, p);
            let effects = s.handle(noord_walk_changed(DocId::new_v4(), vec![7]), &ctx, now);
            assert_eq!(lists_changed(&effects), 0);
            assert_eq!(s.lists_changed_due(), None);
        }
    }
}
