//! The deterministic simulation of sync: one seed drives a whole run.
//!
//! What is real: the sync core ([`Session`], fed events, answering effects),
//! the group committer's batch logic ([`commit_batch_blocking`]), the
//! document cache, the live hub, the SQLite store on disk (behind
//! [`FaultStore`], which injects I/O errors and disk-full on any write or
//! read it is told to), and on the devices the document model
//! ([`Document`]) with automerge sync. What is simulated: the network (one
//! FIFO queue per connection and direction), the devices' local storage
//! (saved bytes that a restart keeps, memory that it loses), time, and the
//! sync client's rules, which follow `pwa/src/sync/client.ts` and
//! `pwa/src/model/repository.ts`.
//!
//! Every choice comes from one seeded generator, actors and ids included,
//! so a seed replays exactly. Faults: message delay (messages wait in their
//! queue for random steps), reordering and duplication of frames, loss
//! (connections cut with frames in flight), connection drops at any message,
//! device restarts with and without flushing what they received, server
//! restarts at any step (also right after a commit before any reply, and
//! with acks queued but not sent), I/O errors and disk-full on commits and
//! reads, and clock skew on the devices.
//!
//! Invariants, checked as the run goes and at its end:
//! - every `ack` a device receives names heads the store holds (with all
//!   their ancestors), and they are still there after every server restart;
//! - no device counts a document as sent ("alles verstuurd": no own change
//!   outside its acked heads) while one of its own changes is not stored;
//! - no device ever receives a document of another team;
//! - every stored change's actor is bound to the user whose device wrote it;
//! - once the network heals, every device holds every document of its sync
//!   scope, and every document of its team it holds, with the store's
//!   heads, and every change anyone saved is stored;
//! - SQLite's `integrity_check` is `ok` after every server restart and at the end.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use automerge::sync::State as SyncState;
use automerge::{ActorId, AutoCommit, Automerge, ChangeHash, ReadDoc};
use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use tokio::sync::broadcast;

use wijklog_server::config::SyncConfig;
use wijklog_server::domain::{DeviceId, DocId, DocKind, Principal, Role, UserId};
use wijklog_server::storage::{
    AuditEntry, CommitOutcome, CompactOutcome, Device, DocMeta, DocSchedule, DocWrite, NewUser,
    ProjectionRow, RefreshOutcome, ScopeBounds, ScopeCandidate, SessionState, SqliteStore, Store,
    StoreError, StoredDoc, User,
};
use wijklog_server::sync::cache::DocCache;
use wijklog_server::sync::committer::{
    CommitObserver, QueuedWrite, commit_batch_blocking, store_without_answers,
};
use wijklog_server::sync::core::{
    self, CachedDoc, CommitJob, ConnId, ContextError, Effect, Event, Session, SyncContext, Ticket,
};
use wijklog_server::sync::handler::ready_docs_from;
use wijklog_server::sync::hub::{DocEvent, Hub};
use wijklog_server::sync::limits::SyncLimits;
use wijklog_server::sync::projection;
use wijklog_server::sync::protocol::{self, ReadyUser, ServerMessage};
use wijklog_shared::{
    Catalog, Document, ItemId, NewItem, NewWalk, Severity, TEXT_ENCODING, Timestamp,
};

/// 2026-01-01T00:00:00Z: the simulated wall clock starts here.
const T0_MS: i64 = 1_767_225_600_000;
/// The sync client's watchdog: an open socket with unacked changes and no
/// frame for this long is closed and reopened (`IDLE_PENDING_MS`).
const IDLE_PENDING_MS: u64 = 30_000;
/// The most sync messages the client sends for one document at once.
const SEND_BURST: usize = 16;

// ---------------------------------------------------------------- the knobs

/// The size and fault rates of one run.
#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    /// Steps of the faulty phase (the healing phase follows).
    pub steps: usize,
    /// Whether faults are injected at all (off: a plain run, for comparison).
    pub faults: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            steps: 30,
            faults: true,
        }
    }
}

/// How many faults of each kind a run injected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultCounts {
    /// Frames delivered out of order within a connection.
    pub reordered: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames lost with a cut connection.
    pub lost: u64,
    /// Connections cut (both sides lose what is in flight).
    pub cuts: u64,
    /// Connections closed by the device (the server still reads what was sent).
    pub closes: u64,
    /// Device restarts that first flushed what they had received.
    pub restarts_flushed: u64,
    /// Device restarts that lost what they had received and not flushed.
    pub restarts_unflushed: u64,
    /// Server restarts at a random step.
    pub server_restarts: u64,
    /// Server restarts right after a batch committed, before any reply.
    pub crashes_after_commit: u64,
    /// Commits failed with an I/O error.
    pub commit_io_errors: u64,
    /// Commits failed with disk full.
    pub commit_disk_full: u64,
    /// Store reads failed with an I/O error.
    pub read_errors: u64,
    /// Device clocks set wrong.
    pub clock_skews: u64,
}

impl FaultCounts {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &FaultCounts) {
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.lost += o.lost;
        self.cuts += o.cuts;
        self.closes += o.closes;
        self.restarts_flushed += o.restarts_flushed;
        self.restarts_unflushed += o.restarts_unflushed;
        self.server_restarts += o.server_restarts;
        self.crashes_after_commit += o.crashes_after_commit;
        self.commit_io_errors += o.commit_io_errors;
        self.commit_disk_full += o.commit_disk_full;
        self.read_errors += o.read_errors;
        self.clock_skews += o.clock_skews;
    }

    /// All faults.
    pub fn total(&self) -> u64 {
        self.reordered
            + self.duplicated
            + self.lost
            + self.cuts
            + self.closes
            + self.restarts_flushed
            + self.restarts_unflushed
            + self.server_restarts
            + self.crashes_after_commit
            + self.commit_io_errors
            + self.commit_disk_full
            + self.read_errors
            + self.clock_skews
    }

    /// One line per kind, for the reports.
    pub fn table(&self) -> String {
        let rows: [(&str, u64); 13] = [
            ("frames reordered", self.reordered),
            ("frames duplicated", self.duplicated),
            ("frames lost in cut connections", self.lost),
            ("connections cut", self.cuts),
            ("connections closed by the device", self.closes),
            ("device restarts (flushed)", self.restarts_flushed),
            ("device restarts (unflushed)", self.restarts_unflushed),
            ("server restarts", self.server_restarts),
            (
                "server crashes after commit, before reply",
                self.crashes_after_commit,
            ),
            ("commit I/O errors", self.commit_io_errors),
            ("commit disk full", self.commit_disk_full),
            ("store read errors", self.read_errors),
            ("device clock skews", self.clock_skews),
        ];
        rows.iter()
            .map(|(name, n)| format!("| {name} | {n} |\n"))
            .collect()
    }
}

/// What a passing run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Faults injected.
    pub faults: FaultCounts,
    /// Changes the users saved on their devices.
    pub typed: usize,
    /// Acks the devices received.
    pub acks: usize,
    /// Error frames the devices received, by code.
    pub errors: BTreeMap<String, u64>,
    /// Steps taken, the healing phase included.
    pub steps: usize,
    /// A digest of everything that happened (equal for equal seeds).
    pub digest: u64,
}

/// A broken invariant: the seed that replays it and what broke.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The step at which the invariant broke.
    pub step: usize,
    /// The steps of the faulty phase the run was configured with.
    pub steps: usize,
    /// Which invariant, and how.
    pub what: String,
    /// The last actions before it.
    pub trace: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation seed {} failed at step {}: {}",
            self.seed, self.step, self.what
        )?;
        writeln!(
            f,
            "replay: SIM_SEED={} SIM_STEPS={} cargo test -p wijklog-tests --test sync_sim replay_one_seed -- --nocapture",
            self.seed, self.steps
        )?;
        writeln!(f, "last actions:")?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- storage with faults

/// A fault the store is told to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreFault {
    /// `SQLITE_IOERR`.
    Io,
    /// `SQLITE_FULL`.
    Full,
}

fn injected(fault: StoreFault) -> StoreError {
    let code = match fault {
        StoreFault::Io => rusqlite::ffi::SQLITE_IOERR,
        StoreFault::Full => rusqlite::ffi::SQLITE_FULL,
    };
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(code),
        Some("injected by the simulation".into()),
    ))
}

/// The SQLite store with injected failures: the next commit fails (nothing
/// of it is stored, as when SQLite rolls the transaction back), or the next
/// `n` document reads fail.
#[derive(Debug)]
pub struct FaultStore {
    inner: SqliteStore,
    next_commit: Mutex<Option<StoreFault>>,
    failing_reads: AtomicU32,
}

impl FaultStore {
    fn open(path: &Path) -> Self {
        Self {
            inner: SqliteStore::open(path).expect("open the simulation's database"),
            next_commit: Mutex::new(None),
            failing_reads: AtomicU32::new(0),
        }
    }

    fn read(&self) -> Result<(), StoreError> {
        let left = self.failing_reads.load(Ordering::SeqCst);
        if left > 0 {
            self.failing_reads.store(left - 1, Ordering::SeqCst);
            return Err(injected(StoreFault::Io));
        }
        Ok(())
    }
}

impl Store for FaultStore {
    fn doc_meta(&self, id: DocId) -> Result<Option<DocMeta>, StoreError> {
        self.read()?;
        self.inner.doc_meta(id)
    }
    fn docs_of_kind(&self, kind: DocKind) -> Result<Vec<DocMeta>, StoreError> {
        self.inner.docs_of_kind(kind)
    }
    fn load_doc(&self, id: DocId) -> Result<Option<StoredDoc>, StoreError> {
        self.read()?;
        self.inner.load_doc(id)
    }
    fn commit(&self, writes: &[DocWrite]) -> Result<CommitOutcome, StoreError> {
        let fault = self.next_commit.lock().expect("fault lock").take();
        match fault {
            Some(f) => Err(injected(f)),
            None => self.inner.commit(writes),
        }
    }
    fn actor_owner(&self, actor: &[u8]) -> Result<Option<UserId>, StoreError> {
        self.read()?;
        self.inner.actor_owner(actor)
    }
    fn compact(&self, id: DocId, snapshot: &[u8]) -> Result<CompactOutcome, StoreError> {
        self.inner.compact(id, snapshot)
    }
    fn replace_history(
        &self,
        id: DocId,
        history: &wijklog_server::storage::ReplacedHistory,
    ) -> Result<i64, StoreError> {
        self.inner.replace_history(id, history)
    }
    fn docs_owned_by(&self, user: &UserId) -> Result<u64, StoreError> {
        self.read()?;
        self.inner.docs_owned_by(user)
    }
    fn uncompacted_docs(&self, min: u64) -> Result<Vec<(DocId, u64)>, StoreError> {
        self.inner.uncompacted_docs(min)
    }
    fn projection_rows(&self, id: DocId) -> Result<Vec<ProjectionRow>, StoreError> {
        self.inner.projection_rows(id)
    }
    fn scope_candidates(
        &self,
        user: &UserId,
        device: &DeviceId,
        bounds: ScopeBounds,
        doc: Option<DocId>,
    ) -> Result<Vec<ScopeCandidate>, StoreError> {
        self.read()?;
        self.inner.scope_candidates(user, device, bounds, doc)
    }
    fn subscribe(
        &self,
        device: &DeviceId,
        doc: DocId,
        at: i64,
        bound: wijklog_server::storage::SubscriptionBound,
    ) -> Result<wijklog_server::storage::Subscribed, StoreError> {
        self.inner.subscribe(device, doc, at, bound)
    }
    fn unsubscribe(&self, device: &DeviceId, doc: DocId) -> Result<bool, StoreError> {
        self.inner.unsubscribe(device, doc)
    }
    fn delete_lapsed_subscriptions(&self, lapsed_before: i64, max: u32) -> Result<u64, StoreError> {
        self.inner.delete_lapsed_subscriptions(lapsed_before, max)
    }
    fn list_documents(
        &self,
        query: &wijklog_server::storage::DocListQuery,
    ) -> Result<Vec<wijklog_server::storage::ListedDoc>, StoreError> {
        self.inner.list_documents(query)
    }
    fn docs_without_schedule(
        &self,
        after: Option<DocId>,
        limit: u32,
    ) -> Result<Vec<DocMeta>, StoreError> {
        self.inner.docs_without_schedule(after, limit)
    }
    fn backfill_schedule(&self, doc: DocId, schedule: &DocSchedule) -> Result<bool, StoreError> {
        self.inner.backfill_schedule(doc, schedule)
    }
    fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create_user(user)
    }
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.user_by_username(username)
    }
    fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.inner.user_by_id(id)
    }
    fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<User, StoreError> {
        self.inner.set_user_disabled(username, disabled)
    }
    fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError> {
        self.inner.set_password_hash(username, hash)
    }
    fn end_sessions(&self, user: &UserId) -> Result<usize, StoreError> {
        self.inner.end_sessions(user)
    }
    fn create_device(
        &self,
        user: &UserId,
        name: &str,
        refresh_hash: [u8; 32],
        refresh_expires_at: i64,
    ) -> Result<Device, StoreError> {
        self.inner
            .create_device(user, name, refresh_hash, refresh_expires_at)
    }
    fn device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        self.inner.device(id)
    }
    fn devices_of(&self, user: &UserId) -> Result<Vec<Device>, StoreError> {
        self.inner.devices_of(user)
    }
    fn revoke_device(&self, id: &DeviceId) -> Result<(), StoreError> {
        self.inner.revoke_device(id)
    }
    fn rotate_refresh_token(
        &self,
        old_hash: [u8; 32],
        new_hash: [u8; 32],
        new_expires_at: i64,
        reuse_grace_ms: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        self.inner
            .rotate_refresh_token(old_hash, new_hash, new_expires_at, reuse_grace_ms)
    }
    fn revoke_by_refresh_token(&self, hash: [u8; 32]) -> Result<Option<DeviceId>, StoreError> {
        self.inner.revoke_by_refresh_token(hash)
    }
    fn session_state(&self, user: &UserId, device: &DeviceId) -> Result<SessionState, StoreError> {
        self.inner.session_state(user, device)
    }
    fn touch_device(&self, id: &DeviceId, at: i64) -> Result<(), StoreError> {
        self.inner.touch_device(id, at)
    }
    fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.inner.append_audit(entry)
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        self.inner.check_ready()
    }
}

// ---------------------------------------------------------------- the accounts

/// One simulated user and device.
#[derive(Debug, Clone)]
struct Account {
    principal: Principal,
}

/// A database with the accounts, made once per process and copied per run.
struct Template {
    _dir: tempfile::TempDir,
    db: PathBuf,
    accounts: Vec<Account>,
}

/// Users and their teams: two devices of one user and a teammate in
/// "noord", one user in "zuid" (who must never see noord's walks).
const PEOPLE: &[(&str, &str, usize)] =
    &[("ann", "noord", 2), ("bob", "noord", 1), ("cas", "zuid", 1)];

/// A temporary directory for a run's database: in memory (`/dev/shm`) when
/// the machine has it. The simulation's crashes are process crashes, which
/// keep what the operating system was given, so the files need not reach a
/// disk (power loss is tested elsewhere); `fsync` on tmpfs costs nothing.
fn sim_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir")
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = sim_dir();
        let db = dir.path().join("template.db");
        let store = SqliteStore::open(&db).expect("template database");
        let mut accounts = Vec::new();
        for (i, (name, team, devices)) in PEOPLE.iter().enumerate() {
            let user = store
                .create_user(NewUser {
                    username: (*name).to_owned(),
                    display_name: (*name).to_owned(),
                    password_hash: "not-a-password-hash".to_owned(),
                    roles: vec![Role::Boa],
                    team: Some((*team).to_owned()),
                })
                .expect("user");
            // Fixed ids: user ids are written into the documents
            // (`created_by`), and a seed must replay in any process.
            let fixed = format!("00000000-0000-4000-8000-{:012x}", i + 1);
            rusqlite::Connection::open(&db)
                .and_then(|c| {
                    c.execute(
                        "UPDATE users SET id = ?1 WHERE id = ?2",
                        [fixed.as_str(), user.id.as_str()],
                    )
                })
                .expect("fix the user id");
            let user = store
                .user_by_username(name)
                .expect("user")
                .expect("the user just made");
            for d in 0..*devices {
                let device = store
                    .create_device(&user.id, "phone", [(i * 8 + d) as u8; 32], i64::MAX / 2)
                    .expect("device");
                accounts.push(Account {
                    principal: Principal {
                        user_id: user.id.clone(),
                        name: (*name).to_owned(),
                        roles: vec![Role::Boa],
                        team: Some((*team).to_owned()),
                        device_id: device.id,
                    },
                });
            }
        }
        drop(store);
        Template {
            _dir: dir,
            db,
            accounts,
        }
    })
}

// ---------------------------------------------------------------- the server

struct NoObserver;

impl CommitObserver for NoObserver {
    fn batch_committed(&self, _writes: usize, _inserted: usize, _elapsed: Duration) {}
    fn batch_failed(&self, _writes: usize) {}
}

type Queue = Arc<Mutex<VecDeque<QueuedWrite>>>;
type Inbox = Arc<Mutex<VecDeque<Event>>>;

/// One incarnation of the server: what a restart throws away, except the
/// database file.
struct Server {
    store: Arc<FaultStore>,
    cache: Arc<DocCache>,
    hub: Hub,
    queue: Queue,
}

impl Server {
    fn start(db: &Path) -> Self {
        let store = Arc::new(FaultStore::open(db));
        let dyn_store: Arc<dyn Store> = store.clone();
        Self {
            cache: Arc::new(DocCache::new(dyn_store)),
            store,
            hub: Hub::new(4096),
            queue: Arc::new(Mutex::new(VecDeque::new())),
        }
    }
}

/// The [`SyncContext`] of one simulated connection: the same answers as the
/// server's `ServerContext`, with the committer's queue in the simulation.
struct SimCtx {
    store: Arc<FaultStore>,
    cache: Arc<DocCache>,
    queue: Queue,
    conn: ConnId,
    inbox: Inbox,
}

impl SyncContext for SimCtx {
    fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, ContextError> {
        self.cache.open(id).map_err(|_| ContextError)
    }
    fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>> {
        self.cache.insert_new(doc)
    }
    fn evict(&self, doc: &CachedDoc) {
        self.cache.evict(doc);
    }
    fn next_generation(&self) -> u64 {
        self.cache.next_generation()
    }
    fn actor_owner(&self, actor: &ActorId) -> Result<Option<UserId>, ContextError> {
        self.store
            .actor_owner(actor.to_bytes())
            .map_err(|_| ContextError)
    }
    fn docs_owned_by(&self, user: &UserId) -> Result<u64, ContextError> {
        self.store.docs_owned_by(user).map_err(|_| ContextError)
    }
    fn project(
        &self,
        meta: &DocMeta,
        doc: &Automerge,
        authors: &HashMap<ActorId, UserId>,
    ) -> Option<Vec<ProjectionRow>> {
        let store = self.store.clone();
        let mut owner = |actor: &ActorId| -> Option<String> {
            if let Some(user) = authors.get(actor) {
                return Some(user.as_str().to_owned());
            }
            store
                .actor_owner(actor.to_bytes())
                .ok()
                .flatten()
                .map(|u| u.as_str().to_owned())
        };
        projection::rows(meta, doc, &mut owner)
    }
    fn submit(&self, ticket: Ticket, doc: Arc<CachedDoc>, job: CommitJob) {
        let inbox = self.inbox.clone();
        self.queue
            .lock()
            .expect("queue lock")
            .push_back(QueuedWrite {
                entry: doc,
                job,
                origin: self.conn,
                reply: Box::new(move |result| {
                    inbox
                        .lock()
                        .expect("inbox lock")
                        .push_back(Event::Committed { ticket, result });
                }),
            });
    }
}

/// The server side of one connection.
struct Conn {
    session: Session,
    ctx: SimCtx,
    hub_rx: broadcast::Receiver<DocEvent>,
    /// Live events taken from the hub, not yet handled.
    live: VecDeque<Event>,
}

// ---------------------------------------------------------------- the network

/// A frame from the server to a device.
#[derive(Debug, Clone)]
enum Down {
    Text(ServerMessage),
    Binary(Vec<u8>),
    Close(u16),
}

/// One connection's two queues.
struct Link {
    device: usize,
    up: VecDeque<Vec<u8>>,
    down: VecDeque<Down>,
    /// The device still reads this link.
    device_open: bool,
}

// ---------------------------------------------------------------- the devices

/// A document in a device's memory.
struct DevDoc {
    doc: Document,
    actor: ActorId,
    acked: Vec<ChangeHash>,
    /// Holds received changes not yet flushed to the device's storage.
    dirty: bool,
}

/// A document in a device's storage (IndexedDB in the app).
#[derive(Clone)]
struct DiskDoc {
    bytes: Vec<u8>,
    actor: ActorId,
    acked: Vec<ChangeHash>,
}

struct DeviceSim {
    account: usize,
    mem: BTreeMap<DocId, DevDoc>,
    disk: BTreeMap<DocId, DiskDoc>,
    link: Option<ConnId>,
    ready: bool,
    states: BTreeMap<DocId, SyncState>,
    last_frame_ms: u64,
    retry_at_ms: u64,
    skew_ms: i64,
    /// Every change the user saved here ("opgeslagen"), by document.
    typed: BTreeMap<DocId, BTreeSet<ChangeHash>>,
}

// ---------------------------------------------------------------- the run

struct Sim {
    seed: u64,
    rng: XorShiftRng,
    cfg: SimConfig,
    step: usize,
    now_ms: u64,
    base: Instant,
    _dir: tempfile::TempDir,
    db: PathBuf,
    accounts: Vec<Account>,
    catalog: Catalog,
    server: Option<Server>,
    conns: BTreeMap<ConnId, Conn>,
    links: BTreeMap<ConnId, Link>,
    next_conn: ConnId,
    devices: Vec<DeviceSim>,
    /// The team of every document a device created.
    doc_team: BTreeMap<DocId, String>,
    /// The account whose device writes with each actor.
    actor_account: BTreeMap<Vec<u8>, usize>,
    /// Every acked set of heads, by document.
    promises: BTreeMap<DocId, BTreeSet<ChangeHash>>,
    faults: FaultCounts,
    outcome: Outcome,
    trace: VecDeque<String>,
    digest: u64,
    healing: bool,
    /// Every action, when asked for (`run_traced`).
    full_trace: Option<Vec<String>>,
    /// Stored documents as last read; emptied by every commit and restart.
    stored_cache: std::cell::RefCell<BTreeMap<DocId, Option<Automerge>>>,
}

type Check = Result<(), String>;

/// A sync frame in a trace line: document, heads, needs, haves, changes.
fn describe(frame: &[u8]) -> String {
    let Ok((id, bytes)) = protocol::split_frame(frame) else {
        return "a short frame".into();
    };
    match automerge::sync::Message::decode(bytes) {
        Ok(m) => format!(
            "{id} heads {:?} need {:?} have {} changes {}",
            m.heads
                .iter()
                .map(|h| h.to_string()[..8].to_owned())
                .collect::<Vec<_>>(),
            m.need
                .iter()
                .map(|h| h.to_string()[..8].to_owned())
                .collect::<Vec<_>>(),
            m.have.len(),
            m.changes.len()
        ),
        Err(_) => format!("{id} undecodable"),
    }
}

/// Whether a stored document holds a change (with all its ancestors).
fn holds(doc: Option<&Automerge>, hash: &ChangeHash) -> bool {
    doc.is_some_and(|d| d.get_change_by_hash(hash).is_some())
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Sim {
    fn new(seed: u64, cfg: SimConfig) -> Self {
        let t = template();
        let dir = sim_dir();
        let db = dir.path().join("wijklog.db");
        std::fs::copy(&t.db, &db).expect("copy the template database");
        let mut rng = XorShiftRng::seed_from_u64(seed);
        let devices = (0..t.accounts.len())
            .map(|account| DeviceSim {
                account,
                mem: BTreeMap::new(),
                disk: BTreeMap::new(),
                link: None,
                ready: false,
                states: BTreeMap::new(),
                last_frame_ms: 0,
                retry_at_ms: 0,
                skew_ms: 0,
                typed: BTreeMap::new(),
            })
            .collect();
        let _ = rng.next_u64();
        Self {
            seed,
            rng,
            cfg,
            step: 0,
            now_ms: 0,
            base: Instant::now(),
            db: db.clone(),
            _dir: dir,
            accounts: t.accounts.clone(),
            catalog: Catalog::defaults(),
            server: Some(Server::start(&db)),
            conns: BTreeMap::new(),
            links: BTreeMap::new(),
            next_conn: 1,
            devices,
            doc_team: BTreeMap::new(),
            actor_account: BTreeMap::new(),
            promises: BTreeMap::new(),
            faults: FaultCounts::default(),
            outcome: Outcome::default(),
            trace: VecDeque::new(),
            digest: 0xcbf2_9ce4_8422_2325,
            healing: false,
            full_trace: None,
            stored_cache: Default::default(),
        }
    }

    // ---- randomness

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `per_mille`/1000 (never while healing).
    fn fault(&mut self, per_mille: u64) -> bool {
        if self.healing || !self.cfg.faults {
            return false;
        }
        self.rng.next_u64() % 1000 < per_mille
    }

    fn bytes16(&mut self) -> [u8; 16] {
        let a = self.rng.next_u64().to_le_bytes();
        let b = self.rng.next_u64().to_le_bytes();
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&a);
        out[8..].copy_from_slice(&b);
        out
    }

    fn log(&mut self, line: String) {
        self.digest = fnv(self.digest, line.as_bytes());
        if let Some(full) = self.full_trace.as_mut() {
            full.push(format!("[{}] {line}", self.step));
        }
        if self.trace.len() == 60 {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("[{}] {line}", self.step));
    }

    fn fail(&self, what: String) -> Failure {
        Failure {
            seed: self.seed,
            step: self.step,
            steps: self.cfg.steps,
            what,
            trace: match &self.full_trace {
                Some(full) => full.clone(),
                None => self.trace.iter().cloned().collect(),
            },
        }
    }

    fn instant(&self) -> Instant {
        self.base + Duration::from_millis(self.now_ms)
    }

    // ---- the server

    fn server(&self) -> Option<&Server> {
        self.server.as_ref()
    }

    /// Stops the server at once: connections, queued writes and the cache
    /// are gone; the database file stays. Then starts it again.
    fn restart_server(&mut self) -> Check {
        self.conns.clear();
        for (_, link) in std::mem::take(&mut self.links) {
            self.faults.lost += (link.up.len() + link.down.len()) as u64;
            let d = link.device;
            self.device_lost_link(d);
        }
        self.server = None;
        self.server = Some(Server::start(&self.db));
        self.stored_cache.borrow_mut().clear();
        self.check_promises()?;
        self.integrity()
    }

    fn integrity(&self) -> Check {
        let conn = rusqlite::Connection::open(&self.db).map_err(|e| format!("open: {e}"))?;
        let result: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| format!("integrity_check: {e}"))?;
        if result != "ok" {
            return Err(format!("integrity_check says {result}"));
        }
        Ok(())
    }

    /// The stored document (no injected faults), with every change the
    /// store holds applied.
    fn stored(&self, id: DocId) -> Result<Option<Automerge>, String> {
        if let Some(doc) = self.stored_cache.borrow().get(&id) {
            return Ok(doc.clone());
        }
        let doc = self.load_stored(id)?;
        self.stored_cache.borrow_mut().insert(id, doc.clone());
        Ok(doc)
    }

    fn load_stored(&self, id: DocId) -> Result<Option<Automerge>, String> {
        let server = self.server.as_ref().ok_or("no server")?;
        let Some(stored) = server
            .store
            .inner
            .load_doc(id)
            .map_err(|e| format!("load: {e:?}"))?
        else {
            return Ok(None);
        };
        stored
            .to_automerge()
            .map(Some)
            .map_err(|e| format!("stored document {id} does not load: {e}"))
    }

    fn check_promises(&self) -> Check {
        for (id, heads) in &self.promises {
            let Some(doc) = self.stored(*id)? else {
                return Err(format!("acked document {id} is not in the store"));
            };
            for h in heads {
                if doc.get_change_by_hash(h).is_none() {
                    return Err(format!("acked change {h} of {id} is not in the store"));
                }
            }
        }
        Ok(())
    }

    fn connect(&mut self, d: usize) {
        let Some(server) = self.server.as_ref() else {
            return;
        };
        let conn = self.next_conn;
        self.next_conn += 1;
        let principal = self.accounts[self.devices[d].account].principal.clone();
        let hub_rx = server.hub.subscribe();
        let mut link = Link {
            device: d,
            up: VecDeque::new(),
            down: VecDeque::new(),
            device_open: true,
        };
        let listing = ready_docs_from(
            server.store.as_ref(),
            &server.cache,
            &principal,
            wijklog_server::domain::now_ms(),
            &SyncConfig::default(),
        );
        let dev = &mut self.devices[d];
        dev.link = Some(conn);
        dev.ready = false;
        dev.states.clear();
        dev.last_frame_ms = self.now_ms;
        match listing {
            Err(_) => {
                link.down.push_back(Down::Text(ServerMessage::error(
                    None,
                    protocol::ErrorCode::Internal,
                    "internal error; reconnect later",
                )));
                link.down.push_back(Down::Close(1011));
                self.links.insert(conn, link);
                self.log(format!("connect d{d} c{conn}: listing failed"));
            }
            Ok(docs) => {
                let inbox: Inbox = Arc::new(Mutex::new(VecDeque::new()));
                let session = Session::new(
                    conn,
                    principal.clone(),
                    SyncLimits::default(),
                    &docs,
                    self.base + Duration::from_millis(self.now_ms),
                );
                let ctx = SimCtx {
                    store: server.store.clone(),
                    cache: server.cache.clone(),
                    queue: server.queue.clone(),
                    conn,
                    inbox,
                };
                let view = principal.view();
                link.down.push_back(Down::Text(ServerMessage::Ready {
                    protocol: protocol::PROTOCOL_VERSION,
                    user: ReadyUser {
                        id: view.id,
                        name: view.name,
                        roles: view.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                        team: view.team,
                    },
                    docs,
                }));
                self.links.insert(conn, link);
                self.conns.insert(
                    conn,
                    Conn {
                        session,
                        ctx,
                        hub_rx,
                        live: VecDeque::new(),
                    },
                );
                self.log(format!("connect d{d} c{conn}"));
            }
        }
    }

    /// Routes a session's effects onto its link.
    fn route(&mut self, conn: ConnId, effects: Vec<Effect>) {
        let mut closed = false;
        if let Some(link) = self.links.get_mut(&conn) {
            for e in effects {
                match e {
                    Effect::Text(m) => link.down.push_back(Down::Text(m)),
                    Effect::Binary(b) => link.down.push_back(Down::Binary(b)),
                    Effect::Close { code, .. } => {
                        link.down.push_back(Down::Close(code));
                        closed = true;
                        break;
                    }
                }
            }
        }
        if closed {
            self.conns.remove(&conn);
            if self.links.get(&conn).is_some_and(|l| !l.device_open) {
                self.links.remove(&conn);
            }
        }
    }

    // ---- the devices

    fn device_lost_link(&mut self, d: usize) {
        let dev = &mut self.devices[d];
        dev.link = None;
        dev.ready = false;
        dev.states.clear();
        dev.retry_at_ms = self.now_ms + 200 + (self.rng.next_u64() % 3000);
    }

    fn user_id(&self, d: usize) -> wijklog_shared::UserId {
        let id = self.accounts[self.devices[d].account]
            .principal
            .user_id
            .as_str()
            .to_owned();
        wijklog_shared::UserId::parse(&id).expect("user id")
    }

    fn team(&self, d: usize) -> String {
        self.accounts[self.devices[d].account]
            .principal
            .team
            .clone()
            .unwrap_or_default()
    }

    fn timestamp(&self, d: usize) -> Timestamp {
        Timestamp::from_millis((T0_MS + self.now_ms as i64 + self.devices[d].skew_ms).max(0))
    }

    fn new_actor(&mut self, d: usize) -> ActorId {
        let bytes = self.bytes16();
        self.actor_account
            .insert(bytes.to_vec(), self.devices[d].account);
        ActorId::from(bytes.to_vec())
    }

    /// The document in memory, an empty one with a fresh actor if the
    /// device does not have it (`docFor` in the app).
    fn doc_for(&mut self, d: usize, id: DocId) -> &mut DevDoc {
        if !self.devices[d].mem.contains_key(&id) {
            let actor = self.new_actor(d);
            let doc = Document::from_automerge(
                wijklog_shared::DocId::from_bytes(id.as_bytes()),
                AutoCommit::new_with_encoding(TEXT_ENCODING).with_actor(actor.clone()),
            );
            self.devices[d].mem.insert(
                id,
                DevDoc {
                    doc,
                    actor,
                    acked: Vec::new(),
                    dirty: true,
                },
            );
        }
        self.devices[d].mem.get_mut(&id).expect("just inserted")
    }

    fn persist(&mut self, d: usize, id: DocId) {
        let dev = &mut self.devices[d];
        if let Some(doc) = dev.mem.get_mut(&id) {
            let bytes = doc.doc.save();
            doc.dirty = false;
            dev.disk.insert(
                id,
                DiskDoc {
                    bytes,
                    actor: doc.actor.clone(),
                    acked: doc.acked.clone(),
                },
            );
        }
    }

    fn pending(dev: &mut DevDoc) -> usize {
        dev.doc.pending_changes(&dev.acked)
    }

    /// One user action: a new walk, an observation, or typing in one.
    /// Saved to the device's storage at once (the app says "opgeslagen"
    /// only after that), then offered to the server.
    fn edit(&mut self, d: usize) -> Check {
        let team = self.team(d);
        let user = self.user_id(d);
        let at = self.timestamp(d);
        let own: Vec<DocId> = self.devices[d]
            .mem
            .iter()
            .filter(|(_, doc)| doc.doc.kind().is_ok())
            .map(|(id, _)| *id)
            .collect();
        let choice = self.below(10);
        let (id, before) = if own.is_empty() || choice == 0 {
            let id = DocId::from_bytes(self.bytes16());
            let actor = self.new_actor(d);
            let doc = Document::new_walk_with_actor(
                wijklog_shared::DocId::from_bytes(id.as_bytes()),
                actor.clone(),
                &self.catalog,
                &user,
                at,
                NewWalk {
                    title: format!("Ronde {}", self.step),
                    wijk: "oostermeent".into(),
                    route: String::new(),
                    team: team.clone(),
                    planned_at: None,
                },
            )
            .map_err(|e| format!("new walk refused: {e}"))?;
            self.doc_team.insert(id, team);
            self.devices[d].mem.insert(
                id,
                DevDoc {
                    doc,
                    actor,
                    acked: Vec::new(),
                    dirty: true,
                },
            );
            self.log(format!("d{d} new walk {id}"));
            (id, Vec::new())
        } else {
            let id = own[self.below(own.len())];
            let item = self.bytes16();
            let word = ["bank", "café", "groep", "ß", "straatlantaarn kapot", ""][self.below(6)];
            let catalog = self.catalog.clone();
            let splice = self.below(3) == 0;
            let pos_seed = self.below(1000);
            let doc = self.devices[d].mem.get_mut(&id).expect("own doc");
            let before = doc.doc.heads();
            let observations = doc
                .doc
                .walk()
                .map(|w| w.observations.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let result = if splice && !observations.is_empty() {
                let key = &observations[pos_seed % observations.len()];
                let item = ItemId::parse(key).map_err(|e| format!("item id: {e}"))?;
                doc.doc.splice_text(&user, at, &item, 0, 0, word)
            } else {
                let item = ItemId::parse(
                    &uuid::Builder::from_random_bytes(item)
                        .into_uuid()
                        .to_string(),
                )
                .map_err(|e| format!("item id: {e}"))?;
                doc.doc
                    .add_observation(
                        &catalog,
                        &user,
                        at,
                        NewItem {
                            id: Some(item),
                            category: "jeugdoverlast".into(),
                            severity: Severity::Aandacht,
                            text: word.into(),
                            place: None,
                            location: None,
                            feedback_needed: false,
                        },
                    )
                    .map(|_| ())
            };
            if let Err(e) = result {
                // A refused edit changes nothing (the form keeps the input).
                self.log(format!("d{d} edit of {id} refused: {e}"));
                return Ok(());
            }
            self.log(format!("d{d} edit {id}"));
            (id, before)
        };
        let dev = &mut self.devices[d];
        let doc = dev.mem.get_mut(&id).expect("edited doc");
        let made: Vec<ChangeHash> = doc
            .doc
            .automerge_mut()
            .get_changes(&before)
            .iter()
            .map(|c| c.hash())
            .collect();
        dev.typed.entry(id).or_default().extend(made);
        self.persist(d, id);
        self.outcome.typed += 1;
        self.send_sync(d, id);
        Ok(())
    }

    fn send_sync(&mut self, d: usize, id: DocId) {
        let dev = &mut self.devices[d];
        let (Some(conn), true) = (dev.link, dev.ready) else {
            return;
        };
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        let Some(doc) = dev.mem.get_mut(&id) else {
            return;
        };
        let state = dev.states.entry(id).or_default();
        for _ in 0..SEND_BURST {
            let Some(msg) = doc.doc.generate_sync_message(state) else {
                break;
            };
            link.up.push_back(protocol::encode_frame(id, &msg));
        }
    }

    fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, String> {
        heads
            .iter()
            .map(|h| {
                h.parse::<ChangeHash>()
                    .map_err(|e| format!("bad head {h}: {e}"))
            })
            .collect()
    }

    /// `announced` in the app: the server lists a document with its committed heads.
    fn announced(&mut self, d: usize, id: DocId, heads: &[String]) -> Check {
        if let Some(team) = self.doc_team.get(&id)
            && *team != self.team(d)
        {
            return Err(format!("device {d} was told about {id} of team {team}"));
        }
        let heads = Self::parse_heads(heads)?;
        let doc = self.doc_for(d, id);
        doc.acked = heads;
        self.check_sent(d, id)
    }

    /// The device delivers one frame from its link.
    fn device_receive(&mut self, d: usize, conn: ConnId, frame: Down) -> Check {
        self.devices[d].last_frame_ms = self.now_ms;
        match frame {
            Down::Close(code) => {
                self.log(format!("d{d} c{conn} closed by the server ({code})"));
                self.links.remove(&conn);
                self.conns.remove(&conn);
                self.device_lost_link(d);
            }
            Down::Text(ServerMessage::Ready { docs, .. }) => {
                self.log(format!("d{d} c{conn} ready ({} docs)", docs.len()));
                self.devices[d].ready = true;
                let mut ids: BTreeSet<DocId> = self.devices[d].mem.keys().copied().collect();
                for doc in &docs {
                    self.announced(d, doc.id, &doc.heads)?;
                    ids.insert(doc.id);
                }
                for id in ids {
                    self.send_sync(d, id);
                }
            }
            Down::Text(ServerMessage::Doc { id, heads, .. }) => {
                self.log(format!("d{d} c{conn} doc {id}"));
                self.announced(d, id, &heads)?;
                self.send_sync(d, id);
            }
            // The device keeps a document that left its scope (as the app
            // does today); syncing it again subscribes it.
            Down::Text(ServerMessage::Unscope { .. }) => {}
            // The simulated devices never unsubscribe.
            Down::Text(ServerMessage::Kept { .. }) => {}
            // For a coordinator's review screens (they read REST); the simulated devices hold documents only.
            Down::Text(ServerMessage::ListsChanged) => {}
            Down::Text(ServerMessage::Ack { doc, heads }) => {
                let parsed = Self::parse_heads(&heads)?;
                self.log(format!("d{d} c{conn} ack {doc} {}", heads.join(",")));
                self.outcome.acks += 1;
                // The server promises these heads are stored: check the store now.
                let stored = self.stored(doc)?;
                for h in &parsed {
                    if !holds(stored.as_ref(), h) {
                        return Err(format!("ack for {doc} names {h}, which the store lacks"));
                    }
                }
                self.promises
                    .entry(doc)
                    .or_default()
                    .extend(parsed.iter().copied());
                if let Some(local) = self.devices[d].mem.get_mut(&doc) {
                    local.acked = parsed;
                    local.dirty = true;
                }
                self.check_sent(d, doc)?;
            }
            Down::Text(ServerMessage::Error { doc, code, .. }) => {
                let code = serde_json::to_value(code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.log(format!("d{d} c{conn} error {code} for {doc:?}"));
                *self.outcome.errors.entry(code).or_default() += 1;
            }
            Down::Binary(frame) => {
                let (id, msg) = match protocol::split_frame(&frame) {
                    Ok((id, msg)) => (id, msg.to_vec()),
                    Err(_) => return Err("the server sent a frame without a document id".into()),
                };
                if !self.devices[d].ready {
                    return Ok(());
                }
                self.doc_for(d, id);
                let applied = {
                    let DeviceSim { mem, states, .. } = &mut self.devices[d];
                    let doc = mem.get_mut(&id).expect("doc_for");
                    let clean_before = Self::pending(doc) == 0;
                    let before = doc.doc.heads();
                    let state = states.entry(id).or_default();
                    match doc.doc.receive_sync_message(state, &msg) {
                        Err(e) => Err(e.to_string()),
                        Ok(()) => {
                            let after = doc.doc.heads();
                            let changed = after != before;
                            if changed {
                                // The app: all ours was acked and the rest came from the server.
                                if clean_before {
                                    doc.acked = after;
                                }
                                doc.dirty = true;
                            }
                            Ok(changed)
                        }
                    }
                };
                match applied {
                    Err(e) => {
                        // The client restarts the sync from a clean state.
                        self.log(format!(
                            "d{d} c{conn} could not apply a message for {id}: {e}"
                        ));
                        self.close_link(conn, false);
                        return Ok(());
                    }
                    Ok(changed) => {
                        self.log(format!("d{d} c{conn} got {}", describe(&frame)));
                        if changed {
                            if let Some(team) = self.doc_team.get(&id)
                                && *team != self.team(d)
                            {
                                return Err(format!(
                                    "device {d} received changes of {id} of team {team}"
                                ));
                            }
                            self.check_sent(d, id)?;
                        }
                    }
                }
                self.send_sync(d, id);
            }
        }
        Ok(())
    }

    /// "alles verstuurd" for a document must mean: every change the user
    /// saved in it on this device is in the store.
    fn check_sent(&mut self, d: usize, id: DocId) -> Check {
        let dev = &mut self.devices[d];
        let Some(doc) = dev.mem.get_mut(&id) else {
            return Ok(());
        };
        if Self::pending(doc) != 0 {
            return Ok(());
        }
        let Some(typed) = dev.typed.get(&id) else {
            return Ok(());
        };
        let typed: Vec<ChangeHash> = typed.iter().copied().collect();
        let stored = self.stored(id)?;
        for h in typed {
            if !holds(stored.as_ref(), &h) {
                return Err(format!(
                    "device {d} counts {id} as sent, but its change {h} is not stored"
                ));
            }
        }
        Ok(())
    }

    /// Closes a link from the device's side. `cut`: the network fails, what
    /// is in flight is lost both ways; otherwise the server still reads what
    /// the device sent before closing.
    fn close_link(&mut self, conn: ConnId, cut: bool) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        let d = link.device;
        link.device_open = false;
        self.faults.lost += link.down.len() as u64;
        link.down.clear();
        if cut {
            self.faults.lost += link.up.len() as u64;
            self.links.remove(&conn);
            self.conns.remove(&conn);
        }
        if self.devices[d].link == Some(conn) {
            self.device_lost_link(d);
        }
    }

    fn restart_device(&mut self, d: usize, flush: bool) {
        if flush {
            let ids: Vec<DocId> = self.devices[d].mem.keys().copied().collect();
            for id in ids {
                self.persist(d, id);
            }
            self.faults.restarts_flushed += 1;
        } else {
            self.faults.restarts_unflushed += 1;
        }
        if let Some(conn) = self.devices[d].link {
            self.close_link(conn, false);
        }
        let dev = &mut self.devices[d];
        dev.mem.clear();
        for (id, disk) in &dev.disk {
            let mut doc = Document::load(
                wijklog_shared::DocId::from_bytes(id.as_bytes()),
                &disk.bytes,
            )
            .expect("a saved document loads");
            doc.set_actor(disk.actor.clone());
            dev.mem.insert(
                *id,
                DevDoc {
                    doc,
                    actor: disk.actor.clone(),
                    acked: disk.acked.clone(),
                    dirty: false,
                },
            );
        }
        self.log(format!("d{d} restarted (flushed: {flush})"));
    }

    // ---- steps

    /// Delivers the next frame of a link to the server (or, as a fault, a
    /// later one, or one twice).
    fn deliver_up(&mut self, conn: ConnId) -> Check {
        let reorder = self.fault(20);
        let duplicate = self.fault(20);
        let Some(link) = self.links.get_mut(&conn) else {
            return Ok(());
        };
        let idx = if reorder && link.up.len() > 1 {
            1 + (self.rng.next_u64() as usize % (link.up.len() - 1))
        } else {
            0
        };
        let Some(frame) = link.up.remove(idx) else {
            return Ok(());
        };
        if idx > 0 {
            self.faults.reordered += 1;
        }
        if duplicate {
            link.up.push_front(frame.clone());
            self.faults.duplicated += 1;
        }
        let closing = !link.device_open && link.up.is_empty();
        let now = self.instant();
        let digest = describe(&frame);
        if let Some(c) = self.conns.get_mut(&conn) {
            let effects = c.session.handle(Event::Binary(frame), &c.ctx, now);
            self.log(format!("c{conn} server got {digest}"));
            self.route(conn, effects);
        }
        if closing {
            self.links.remove(&conn);
            self.conns.remove(&conn);
        }
        Ok(())
    }

    fn deliver_down(&mut self, conn: ConnId) -> Check {
        let Some(link) = self.links.get_mut(&conn) else {
            return Ok(());
        };
        if !link.device_open {
            return Ok(());
        }
        let d = link.device;
        let Some(frame) = link.down.pop_front() else {
            return Ok(());
        };
        self.device_receive(d, conn, frame)
    }

    /// Runs a connection's queued events (commit results, live updates)
    /// through its session, as the handler does in one pass.
    fn pump(&mut self, conn: ConnId) {
        let now = self.instant();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut batch: Vec<Event> = c.ctx.inbox.lock().expect("inbox").drain(..).collect();
        batch.extend(c.live.drain(..));
        if batch.is_empty() {
            return;
        }
        let batch = core::coalesce(conn, batch);
        let mut effects = Vec::new();
        for event in batch {
            effects.extend(c.session.handle(event, &c.ctx, now));
        }
        self.log(format!("c{conn} pumped, {} effects", effects.len()));
        self.route(conn, effects);
    }

    fn take_live(&mut self) {
        for c in self.conns.values_mut() {
            loop {
                match c.hub_rx.try_recv() {
                    Ok(e) => c.live.push_back(Event::DocChanged {
                        doc: e.doc,
                        kind: e.kind,
                        team: e.team,
                        origins: e.origins,
                        scope: e.scope,
                    }),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        c.live.push_back(Event::Resync)
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// The group committer takes a batch from its queue.
    fn commit(&mut self) -> Check {
        let Some(server) = self.server.as_ref() else {
            return Ok(());
        };
        let n = {
            let q = server.queue.lock().expect("queue");
            q.len()
        };
        if n == 0 {
            return Ok(());
        }
        let take = 1 + self.below(n);
        let batch: Vec<QueuedWrite> = {
            let server = self.server.as_ref().expect("server");
            let mut q = server.queue.lock().expect("queue");
            q.drain(..take).collect()
        };
        if self.fault(40) {
            // The transaction commits, then the process dies before any reply.
            let server = self.server.as_ref().expect("server");
            let stored = store_without_answers(&batch, &server.store.inner).is_ok();
            self.stored_cache.borrow_mut().clear();
            drop(batch);
            self.faults.crashes_after_commit += 1;
            self.log(format!(
                "commit of {take} (stored: {stored}), then the server dies"
            ));
            return self.restart_server();
        }
        let fault = if self.fault(60) {
            self.faults.commit_io_errors += 1;
            Some(StoreFault::Io)
        } else if self.fault(60) {
            self.faults.commit_disk_full += 1;
            Some(StoreFault::Full)
        } else {
            None
        };
        let server = self.server.as_ref().expect("server");
        *server.store.next_commit.lock().expect("fault lock") = fault;
        let dyn_store: &dyn Store = server.store.as_ref();
        commit_batch_blocking(batch, dyn_store, &server.cache, &server.hub, &NoObserver);
        self.stored_cache.borrow_mut().clear();
        self.log(format!("commit of {take} (fault: {fault:?})"));
        Ok(())
    }

    /// One step of the faulty phase.
    fn step_once(&mut self) -> Check {
        self.step += 1;
        self.now_ms += 1 + self.rng.next_u64() % 200;
        self.take_live();
        if self.fault(8) {
            self.faults.server_restarts += 1;
            self.log("server restarts".into());
            return self.restart_server();
        }
        if self.fault(15)
            && let Some(server) = self.server.as_ref()
        {
            server.store.failing_reads.store(1, Ordering::SeqCst);
            self.faults.read_errors += 1;
            self.log("the next store read fails".into());
        }
        let n = self.devices.len();
        let roll = self.below(100);
        match roll {
            0..=14 => {
                let d = self.below(n);
                self.edit(d)?;
            }
            15..=39 => {
                let ready: Vec<ConnId> = self
                    .links
                    .iter()
                    .filter(|(c, l)| !l.up.is_empty() && self.conns.contains_key(c))
                    .map(|(c, _)| *c)
                    .collect();
                if !ready.is_empty() {
                    let conn = ready[self.below(ready.len())];
                    self.deliver_up(conn)?;
                }
            }
            40..=64 => {
                let ready: Vec<ConnId> = self
                    .links
                    .iter()
                    .filter(|(_, l)| !l.down.is_empty() && l.device_open)
                    .map(|(c, _)| *c)
                    .collect();
                if !ready.is_empty() {
                    let conn = ready[self.below(ready.len())];
                    self.deliver_down(conn)?;
                }
            }
            65..=74 => {
                let busy: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| {
                        !c.live.is_empty() || !c.ctx.inbox.lock().expect("inbox").is_empty()
                    })
                    .map(|(id, _)| *id)
                    .collect();
                if !busy.is_empty() {
                    let conn = busy[self.below(busy.len())];
                    self.pump(conn);
                }
            }
            75..=84 => self.commit()?,
            85..=91 => {
                // Devices without a connection try again once their backoff passed.
                for d in 0..n {
                    if self.devices[d].link.is_none() && self.devices[d].retry_at_ms <= self.now_ms
                    {
                        self.connect(d);
                    }
                }
                self.watchdog();
            }
            92..=94 => {
                let d = self.below(n);
                let ids: Vec<DocId> = self.devices[d].mem.keys().copied().collect();
                for id in ids {
                    if self.devices[d].mem[&id].dirty {
                        self.persist(d, id);
                    }
                }
            }
            95 => {
                if self.fault(500) && !self.links.is_empty() {
                    let conns: Vec<ConnId> = self.links.keys().copied().collect();
                    let conn = conns[self.below(conns.len())];
                    let cut = self.below(2) == 0;
                    if cut {
                        self.faults.cuts += 1;
                    } else {
                        self.faults.closes += 1;
                    }
                    self.log(format!("c{conn} dropped (cut: {cut})"));
                    self.close_link(conn, cut);
                }
            }
            96 => {
                if self.fault(300) {
                    let d = self.below(n);
                    let flush = self.below(2) == 0;
                    self.restart_device(d, flush);
                }
            }
            97 => {
                if self.fault(300) {
                    let d = self.below(n);
                    let days = 3 * 24 * 3600 * 1000;
                    self.devices[d].skew_ms =
                        (self.rng.next_u64() % (2 * days)) as i64 - days as i64;
                    self.faults.clock_skews += 1;
                    self.log(format!("d{d} clock off by {} ms", self.devices[d].skew_ms));
                }
            }
            _ => {
                // Time passes.
                self.now_ms += self.rng.next_u64() % 5_000;
            }
        }
        Ok(())
    }

    /// The client's dead-socket watchdog: unacked changes and a silent socket.
    fn watchdog(&mut self) {
        for d in 0..self.devices.len() {
            let Some(conn) = self.devices[d].link else {
                continue;
            };
            if self.now_ms.saturating_sub(self.devices[d].last_frame_ms) < IDLE_PENDING_MS {
                continue;
            }
            let pending = self.devices[d]
                .mem
                .values_mut()
                .any(|doc| Self::pending(doc) > 0);
            if pending {
                self.log(format!("d{d} watchdog closes c{conn}"));
                self.close_link(conn, false);
            }
        }
    }

    /// Whether nothing is left to do: no frames in flight, no queued writes,
    /// no events waiting in a connection.
    fn quiet(&mut self) -> bool {
        self.take_live();
        let queue_empty = self
            .server()
            .is_none_or(|s| s.queue.lock().expect("queue").is_empty());
        queue_empty
            && self.links.iter().all(|(c, l)| {
                (l.up.is_empty() || !self.conns.contains_key(c))
                    && (l.down.is_empty() || !l.device_open)
            })
            && self
                .conns
                .values()
                .all(|c| c.live.is_empty() && c.ctx.inbox.lock().expect("inbox").is_empty())
    }

    /// The network heals: no more faults; every device reconnects; run
    /// until quiet. Devices with unacked changes reconnect (their watchdog)
    /// until nothing is pending, a bounded number of rounds.
    fn heal(&mut self) -> Check {
        self.healing = true;
        if self.server.is_none() {
            self.server = Some(Server::start(&self.db));
            self.stored_cache.borrow_mut().clear();
        }
        if let Some(server) = self.server.as_ref() {
            server.store.failing_reads.store(0, Ordering::SeqCst);
            *server.store.next_commit.lock().expect("fault lock") = None;
        }
        for round in 0..6 {
            for d in 0..self.devices.len() {
                if let Some(conn) = self.devices[d].link {
                    self.close_link(conn, false);
                }
                self.connect(d);
            }
            let mut guard = 0;
            while !self.quiet() {
                guard += 1;
                if guard > 20_000 {
                    return Err("the healed network never became quiet".into());
                }
                self.step += 1;
                self.now_ms += 1_000;
                let conns: Vec<ConnId> = self.links.keys().copied().collect();
                for conn in &conns {
                    if self.conns.contains_key(conn) {
                        while self.links.get(conn).is_some_and(|l| !l.up.is_empty()) {
                            self.deliver_up(*conn)?;
                        }
                    }
                }
                self.commit_all()?;
                self.take_live();
                let conns: Vec<ConnId> = self.conns.keys().copied().collect();
                for conn in conns {
                    self.pump(conn);
                }
                let conns: Vec<ConnId> = self.links.keys().copied().collect();
                for conn in conns {
                    while self
                        .links
                        .get(&conn)
                        .is_some_and(|l| l.device_open && !l.down.is_empty())
                    {
                        self.deliver_down(conn)?;
                    }
                }
            }
            let pending = self
                .devices
                .iter_mut()
                .any(|dev| dev.mem.values_mut().any(|doc| Self::pending(doc) > 0));
            let all_ready = self
                .devices
                .iter()
                .all(|dev| dev.link.is_some() && dev.ready);
            if !pending && all_ready {
                self.log(format!("healed after {} rounds", round + 1));
                return Ok(());
            }
        }
        Err("after six reconnects a device is still not synced or has changes the server never acked".into())
    }

    fn commit_all(&mut self) -> Check {
        loop {
            let Some(server) = self.server.as_ref() else {
                return Ok(());
            };
            let batch: Vec<QueuedWrite> = server.queue.lock().expect("queue").drain(..).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let dyn_store: &dyn Store = server.store.as_ref();
            commit_batch_blocking(batch, dyn_store, &server.cache, &server.hub, &NoObserver);
            self.stored_cache.borrow_mut().clear();
        }
    }

    /// The end state: every device of a team holds every document of its
    /// team exactly as stored, every saved change is stored, every stored
    /// change's actor is bound to its writer, and the database is intact.
    fn check_end(&mut self) -> Check {
        self.check_promises()?;
        self.integrity()?;
        // What each device must hold: its sync scope (every document it
        // holds of its team must match the store as well).
        let mut scopes: Vec<BTreeSet<DocId>> = Vec::new();
        if let Some(server) = self.server.as_ref() {
            for dev in &self.devices {
                let principal = &self.accounts[dev.account].principal;
                let ids = wijklog_server::sync::scope::current(
                    server.store.as_ref(),
                    principal,
                    wijklog_server::domain::now_ms(),
                    &SyncConfig::default(),
                )
                .map_err(|e| format!("listing a scope failed: {e}"))?;
                scopes.push(ids.into_iter().map(|m| m.id).collect());
            }
        }
        let docs: Vec<DocId> = self.doc_team.keys().copied().collect();
        for id in docs {
            let team = self.doc_team[&id].clone();
            let stored = self.stored(id)?;
            for d in 0..self.devices.len() {
                let same_team = self.team(d) == team;
                let typed: Vec<ChangeHash> = self.devices[d]
                    .typed
                    .get(&id)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                for h in &typed {
                    if !holds(stored.as_ref(), h) {
                        return Err(format!(
                            "change {h} saved on device {d} in {id} was never stored"
                        ));
                    }
                }
                let local = self.devices[d].mem.get_mut(&id).map(|doc| doc.doc.heads());
                match (same_team, local, &stored) {
                    (true, Some(mut heads), Some(s)) => {
                        let mut server_heads = s.get_heads();
                        heads.sort();
                        server_heads.sort();
                        if heads != server_heads {
                            return Err(format!(
                                "device {d} did not converge on {id}: {heads:?} vs stored {server_heads:?}"
                            ));
                        }
                    }
                    (true, None, Some(_)) if scopes.get(d).is_none_or(|s| s.contains(&id)) => {
                        return Err(format!("device {d} never received {id} of its scope"));
                    }
                    (false, Some(mut local), _) => {
                        let empty = {
                            local.sort();
                            local.is_empty()
                        };
                        if !empty {
                            return Err(format!("device {d} holds {id} of team {team}"));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(s) = &stored {
                for change in s.get_changes(&[]) {
                    let actor = change.actor_id().to_bytes().to_vec();
                    let owner = self
                        .server
                        .as_ref()
                        .ok_or("no server")?
                        .store
                        .inner
                        .actor_owner(&actor)
                        .map_err(|e| format!("actor owner: {e:?}"))?;
                    let writer = self
                        .actor_account
                        .get(&actor)
                        .map(|a| self.accounts[*a].principal.user_id.clone());
                    if owner.is_none() || owner != writer {
                        return Err(format!(
                            "stored change {} of {id} has actor bound to {owner:?}, written by {writer:?}",
                            change.hash()
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs one scenario. `Ok` with what it did, or the broken invariant.
pub fn run(seed: u64, cfg: SimConfig) -> Result<Outcome, Failure> {
    run_with(seed, cfg, false).0
}

/// Runs one scenario keeping every action: the outcome and the whole trace.
pub fn run_traced(seed: u64, cfg: SimConfig) -> (Result<Outcome, Failure>, Vec<String>) {
    run_with(seed, cfg, true)
}

fn run_with(seed: u64, cfg: SimConfig, traced: bool) -> (Result<Outcome, Failure>, Vec<String>) {
    let t = Instant::now();
    let mut sim = Sim::new(seed, cfg);
    if std::env::var_os("SIM_PROFILE").is_some() {
        eprintln!("new {:?}", t.elapsed());
    }
    if traced {
        sim.full_trace = Some(Vec::new());
    }
    let profile = std::env::var_os("SIM_PROFILE").is_some();
    let result = (|| -> Check {
        let t = Instant::now();
        for _ in 0..cfg.steps {
            sim.step_once()?;
        }
        let t1 = t.elapsed();
        sim.heal()?;
        let t2 = t.elapsed();
        sim.check_end()?;
        if profile {
            eprintln!("steps {t1:?} heal {:?} end {:?}", t2 - t1, t.elapsed() - t2);
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut outcome = std::mem::take(&mut sim.outcome);
            outcome.faults = sim.faults;
            outcome.steps = sim.step;
            outcome.digest = sim.digest;
            (Ok(outcome), sim.full_trace.unwrap_or_default())
        }
        Err(what) => {
            let failure = sim.fail(what);
            (Err(failure), sim.full_trace.unwrap_or_default())
        }
    }
}

/// What many runs did together.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Scenarios run.
    pub scenarios: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// Edits saved on the devices.
    pub typed: u64,
    /// Acks received by the devices.
    pub acks: u64,
    /// Error frames received by the devices, by code.
    pub errors: BTreeMap<String, u64>,
    /// The failed seeds (the first few).
    pub failures: Vec<Failure>,
}

impl Report {
    fn add(&mut self, o: &Outcome) {
        self.scenarios += 1;
        self.faults.add(&o.faults);
        self.typed += o.typed as u64;
        self.acks += o.acks as u64;
        for (code, n) in &o.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
    }

    fn merge(&mut self, other: Report) {
        self.scenarios += other.scenarios;
        self.faults.add(&other.faults);
        self.typed += other.typed;
        self.acks += other.acks;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        self.failures.extend(other.failures);
        self.failures.sort_by_key(|f| f.seed);
    }

    /// A short table: scenarios per second and the faults by kind.
    pub fn summary(&self, secs: f64) -> String {
        let mut out = format!(
            "{} scenarios in {secs:.1} s ({:.1}/s), {} failed; {} edits saved, {} acks, {} faults\n",
            self.scenarios,
            self.scenarios as f64 / secs.max(1e-9),
            self.failures.len(),
            self.typed,
            self.acks,
            self.faults.total()
        );
        out.push_str("| fault | injected |\n|---|---|\n");
        out.push_str(&self.faults.table());
        let codes: Vec<String> = self
            .errors
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        out.push_str(&format!("error frames received: {}\n", codes.join(", ")));
        out
    }
}

/// Runs the seeds of `seeds` on every core (`SIM_THREADS` to choose),
/// stopping early after `budget` if one is given. Each scenario is
/// deterministic, so the threads change nothing but the wall time.
pub fn run_many(seeds: std::ops::Range<u64>, cfg: SimConfig, budget: Option<Duration>) -> Report {
    let threads = std::env::var("SIM_THREADS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64))
        .max(1);
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(seeds.start));
    let end = seeds.end;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut report = Report::default();
                loop {
                    if budget.is_some_and(|b| started.elapsed() >= b) {
                        break;
                    }
                    let seed = next.fetch_add(1, Ordering::SeqCst);
                    if seed >= end {
                        break;
                    }
                    match run(seed, cfg) {
                        Ok(o) => report.add(&o),
                        Err(f) => {
                            report.scenarios += 1;
                            if report.failures.len() < 10 {
                                report.failures.push(f);
                            }
                        }
                    }
                }
                report
            })
        })
        .collect();
    let mut total = Report::default();
    for h in handles {
        total.merge(h.join().expect("a simulation thread panicked"));
    }
    total
}

/// One real session (user "ann") over the real cache, committer step and
/// SQLite store, for feeding it arbitrary frames: the fuzzing of the sync
/// frame parser and of automerge sync messages and changes into the core.
pub struct FrameHarness {
    _dir: tempfile::TempDir,
    db: PathBuf,
    server: Server,
    conn: Conn,
    started: Instant,
}

impl Default for FrameHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameHarness {
    /// A fresh database and an authenticated session.
    pub fn new() -> Self {
        let t = template();
        let dir = sim_dir();
        let db = dir.path().join("wijklog.db");
        std::fs::copy(&t.db, &db).expect("copy the template database");
        let server = Server::start(&db);
        let principal = t.accounts[0].principal.clone();
        let inbox: Inbox = Arc::new(Mutex::new(VecDeque::new()));
        let started = Instant::now();
        let conn = Conn {
            session: Session::new(1, principal, SyncLimits::default(), &[], started),
            ctx: SimCtx {
                store: server.store.clone(),
                cache: server.cache.clone(),
                queue: server.queue.clone(),
                conn: 1,
                inbox,
            },
            hub_rx: server.hub.subscribe(),
            live: VecDeque::new(),
        };
        Self {
            _dir: dir,
            db,
            server,
            conn,
            started,
        }
    }

    /// Feeds one frame, runs the committer and the commit results: every
    /// effect the session answered with. `at_ms` is the time since the start
    /// (the message budget refills with it).
    pub fn feed(&mut self, frame: Event, at_ms: u64) -> Vec<Effect> {
        let now = self.started + Duration::from_millis(at_ms);
        let mut effects = self.conn.session.handle(frame, &self.conn.ctx, now);
        loop {
            let batch: Vec<QueuedWrite> =
                self.server.queue.lock().expect("queue").drain(..).collect();
            if batch.is_empty() {
                break;
            }
            let store: &dyn Store = self.server.store.as_ref();
            commit_batch_blocking(
                batch,
                store,
                &self.server.cache,
                &self.server.hub,
                &NoObserver,
            );
            let events: Vec<Event> = self
                .conn
                .ctx
                .inbox
                .lock()
                .expect("inbox")
                .drain(..)
                .collect();
            for event in events {
                effects.extend(self.conn.session.handle(event, &self.conn.ctx, now));
            }
        }
        while self.conn.hub_rx.try_recv().is_ok() {}
        effects
    }

    /// Changes the session holds for missing dependencies.
    pub fn waiting_changes(&self) -> usize {
        self.conn.session.waiting_changes()
    }

    /// Whether `PRAGMA integrity_check` says `ok`.
    pub fn integrity_ok(&self) -> bool {
        rusqlite::Connection::open(&self.db)
            .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)))
            .is_ok_and(|s| s == "ok")
    }

    /// Every stored document loads.
    pub fn stored_documents_load(&self) -> Result<usize, String> {
        let conn = rusqlite::Connection::open(&self.db).map_err(|e| e.to_string())?;
        let mut stmt = conn
            .prepare("SELECT DISTINCT doc_id FROM changes")
            .map_err(|e| e.to_string())?;
        let ids: Vec<Vec<u8>> = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for id in &ids {
            let bytes: [u8; 16] = id.as_slice().try_into().map_err(|_| "doc id length")?;
            let doc = DocId::from_bytes(bytes);
            let stored = self
                .server
                .store
                .inner
                .load_doc(doc)
                .map_err(|e| format!("{e:?}"))?
                .ok_or("listed document not found")?;
            stored
                .to_automerge()
                .map_err(|e| format!("stored document {doc} does not load: {e}"))?;
        }
        Ok(ids.len())
    }
}
