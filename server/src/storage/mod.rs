//! The storage layer: one trait, [`Store`], with SQLite ([`SqliteStore`]) as
//! its implementation, and a conformance suite (`conformance`, only in test
//! builds: `cfg(test)` or the `testing` feature) written once against the
//! trait so that another backend (PostgreSQL) can be checked by the same tests.
//!
//! The trait is synchronous and object-safe (`Arc<dyn Store>`). Every method
//! may block on disk I/O: call it from `web::block` / `spawn_blocking`, never
//! on an async worker thread.
//!
//! Documents are stored as automerge changes (append-only, unique on
//! `(doc_id, hash)`), optionally compacted into a snapshot. [`Store::commit`]
//! writes many documents in ONE transaction (group commit); each
//! [`DocWrite`] inside it succeeds or is rejected on its own (a savepoint per
//! write), so one bad document never sinks the others.

mod codec;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
mod connect;
mod login;
pub(crate) mod migrations;
pub mod postgres;
mod sqlite;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

pub use codec::{FTS_MAX_WORDS, decode_roles, encode_roles, fts_query, search_words};
use codec::{doc_id_from, kind_from, user_id_from};
pub use connect::SqliteOnly;
pub(crate) use connect::open as open_connection;
#[cfg(test)]
pub(crate) use connect::read_back as connection_settings;
pub use login::{LoginCounters, LoginKeys, LoginWindow};
pub use migrations::{LATEST_VERSION, MigrationError};
pub use postgres::{PG_LATEST_VERSION, PgHandle, PgOptions, PgStore, is_postgres_url, redact_url};
pub(crate) use sqlite::checkpoint_truncate;
pub use sqlite::{
    SqliteStore, backup_database, create_private_dir, database_path, restore_database,
};

use crate::domain::{DeviceId, DocId, DocKind, Role, UserId};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file was written by a newer wijklog.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// A unique value (username) already exists.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The thing to act on does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A snapshot could not be read as an automerge document.
    #[error("the snapshot is not a loadable automerge document")]
    InvalidSnapshot(#[source] automerge::AutomergeError),
    /// A stored value could not be decoded (corruption or a bug).
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    /// The database engine failed.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (or the connection to it).
    #[error("database error")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to the database could be had in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// File system error (opening the data directory).
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// The document's stored history is not the one the caller rewrote (a
    /// change was stored meanwhile): nothing was replaced; try again.
    #[error("the document changed while its history was rewritten")]
    HistoryChanged,
    /// This backend cannot do the operation yet.
    #[error("not supported by this storage backend: {0}")]
    Unsupported(&'static str),
}

impl StoreError {
    /// Whether the database could not write because its disk is full
    /// (SQLite's `SQLITE_FULL`, `ENOSPC`, PostgreSQL's `disk_full`): the
    /// write was not stored and may succeed once space returns.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            StoreError::Io(e) => e.kind() == std::io::ErrorKind::StorageFull,
            StoreError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL)
            }
            _ => false,
        }
    }
}

/// `changes=<hash>,<hash>,...`: every change of a batch of writes, for the
/// crash points' detail (`crate::crashpoint`; tests compare it with the
/// database after the kill).
pub fn batch_change_hashes(writes: &[DocWrite]) -> String {
    let hashes: Vec<String> = writes
        .iter()
        .flat_map(|w| w.changes.iter().map(|c| c.hash.to_string()))
        .collect();
    format!("changes={}", hashes.join(","))
}

/// Metadata of a stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocMeta {
    /// The document.
    pub id: DocId,
    /// Its kind (fixed at creation).
    pub kind: DocKind,
    /// The user whose sync created it.
    pub owner: UserId,
    /// The creator's team at creation (none for the catalog).
    pub team: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
}

/// What is needed to rebuild a document: the latest snapshot (if any) and
/// every stored change it does not cover, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDoc {
    /// automerge `save()` bytes of the last compaction.
    pub snapshot: Option<Vec<u8>>,
    /// Raw bytes of each change not in the snapshot.
    pub changes: Vec<Vec<u8>>,
    /// The document's epoch: 0, raised by one each time its history is
    /// rewritten ([`Store::replace_history`]); read in the same transaction.
    pub epoch: i64,
}

impl StoredDoc {
    /// Rebuilds the automerge document (snapshot, then changes).
    pub fn to_automerge(&self) -> Result<automerge::Automerge, automerge::AutomergeError> {
        let mut doc = match &self.snapshot {
            Some(bytes) => automerge::Automerge::load(bytes)?,
            None => automerge::Automerge::new(),
        };
        for change in &self.changes {
            doc.load_incremental(change)?;
        }
        Ok(doc)
    }
}

/// Create a document row (first sync of an unknown document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDoc {
    /// The kind read from the document.
    pub kind: DocKind,
    /// Owner: the authenticated user, never the document's content.
    pub owner: UserId,
    /// Team: from the token, never from the document's content.
    pub team: Option<String>,
}

/// One automerge change to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    /// The change hash.
    pub hash: ChangeHash,
    /// The change's actor id bytes.
    pub actor: Vec<u8>,
    /// The change's raw bytes (`Change::raw_bytes`).
    pub bytes: Vec<u8>,
}

impl NewChange {
    /// Takes hash, actor and bytes from an automerge change.
    pub fn from_change(change: &automerge::Change) -> Self {
        Self {
            hash: change.hash(),
            actor: change.actor_id().to_bytes().to_vec(),
            bytes: change.raw_bytes().to_vec(),
        }
    }
}

/// One projected observation or note, as stored for the review views.
/// `row_json` is the `wijklog_shared::Row` JSON; the other fields are its
/// indexed columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionRow {
    /// The observation or note id (uuid text).
    pub item_id: String,
    /// The wijk (from the document).
    pub wijk: Option<String>,
    /// Category id.
    pub category: Option<String>,
    /// Severity id.
    pub severity: Option<String>,
    /// Creation time (ms).
    pub created_at: Option<i64>,
    /// Creator's user id.
    pub created_by: Option<String>,
    /// Tombstoned.
    pub deleted: bool,
    /// The free text (full-text indexed).
    pub text: String,
    /// The place (full-text indexed).
    pub place: Option<String>,
    /// The full projection row as JSON.
    pub row_json: String,
}

/// Everything one commit writes for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocWrite {
    /// The document.
    pub doc_id: DocId,
    /// The authenticated user the changes are attributed to.
    pub user_id: UserId,
    /// The device (login) that sent the write, if it came from one. The
    /// write is rejected unless that device is active (not revoked) and the
    /// user not disabled, checked in the commit's own transaction, so no
    /// write committed after a revocation is stored or acknowledged.
    pub device_id: Option<DeviceId>,
    /// `Some` if the document may be new: creates its row unless it exists.
    /// If it exists with another kind or team, the write is rejected.
    pub create: Option<NewDoc>,
    /// Changes, stored with `INSERT OR IGNORE` (duplicates are no-ops).
    pub changes: Vec<NewChange>,
    /// `Some(rows)` makes these the document's projection rows (all of
    /// them: rows of items not listed are removed). When several accepted
    /// writes of one commit carry a projection for the same document, only
    /// the last one is written.
    pub projection: Option<Vec<ProjectionRow>>,
    /// `Some` makes this the document's schedule (its dates for the sync
    /// scope) and adds its staff to its members. Every accepted write also
    /// makes its user a member when it stored a change, and a write that
    /// creates the document subscribes the sending device to it.
    pub schedule: Option<DocSchedule>,
    /// The document's epoch the write was based on (the epoch of the copy
    /// its changes were applied to, [`StoredDoc::epoch`]): the write is
    /// rejected with [`WriteRejected::Rewritten`] when the stored document
    /// is at another epoch (an erasure rewrote its history meanwhile, on
    /// this node or another). `None`: not based on a loaded copy (a new
    /// document, seeding, tools); stored at the current epoch.
    pub epoch: Option<i64>,
}

impl DocWrite {
    /// A write by `owner` (from no device, based on no loaded copy) that
    /// creates document `id` of `kind` and `team`, owned by `owner`, with
    /// every change of `doc`, and neither projection nor schedule (set them
    /// on the result where needed): the seed's documents and the tests'.
    pub fn creating(
        id: DocId,
        kind: DocKind,
        owner: &UserId,
        team: Option<&str>,
        doc: &automerge::Automerge,
    ) -> DocWrite {
        DocWrite {
            epoch: None,
            doc_id: id,
            user_id: owner.clone(),
            device_id: None,
            create: Some(NewDoc {
                kind,
                owner: owner.clone(),
                team: team.map(str::to_owned),
            }),
            changes: doc
                .get_changes(&[])
                .iter()
                .map(NewChange::from_change)
                .collect(),
            projection: None,
            schedule: None,
        }
    }
}

/// The dates of a walk or spreekuur session that decide whose devices hold
/// it (`crate::sync::scope`), read from the document by
/// `crate::sync::scope::schedule_of` at every commit that changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocSchedule {
    /// Walk `planned_at`, spreekuur `held_on` (ms).
    pub planned_at: Option<i64>,
    /// A walk was started; a spreekuur session has a note.
    pub started: bool,
    /// A walk was started and not ended.
    pub running: bool,
    /// The last date on the schedule: a walk's `ended_at`, else
    /// `started_at`, else `planned_at`; a session's `held_on` (ms).
    pub last_at: Option<i64>,
    /// User ids of a session's staff (they become members).
    pub staff: Vec<String>,
}

/// The bounds of [`Store::scope_candidates`] (ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeBounds {
    /// Documents whose last date is before this left the members' scope.
    pub past: i64,
    /// Planned documents after this are not on the team's devices yet.
    pub future: i64,
    /// Subscriptions opened before this have lapsed.
    pub subscribed_since: i64,
}

/// The bound of [`Store::subscribe`]: a device holds at most `max`
/// subscriptions opened at or after `live_since`; older ones have lapsed
/// (they are in no scope) and are deleted when the device subscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionBound {
    /// Subscriptions opened before this (ms) have lapsed.
    pub live_since: i64,
    /// Most live subscriptions of one device, documents it created included.
    pub max: u32,
}

/// What [`Store::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// The subscription is stored: new, or renewed (a later `opened_at`).
    Recorded,
    /// Nothing stored: the device already holds `max` live subscriptions of
    /// other documents.
    Full,
}

/// A document that may be in a device's scope, with what the scope rule
/// (`crate::sync::scope::reason`) needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCandidate {
    /// The document.
    pub meta: DocMeta,
    /// Its stored schedule (none for the catalog, and for documents not
    /// changed since the schedule was introduced).
    pub schedule: Option<DocSchedule>,
    /// The user created, wrote to or staffs it.
    pub member: bool,
    /// When the device last opened it (its subscription), if it did.
    pub subscribed_at: Option<i64>,
    /// Open tasks of its items (read from the projection, so documents of
    /// any age count): a call back requested and not closed.
    pub tasks: OpenTasks,
}

/// Which walks or sessions [`Store::list_documents`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocListQuery {
    /// Walks or sessions (the catalog is never listed).
    pub kind: DocKind,
    /// Only this team's (`None`: every team's).
    pub team: Option<String>,
    /// Planned, running or older.
    pub state: DocListState,
    /// The user asking: [`ListedDoc::member`] is about them.
    pub user: UserId,
    /// Only documents the user created, wrote to or staffs.
    pub mine_only: bool,
    /// At most this many.
    pub limit: u32,
}

/// The part of the schedule a [`DocListQuery`] lists, and its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocListState {
    /// Not started, planned at or after `from` (ms); soonest first.
    Planned {
        /// The earliest planned time listed.
        from: i64,
    },
    /// Running (a walk started and not ended); the latest date first.
    Running,
    /// Not running, newest first by the last date (the creation time
    /// without one), strictly after the key `(at, id)` of the previous page.
    Past {
        /// The last key of the previous page.
        before: Option<(i64, DocId)>,
    },
}

/// A document listed by [`Store::list_documents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDoc {
    /// The document.
    pub meta: DocMeta,
    /// Its stored schedule, if any.
    pub schedule: Option<DocSchedule>,
    /// Its last date, or its creation time without one (the `Past` key).
    pub at: i64,
    /// The user of the query created, wrote to or staffs it.
    pub member: bool,
}

/// Open call backs of a document's notes, as [`ScopeCandidate::tasks`]
/// sees them for one user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenTasks {
    /// An open call back is assigned to the user.
    pub mine: bool,
    /// An open call back is assigned to nobody in particular (the team).
    pub team: bool,
}

/// Why one write of a commit was rejected (nothing of it was stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRejected {
    /// A change's actor id is bound to another user.
    #[error("actor {actor} belongs to another user")]
    ActorBoundToOtherUser {
        /// The actor id (hex).
        actor: String,
    },
    /// The document does not exist and the write did not ask to create it.
    #[error("unknown document")]
    UnknownDocument,
    /// The document exists with another kind or team than the create asked for.
    #[error("the document exists with another kind or team")]
    CreateConflict,
    /// The sending device was revoked or its user disabled.
    #[error("the device was revoked or the user disabled")]
    SessionRevoked,
    /// The write was based on an older epoch of the document: its history
    /// was rewritten (an erasure) since the copy was loaded.
    #[error("the document's history was rewritten")]
    Rewritten,
}

/// The result of one [`DocWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteApplied {
    /// The document's metadata after the write.
    pub meta: DocMeta,
    /// Whether this write created the document row.
    pub created: bool,
    /// Changes newly stored.
    pub inserted: usize,
    /// Changes that were already stored (no-ops).
    pub duplicates: usize,
}

/// The result of [`Store::commit`]: one entry per write, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// Per-write results.
    pub writes: Vec<Result<WriteApplied, WriteRejected>>,
}

/// The result of [`Store::compact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactOutcome {
    /// Changes whose bytes moved into the snapshot.
    pub covered: usize,
    /// Changes the snapshot does not contain (kept as they are).
    pub kept: usize,
}

/// A document's history rewritten by an erasure ([`Store::replace_history`]).
#[derive(Debug, Clone)]
pub struct ReplacedHistory {
    /// Old change hash -> new change hash, for exactly the changes stored
    /// now (the replacement is refused with [`StoreError::HistoryChanged`]
    /// otherwise). Each row keeps its sender, actor and arrival time.
    pub hashes: std::collections::HashMap<ChangeHash, ChangeHash>,
    /// Changes the rewritten history adds (the erasure edit), stored as sent
    /// by `added_by`; their actors are bound to `added_by`.
    pub added: Vec<NewChange>,
    /// Who the added changes are attributed to.
    pub added_by: UserId,
    /// `save()` of the rewritten document: the new snapshot, covering every change.
    pub snapshot: Vec<u8>,
    /// The rewritten document's projection rows (`None` for a catalog).
    pub projection: Option<Vec<ProjectionRow>>,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// Mail about the erased item that is not sent yet and holds what was
    /// erased: emptied and marked failed in the same transaction.
    pub scrub_mail: Option<MailScrub>,
}

/// Which unsent mail an erasure empties (see [`ReplacedHistory::scrub_mail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailScrub {
    /// The item id.
    pub item: String,
    /// Only mail that carries the resident's contact details (feedback to
    /// the resident, forwards with contact); otherwise every mail of the item.
    pub contact_only: bool,
}

/// `last_error` of a mail an erasure emptied before it was sent.
pub const MAIL_ERASED: &str = "erased: the item's data was erased before this mail was sent";

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (unique, case-insensitive).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// One or more roles.
    pub roles: Vec<Role>,
    /// Team, if any.
    pub team: Option<String>,
}

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Id (JWT `sub`).
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Team.
    pub team: Option<String>,
    /// Disabled accounts cannot log in or refresh, and their sessions end.
    pub disabled: bool,
    /// Creation time (ms).
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and hashes stay out of logs.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A device: one login on one phone or laptop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Id (JWT `did`).
    pub id: DeviceId,
    /// Its user.
    pub user_id: UserId,
    /// Name given at login (e.g. "telefoon").
    pub name: String,
    /// Created (ms).
    pub created_at: i64,
    /// Last login/refresh (ms).
    pub last_seen_at: i64,
    /// Revoked (ms), if so: the device is told to wipe.
    pub revoked_at: Option<i64>,
    /// Signed out (ms), if so: its session ended (password reset, role or
    /// team change); it must log in again but keeps its unsent work.
    pub signed_out_at: Option<i64>,
}

/// Whether a device's session may continue ([`Store::session_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// User enabled, device neither revoked nor signed out.
    Active,
    /// The session ended (password reset, role or team change): log in
    /// again; the device keeps its data.
    SignedOut,
    /// The device was revoked or the user disabled (or either is unknown):
    /// the device must wipe.
    Revoked,
}

/// The result of presenting a refresh token to [`Store::rotate_refresh_token`].
// One value per refresh request: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now used, the new one is stored.
    Rotated {
        /// The user.
        user: User,
        /// The device (family).
        device: Device,
    },
    /// The token had been used before: the whole family (device) is now revoked.
    Reused {
        /// The revoked device.
        device_id: DeviceId,
    },
    /// Unknown token.
    Unknown,
    /// Token expired.
    Expired,
    /// The device was revoked or the user disabled.
    Revoked,
    /// The device's session was ended (see [`SessionState::SignedOut`]).
    SignedOut,
}

/// One audit log entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who did it (None: the command line / the system).
    pub actor: Option<UserId>,
    /// What, e.g. `user.add`, `user.disable`, `device.revoke`.
    pub action: String,
    /// Id of what was acted on.
    pub subject: Option<String>,
    /// JSON details; never secrets or personal data beyond ids.
    pub detail: serde_json::Value,
}

/// A stored audit log entry, as [`StoreInspect::audit_entries`] reads it.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When (ms).
    pub at: i64,
    /// The entry.
    pub entry: AuditEntry,
}

/// The storage interface. Object-safe; implementations are `Send + Sync`.
pub trait Store: Send + Sync + std::fmt::Debug {
    // ---- documents ----

    /// Metadata of one document, if it exists.
    fn doc_meta(&self, id: DocId) -> Result<Option<DocMeta>, StoreError>;
    /// Every document of one kind (e.g. to find the catalog).
    fn docs_of_kind(&self, kind: DocKind) -> Result<Vec<DocMeta>, StoreError>;
    /// Snapshot plus uncovered changes of a document; `None` if unknown.
    fn load_doc(&self, id: DocId) -> Result<Option<StoredDoc>, StoreError>;
    /// Group commit: all writes in one durable transaction. A rejected write
    /// stores nothing of itself and does not affect the others.
    fn commit(&self, writes: &[DocWrite]) -> Result<CommitOutcome, StoreError>;
    /// The user an automerge actor id is bound to.
    fn actor_owner(&self, actor: &[u8]) -> Result<Option<UserId>, StoreError>;
    /// Stores `snapshot` as the document's snapshot and drops the bytes of
    /// the stored changes it provably contains (checked by loading it).
    /// Changes it does not contain are kept.
    fn compact(&self, id: DocId, snapshot: &[u8]) -> Result<CompactOutcome, StoreError>;
    /// Replaces a document's stored history by a rewritten one (an erasure),
    /// in one transaction: every change row gets its new hash (sender, actor
    /// and arrival time kept) and no bytes, the added changes are stored,
    /// the snapshot becomes `history.snapshot`, the projection and its
    /// full-text index are rewritten, the document's epoch goes up by one
    /// and the audit entry is appended. Deleted content leaves no copy in
    /// the database's free space or journal once this returns (SQLite:
    /// `secure_delete`, full-text index merged, WAL checkpointed). Returns
    /// the new epoch. `NotFound` for an unknown document;
    /// [`StoreError::HistoryChanged`] when the stored changes are not
    /// exactly the keys of `history.hashes`.
    fn replace_history(&self, id: DocId, history: &ReplacedHistory) -> Result<i64, StoreError>;
    /// How many documents `user` created (the per-user document quota).
    fn docs_owned_by(&self, user: &UserId) -> Result<u64, StoreError>;
    /// Documents with at least `min` changes not yet covered by a snapshot,
    /// with that count, most first (compaction candidates).
    fn uncompacted_docs(&self, min: u64) -> Result<Vec<(DocId, u64)>, StoreError>;
    /// The projection rows of a document (row JSON), ordered by item id.
    fn projection_rows(&self, id: DocId) -> Result<Vec<ProjectionRow>, StoreError>;

    // ---- sync scope ----

    /// The documents that may be in the scope of `device` of `user` (a
    /// superset, ordered by creation): the catalog, documents the user is a
    /// member of whose last date is not before `bounds.past` or that are
    /// running, documents planned and not started between `bounds.past` and
    /// `bounds.future`, the device's subscriptions opened since
    /// `bounds.subscribed_since`, and documents with an open call back
    /// assigned to the user or to nobody in particular (whatever their
    /// dates). The scope rule decides; `doc` narrows the answer to one
    /// document.
    fn scope_candidates(
        &self,
        user: &UserId,
        device: &DeviceId,
        bounds: ScopeBounds,
        doc: Option<DocId>,
    ) -> Result<Vec<ScopeCandidate>, StoreError>;
    /// Records that `device` opened `doc` at `at` (ms): a new subscription,
    /// or a later `opened_at` for an existing one. First deletes the
    /// device's lapsed subscriptions (opened before `bound.live_since`); a
    /// new one is refused (`Full`, nothing stored) while the device holds
    /// `bound.max` others (a renewal never is). `NotFound` for an unknown
    /// document.
    fn subscribe(
        &self,
        device: &DeviceId,
        doc: DocId,
        at: i64,
        bound: SubscriptionBound,
    ) -> Result<Subscribed, StoreError>;
    /// Ends a subscription; whether there was one.
    fn unsubscribe(&self, device: &DeviceId, doc: DocId) -> Result<bool, StoreError>;
    /// Deletes at most `max` lapsed subscriptions of any device (opened
    /// before `lapsed_before`, ms); how many it deleted. The periodic job
    /// calls it until fewer than `max` go, so that rows of devices that never
    /// subscribe again do not stay forever.
    fn delete_lapsed_subscriptions(&self, lapsed_before: i64, max: u32) -> Result<u64, StoreError>;
    /// Walks or sessions by their schedule (`query`), for the lists the
    /// app reads over REST (a team's planned and running walks, older
    /// documents). Applies no role rule: the caller narrows `team`.
    fn list_documents(&self, query: &DocListQuery) -> Result<Vec<ListedDoc>, StoreError>;
    /// Walks and spreekuur sessions without a stored schedule (stored before
    /// schedules were kept), ordered by id, after `after`, at most `limit`.
    fn docs_without_schedule(
        &self,
        after: Option<DocId>,
        limit: u32,
    ) -> Result<Vec<DocMeta>, StoreError>;
    /// Stores `schedule` for `doc` unless it has one already (a commit's is
    /// newer and wins), and adds its staff to the members; whether it was
    /// stored. `NotFound` for an unknown document.
    fn backfill_schedule(&self, doc: DocId, schedule: &DocSchedule) -> Result<bool, StoreError>;

    // ---- accounts ----

    /// Creates an account. `AlreadyExists` if the username is taken.
    fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    /// Looks up by login name (case-insensitive).
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Looks up by id.
    fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Disables (true) or re-enables (false) an account; `NotFound` if unknown.
    /// Disabling also revokes all the user's devices.
    fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<User, StoreError>;
    /// Replaces the password hash and ends every session of the user (see
    /// [`Store::end_sessions`]) in the same transaction; `NotFound` if unknown.
    fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError>;
    /// Signs out every device of the user that is neither revoked nor
    /// signed out already: they must log in again (refresh and access
    /// tokens are refused) but are not told to wipe. Returns how many.
    fn end_sessions(&self, user: &UserId) -> Result<usize, StoreError>;

    // ---- devices and refresh tokens ----

    /// Creates a device for a fresh login together with its first refresh token.
    fn create_device(
        &self,
        user: &UserId,
        name: &str,
        refresh_hash: [u8; 32],
        refresh_expires_at: i64,
    ) -> Result<Device, StoreError>;
    /// Looks up a device.
    fn device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError>;
    /// A user's devices.
    fn devices_of(&self, user: &UserId) -> Result<Vec<Device>, StoreError>;
    /// Revokes a device and all its refresh tokens. `NotFound` if unknown.
    fn revoke_device(&self, id: &DeviceId) -> Result<(), StoreError>;
    /// Presents refresh token `old_hash`; if current, marks it used and
    /// stores `new_hash` (its successor, which the caller derives from the
    /// token, so a retry names the same one), in one transaction. Reuse
    /// revokes the device, except a retry of the device's most recently used
    /// token less than `reuse_grace_ms` after its use (the answer to the first
    /// try was lost; 0 turns the grace off, also within the same millisecond)
    /// whose successor `new_hash` is still stored and unused: that answers
    /// `Rotated` again and changes nothing. A retry whose successor was used
    /// or is another one is reuse.
    fn rotate_refresh_token(
        &self,
        old_hash: [u8; 32],
        new_hash: [u8; 32],
        new_expires_at: i64,
        reuse_grace_ms: i64,
    ) -> Result<RefreshOutcome, StoreError>;
    /// Logout: revokes the device the token belongs to. Returns it, if known.
    fn revoke_by_refresh_token(&self, hash: [u8; 32]) -> Result<Option<DeviceId>, StoreError>;
    /// The state of a session: `Active` when the user exists and is enabled
    /// and the device exists, belongs to the user and is neither revoked nor
    /// signed out; `SignedOut` when only the sign-out stands in the way;
    /// `Revoked` otherwise.
    fn session_state(&self, user: &UserId, device: &DeviceId) -> Result<SessionState, StoreError>;
    /// Records contact from a device (a sync session check, a REST call) at
    /// `at` (ms): its `last_seen_at` becomes `at` unless it is later already.
    /// Unknown devices are ignored.
    fn touch_device(&self, id: &DeviceId, at: i64) -> Result<(), StoreError>;

    // ---- audit ----

    /// Appends to the audit log.
    fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// How many audit entries were written before `before` (ms): what
    /// [`Store::prune_audit`] would delete. `Unsupported` where the audit
    /// log's retention is not built.
    fn audit_count_before(&self, before: i64) -> Result<u64, StoreError> {
        let _ = before;
        Err(StoreError::Unsupported("the audit log's retention period"))
    }

    /// Deletes the audit entries written before `before` (ms), the only
    /// deletion the append-only log allows (its retention period); returns
    /// how many went. `Unsupported` where it is not built.
    fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        let _ = before;
        Err(StoreError::Unsupported("the audit log's retention period"))
    }

    /// Residents' points whose contact details or content have passed
    /// their retention period (`crate::retention`), by id, oldest first.
    /// `Unsupported` where the residents' points are not stored (PostgreSQL).
    fn resident_points_due(&self, bounds: &PointRetention) -> Result<PointsDue, StoreError> {
        let _ = bounds;
        Err(StoreError::Unsupported("residents' points"))
    }

    /// Empties the contact details of the points `due.contact`, and the
    /// text, place, map point, photo reference and contact details of the
    /// points `due.content`, in one transaction with one audit entry per
    /// point (`resident_point.erase_contact` / `resident_point.erase_content`,
    /// by `by`, basis `bewaartermijn`); the status, dates and receipt code stay, so
    /// the resident's status page keeps working. Leaves no copy in free
    /// pages or the journal (as [`Store::replace_history`]).
    fn erase_resident_points(&self, due: &PointsDue, by: &UserId) -> Result<(), StoreError> {
        let _ = (due, by);
        Err(StoreError::Unsupported("residents' points"))
    }

    /// The PostgreSQL store this is, for the layers that keep their own
    /// tables in the same database (photos: `crate::blobs`) or run their
    /// own queries on it (the review layer: [`PgStore::handle`]); `None` on
    /// SQLite.
    fn postgres(&self) -> Option<&PgStore> {
        None
    }

    // ---- health ----

    /// Readiness: migrations done and a write transaction commits.
    fn check_ready(&self) -> Result<(), StoreError>;

    // ---- several nodes ----

    /// Documents changed through other processes on the same database
    /// (other nodes), for the sync layer's document cache and live pushes.
    /// Call once; `None` where no other process writes (SQLite: one server
    /// per file).
    fn remote_changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<RemoteChange>> {
        None
    }

    /// Takes the lead for a periodic `task` if no other process holds it:
    /// `Some` while this process may run it (until the [`Lead`] is dropped),
    /// `None` if another node runs it now. On PostgreSQL a session advisory
    /// lock on a connection the lead keeps, so a node that dies (its
    /// connection gone) frees the task at once; SQLite has one server per
    /// file and always leads.
    fn try_lead(&self, task: Singleton) -> Result<Option<Lead>, StoreError> {
        let _ = task;
        Ok(Some(Lead::local()))
    }

    /// Loads the login counters `keys` names, locked against every other
    /// attempt on the same keys (on any node), lets `update` change them,
    /// and stores the result in the same transaction: a window left `None`
    /// or with no failures is removed; `trust_address` remembers the
    /// address for the account, keeping the newest
    /// [`LoginKeys::trusted_per_account`]. `Unsupported` where one process
    /// owns the database (SQLite): its limiter counts in memory.
    fn update_login_counters(
        &self,
        keys: &LoginKeys,
        update: &mut dyn FnMut(&mut LoginCounters),
    ) -> Result<(), StoreError> {
        let _ = (keys, update);
        Err(StoreError::Unsupported("shared login counters"))
    }

    /// Removes login windows that started before `windows_before` and
    /// trusted addresses remembered before `trusted_before` (ms); returns
    /// how many rows went.
    fn prune_login_counters(
        &self,
        windows_before: i64,
        trusted_before: i64,
    ) -> Result<u64, StoreError> {
        let _ = (windows_before, trusted_before);
        Err(StoreError::Unsupported("shared login counters"))
    }
}

/// The bounds of [`Store::resident_points_due`] (ms): a point is due when
/// its date is at or before the bound; `None` switches the rule off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PointRetention {
    /// Contact details of a closed point (status `afgerond` or `afgewezen`,
    /// or merged into another), by its last change.
    pub contact_closed: Option<i64>,
    /// Contact details of a point never closed, by the time it came in.
    pub contact_open: Option<i64>,
    /// Text, place, map point and photo reference, by the last change.
    pub content: Option<i64>,
}

/// Residents' points due for erasure, by id (see [`Store::resident_points_due`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsDue {
    /// Points whose contact details are due (and whose content is not).
    pub contact: Vec<i64>,
    /// Points whose content (with the contact details) is due.
    pub content: Vec<i64>,
}

/// Periodic work that runs on one node at a time when several nodes share
/// one database ([`Store::try_lead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Singleton {
    /// Compaction passes (`crate::compaction`).
    Compaction,
    /// Photo garbage collection.
    BlobGc,
    /// Sending the mail outbox.
    MailQueue,
    /// The coordinators' daily digests.
    Digests,
    /// Retention: erasing what has passed its retention period.
    Retention,
}

impl Singleton {
    /// The task's name (for logs).
    pub fn name(self) -> &'static str {
        match self {
            Singleton::Compaction => "compaction",
            Singleton::BlobGc => "blob_gc",
            Singleton::MailQueue => "mail_queue",
            Singleton::Digests => "digests",
            Singleton::Retention => "retention",
        }
    }

    /// Its number within wijklog's advisory lock class (stable: other nodes
    /// of other versions must agree).
    pub fn lock_key(self) -> i32 {
        match self {
            Singleton::Compaction => 1,
            Singleton::BlobGc => 2,
            Singleton::MailQueue => 3,
            Singleton::Digests => 4,
            Singleton::Retention => 5,
        }
    }
}

/// Held while this process runs a [`Singleton`] task; dropping it lets
/// another node take the task.
pub struct Lead {
    _held: Option<Box<dyn Send>>,
}

impl Lead {
    /// A lead nobody else can contest (one process per database).
    pub fn local() -> Self {
        Self { _held: None }
    }

    /// A lead kept as long as `held` lives (its drop releases it).
    pub fn holding(held: impl Send + 'static) -> Self {
        Self {
            _held: Some(Box::new(held)),
        }
    }
}

impl std::fmt::Debug for Lead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lead").finish_non_exhaustive()
    }
}

/// Reads that only tests make, to check what the store holds after the
/// fact; the server never asks them. Compiled for the crate's own tests and
/// the `testing` feature (integration tests, the storage conformance suite),
/// so the production binary carries none of them.
#[cfg(any(test, feature = "testing"))]
pub trait StoreInspect: Store {
    /// Number of stored changes of a document (covered ones included).
    fn change_count(&self, id: DocId) -> Result<u64, StoreError>;
    /// Full-text search over observation/note text and place: (doc, item)
    /// ids, with the words read by [`fts_query`] (the review list's filter
    /// `q` runs the same words through its own query).
    fn search_items(&self, query: &str, limit: u32) -> Result<Vec<(DocId, String)>, StoreError>;
    /// The latest `limit` audit entries, newest first.
    fn audit_entries(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
    /// Whether a session may continue ([`Store::session_state`] is `Active`).
    fn session_valid(&self, user: &UserId, device: &DeviceId) -> Result<bool, StoreError> {
        Ok(self.session_state(user, device)? == SessionState::Active)
    }
}

/// What [`Store::remote_changes`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteChange {
    /// Another node committed changes to this document (or created it).
    Changed(DocId),
    /// The notification connection was (re)established: changes committed
    /// elsewhere while it was down were not announced, so every cached
    /// document must be read again. Also sent once at the start.
    Missed,
    /// A session ended on some node, this one included (a device revoked
    /// or signed out, a user disabled, a password changed): every live
    /// connection checks its session now instead of at its next interval.
    SessionsChanged,
}

impl ProjectionRow {
    /// Builds the stored row from a `wijklog_shared` projection row. The
    /// server's own record of the document's team (`team`) replaces the
    /// team written in the document.
    pub fn from_shared(
        mut row: wijklog_shared::Row,
        team: Option<String>,
    ) -> Result<Self, serde_json::Error> {
        row.team = team;
        let row_json = serde_json::to_string(&row)?;
        Ok(ProjectionRow {
            severity: row.severity.map(|s| s.as_str().to_owned()),
            item_id: row.item_id,
            wijk: row.wijk,
            category: row.category,
            created_at: row.created_at,
            created_by: row.created_by,
            deleted: row.deleted.is_some(),
            text: row.text.unwrap_or_default(),
            place: row.place,
            row_json,
        })
    }

    /// All stored rows of an automerge document (`None` for a catalog).
    // The error type is the document model's own; its size is not ours to change.
    #[allow(clippy::result_large_err)]
    pub fn all_for(
        meta: &DocMeta,
        doc: &automerge::Automerge,
    ) -> Result<Option<Vec<Self>>, wijklog_shared::Error> {
        if meta.kind == DocKind::Catalog {
            return Ok(None);
        }
        let rows = wijklog_shared::project(meta.id, doc)?;
        rows.into_iter()
            .map(|r| Self::from_shared(r, meta.team.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|_| wijklog_shared::Error::InvalidDocument("projection row did not serialize"))
    }
}
