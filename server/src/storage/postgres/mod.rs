//! [`PgStore`]: the PostgreSQL backend (ADR 0017).
//!
//! A deadpool pool of tokio-postgres connections, driven by a small runtime
//! the store owns; each [`Store`] method runs its queries to completion with
//! `block_on` from the caller's (blocking) thread, so the trait stays
//! synchronous, as for SQLite. Every connection runs with
//! `synchronous_commit = on`: a commit returns after its WAL is flushed, and
//! only then is anything acknowledged.
//!
//! What SQLite's single writer gave for free is explicit here: rows a
//! decision depends on are locked (`FOR UPDATE` / `FOR SHARE`), inserts that
//! may race with another node use `ON CONFLICT DO NOTHING` and read back, and
//! a group commit that loses a deadlock or serialization conflict is run
//! again whole (nothing of it was stored).

pub(crate) mod migrations;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use automerge::ChangeHash;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{GenericClient, NoTls, Row};

use super::{
    AuditEntry, CommitOutcome, CompactOutcome, Device, DocMeta, DocWrite, Lead, LoginCounters,
    LoginKeys, LoginWindow, NewUser, ProjectionRow, RefreshOutcome, RemoteChange, SessionState,
    Singleton, Store, StoreError, StoredDoc, User, WriteApplied, WriteRejected, decode_roles,
    doc_id_from, encode_roles, kind_from, user_id_from,
};
use crate::domain::{DeviceId, DocId, DocKind, UserId, now_ms};

pub use migrations::PG_LATEST_VERSION;

/// How often a group commit that lost a deadlock or serialization conflict
/// is tried again before the error goes to the caller (who does not ack).
const COMMIT_ATTEMPTS: u32 = 5;

/// Options of a [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this node opens.
    pub max_connections: usize,
    /// How long a caller waits for a free connection, or for a new one to
    /// connect, before the call fails.
    pub wait_timeout: Duration,
    /// The password, when it is not in the URL (from the environment:
    /// `WIJKLOG_DATABASE_PASSWORD`). A password in the URL wins.
    pub password: Option<String>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            wait_timeout: Duration::from_secs(10),
            password: None,
        }
    }
}

pub use crate::config::{is_postgres_url, redact_url};

impl PgOptions {
    /// The options of the `[database]` section.
    pub fn from_config(config: &crate::config::DatabaseConfig) -> Self {
        Self {
            max_connections: config.max_connections,
            wait_timeout: Duration::from_secs(config.wait_timeout_secs),
            password: config.password.as_ref().map(|p| p.expose().to_owned()),
        }
    }
}

/// The PostgreSQL store. Cheap to share behind an `Arc`.
pub struct PgStore {
    /// Drives the pool's connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    url: String,
    /// This process's name in change notifications (random per start), so
    /// that it can skip its own.
    node: String,
    /// For the listening connection ([`Store::remote_changes`]).
    config: tokio_postgres::Config,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // May run on an async thread (the server's state is dropped there):
        // shutting down in the background never blocks or panics.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The store's pool and the runtime that drives its connections, for a
/// layer that runs its own queries on the same database (the review layer:
/// `crate::review::ReviewDb`), from [`PgStore::handle`]. Cheap to clone.
/// Like the store's methods, [`PgHandle::block_on`] blocks the calling
/// thread and panics on an async worker: call it from the blocking pool.
/// It works while the [`PgStore`] it came from lives (the application
/// state holds both).
#[derive(Clone)]
pub struct PgHandle {
    pool: Pool,
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for PgHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHandle").finish_non_exhaustive()
    }
}

impl PgHandle {
    /// Runs a future on the store's runtime, blocking the calling thread.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A pooled connection (inside [`PgHandle::block_on`]); it goes back
    /// to the pool when dropped.
    pub async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }
}

/// The first key of wijklog's advisory locks for [`Singleton`] tasks (the
/// ASCII of "wjkl"); the second is the task's [`Singleton::lock_key`].
const LEAD_LOCK_CLASS: i32 = 0x77_6a_6b_6c;

/// The first key of the transaction advisory lock that serializes one
/// device's subscribes (the ASCII of "wjks"); the second is the hash of the
/// device id (a collision only makes two devices take turns).
const SUBSCRIBE_LOCK_CLASS: i32 = 0x77_6a_6b_73;

/// A [`Singleton`] lead on PostgreSQL: the pooled connection that holds the
/// session advisory lock. Dropping it unlocks on the store's runtime and
/// gives the connection back; if unlocking fails, the connection is closed
/// instead (which ends the lock too), never returned to the pool locked.
struct PgLead {
    conn: Option<Object>,
    rt: tokio::runtime::Handle,
    task: Singleton,
}

impl Drop for PgLead {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let task = self.task;
        self.rt.spawn(async move {
            let unlocked = conn
                .query_one(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&LEAD_LOCK_CLASS, &task.lock_key()],
                )
                .await
                .map(|r| r.get::<_, bool>(0));
            if !matches!(unlocked, Ok(true)) {
                tracing::warn!(
                    task = task.name(),
                    "could not release a task's lock; closing its connection"
                );
                drop(Object::take(conn));
            }
        });
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        ),
        _ => false,
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db`),
    /// runs the migrations and returns the store. Refuses a database newer
    /// than this binary. The password may come from `options.password`.
    pub fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let redacted = redact_url(url);
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Unavailable(format!("the database URL {redacted} is not valid: {e}"))
        })?;
        if config.get_password().is_none()
            && let Some(pw) = &options.password
        {
            config.password(pw.as_bytes());
        }
        if config.get_application_name().is_none() {
            config.application_name("wijklog");
        }
        // Durability does not depend on the server's or database's default.
        config.options("-c synchronous_commit=on");
        config.connect_timeout(options.wait_timeout);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wijklog-pg")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.wait_timeout))
            .recycle_timeout(Some(options.wait_timeout))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut node = [0u8; 8];
        getrandom::fill(&mut node)
            .map_err(|e| StoreError::Unavailable(format!("no random node id: {e}")))?;
        let store = PgStore {
            rt: Some(rt),
            pool,
            url: redacted,
            node: hex::encode(node),
            config,
        };
        store.run(async {
            let mut client = store.pool.get().await.map_err(pool_error)?;
            migrations::migrate(&mut client).await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(store)
    }

    /// The pool and the runtime that drives it, for the review layer's own
    /// queries (`crate::review::ReviewDb`).
    pub fn handle(&self) -> PgHandle {
        PgHandle {
            pool: self.pool.clone(),
            rt: self
                .rt
                .as_ref()
                .expect("runtime until drop")
                .handle()
                .clone(),
        }
    }

    /// The database URL without its password.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Runs a future on the store's runtime, blocking the calling thread.
    /// Panics when called on an async worker thread (the trait's rule).
    fn run<F: Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("runtime until drop").block_on(f)
    }

    /// A pooled connection (inside [`PgStore::run`]).
    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Runs `f` with a pooled connection.
    fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'c> AsyncFnOnce(&'c mut Object) -> Result<T, StoreError>,
    {
        self.run(async {
            let mut conn = self.conn().await?;
            f(&mut conn).await
        })
    }

    /// Runs `f` with a pooled connection, blocking the calling thread (never
    /// call it on an async worker thread), for the layers above the store
    /// that keep their own tables in this database (photos:
    /// `crate::blobs::pg`). The connection runs with `synchronous_commit =
    /// on` like every other.
    pub fn with_client<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'c> AsyncFnOnce(&'c mut tokio_postgres::Client) -> Result<T, StoreError>,
    {
        self.run(async {
            let mut conn = self.conn().await?;
            f(&mut conn).await
        })
    }

    /// The two keys of `task`'s advisory lock (what [`Store::try_lead`]
    /// takes for the session), for work that takes the same lock for one
    /// transaction (`pg_try_advisory_xact_lock`): it is released at commit,
    /// and conflicts with a node's session lead on the same task.
    pub fn lead_lock_keys(task: Singleton) -> (i32, i32) {
        (LEAD_LOCK_CLASS, task.lock_key())
    }

    /// A run-time setting as a pooled session sees it (`SHOW name`); `name`
    /// must be a plain setting name.
    pub fn setting(&self, name: &str) -> Result<String, StoreError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Corrupt(format!("not a setting name: {name}")));
        }
        self.with_conn(async |c| Ok(c.query_one(&format!("SHOW {name}"), &[]).await?.get(0)))
    }

    /// The schema version of the database (for `wijklog migrate` and tests).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.with_conn(async |c| Ok(migrations::schema_version(c).await?))
    }

    /// One try of [`Store::update_login_counters`], in one transaction.
    fn login_counters_once(
        &self,
        keys: &LoginKeys,
        update: &mut dyn FnMut(&mut LoginCounters),
    ) -> Result<(), StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            // One statement takes the three rows' locks in kind order (the
            // VALUES order), so attempts sharing a key take turns and two
            // attempts never wait for each other crosswise. A row this
            // statement made (`xmax = 0`: inserted, not updated) stands for
            // "no window"; it is removed below unless the rule counts one.
            let rows = tx
                .query(
                    "INSERT INTO login_windows (kind, key, started_at, failures) \
                     VALUES (1, $1, $4, 1), (2, $2, $4, 1), (3, $3, $4, 1) \
                     ON CONFLICT (kind, key) DO UPDATE SET kind = excluded.kind \
                     RETURNING kind, started_at, failures, xmax = 0",
                    &[&keys.pair, &keys.address, &keys.account, &keys.now],
                )
                .await?;
            let mut counters = LoginCounters::default();
            for r in &rows {
                let kind: i16 = r.get(0);
                let inserted: bool = r.get(3);
                let window = (!inserted).then(|| LoginWindow {
                    started_at: r.get(1),
                    failures: u32::try_from(r.get::<_, i32>(2)).unwrap_or(0),
                });
                match kind {
                    1 => counters.pair = window,
                    2 => counters.address = window,
                    _ => counters.account = window,
                }
            }
            counters.trusted_address = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM login_trusted \
                     WHERE account = $1 AND addr = $2 AND at >= $3)",
                    &[&keys.account, &keys.address, &keys.trusted_since],
                )
                .await?
                .get(0);
            update(&mut counters);
            for (kind, key, window) in [
                (1i16, &keys.pair, counters.pair),
                (2, &keys.address, counters.address),
                (3, &keys.account, counters.account),
            ] {
                match window.filter(|w| w.failures > 0) {
                    Some(w) => {
                        let failures = i32::try_from(w.failures).unwrap_or(i32::MAX);
                        tx.execute(
                            "UPDATE login_windows SET started_at = $3, failures = $4 \
                             WHERE kind = $1 AND key = $2",
                            &[&kind, key, &w.started_at, &failures],
                        )
                        .await?
                    }
                    None => {
                        tx.execute(
                            "DELETE FROM login_windows WHERE kind = $1 AND key = $2",
                            &[&kind, key],
                        )
                        .await?
                    }
                };
            }
            if counters.trust_address {
                tx.execute(
                    "INSERT INTO login_trusted (account, addr, at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account, addr) DO UPDATE SET at = excluded.at",
                    &[&keys.account, &keys.address, &keys.now],
                )
                .await?;
                let keep = i64::from(keys.trusted_per_account);
                tx.execute(
                    "DELETE FROM login_trusted WHERE account = $1 AND addr NOT IN \
                     (SELECT addr FROM login_trusted WHERE account = $1 \
                      ORDER BY at DESC, addr LIMIT $2)",
                    &[&keys.account, &keep],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

const META_COLS: &str = "id, kind, owner, team, created_at";

fn to_meta(r: &Row) -> Result<DocMeta, StoreError> {
    let kind: String = r.get(1);
    Ok(DocMeta {
        id: doc_id_from(r.get(0))?,
        kind: kind_from(&kind)?,
        owner: user_id_from(r.get(2))?,
        team: r.get(3),
        created_at: r.get(4),
    })
}

async fn meta_on(c: &impl GenericClient, id: DocId) -> Result<Option<DocMeta>, StoreError> {
    let key = id.as_bytes().to_vec();
    c.query_opt(
        &format!("SELECT {META_COLS} FROM documents WHERE id = $1"),
        &[&key],
    )
    .await?
    .as_ref()
    .map(to_meta)
    .transpose()
}

const USER_COLS: &str =
    "id, username, display_name, password_hash, roles, team, disabled_at, created_at";

fn to_user(r: &Row) -> Result<User, StoreError> {
    let roles: String = r.get(4);
    let disabled_at: Option<i64> = r.get(6);
    Ok(User {
        id: user_id_from(r.get(0))?,
        username: r.get(1),
        display_name: r.get(2),
        password_hash: r.get(3),
        roles: decode_roles(&roles)?,
        team: r.get(5),
        disabled: disabled_at.is_some(),
        created_at: r.get(7),
    })
}

/// One user by `clause` (with `$1`), optionally locked `FOR UPDATE`.
async fn user_where(
    c: &impl GenericClient,
    clause: &str,
    arg: &str,
    lock: bool,
) -> Result<Option<User>, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE {clause}{lock}"),
        &[&arg],
    )
    .await?
    .as_ref()
    .map(to_user)
    .transpose()
}

const BY_USERNAME: &str = "lower(username) = lower($1)";

const DEVICE_COLS: &str = "id, user_id, name, created_at, last_seen_at, revoked_at, signed_out_at";

fn to_device(r: &Row) -> Result<Device, StoreError> {
    Ok(Device {
        id: DeviceId::from_string(r.get::<_, String>(0)),
        user_id: user_id_from(r.get(1))?,
        name: r.get(2),
        created_at: r.get(3),
        last_seen_at: r.get(4),
        revoked_at: r.get(5),
        signed_out_at: r.get(6),
    })
}

async fn device_on(
    c: &impl GenericClient,
    id: &str,
    lock: bool,
) -> Result<Option<Device>, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    c.query_opt(
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1{lock}"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(to_device)
    .transpose()
}

/// The payload (after `<node>:`) on [`CHANGES_CHANNEL`] that says a
/// session ended: no user or device id, only that every node should check
/// its live connections' sessions now.
const SESSIONS_PAYLOAD: &str = "sessions";

/// Announces, inside the transaction that ends a session, that sessions
/// changed; PostgreSQL delivers it when the transaction commits (and once
/// per transaction, however often it is sent).
async fn announce_sessions(c: &impl GenericClient, node: &str) -> Result<(), StoreError> {
    let payload = format!("{node}:{SESSIONS_PAYLOAD}");
    c.execute("SELECT pg_notify($1, $2)", &[&CHANGES_CHANNEL, &payload])
        .await?;
    Ok(())
}

async fn end_sessions_on(
    c: &impl GenericClient,
    user: &str,
    now: i64,
    node: &str,
) -> Result<u64, StoreError> {
    announce_sessions(c, node).await?;
    c.execute(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE device_id IN \
         (SELECT id FROM devices WHERE user_id = $1 AND revoked_at IS NULL AND signed_out_at IS NULL)",
        &[&user, &now],
    )
    .await?;
    Ok(c.execute(
        "UPDATE devices SET signed_out_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL AND signed_out_at IS NULL",
        &[&user, &now],
    )
    .await?)
}

async fn revoke_device_on(
    c: &impl GenericClient,
    id: &str,
    now: i64,
    node: &str,
) -> Result<u64, StoreError> {
    announce_sessions(c, node).await?;
    c.execute(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE device_id = $1",
        &[&id, &now],
    )
    .await?;
    Ok(c.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        &[&id, &now],
    )
    .await?)
}

fn projection_table(kind: DocKind) -> Option<&'static str> {
    match kind {
        DocKind::Walk => Some("observations"),
        DocKind::Spreekuur => Some("notes"),
        DocKind::Catalog => None,
    }
}

/// Applies one write inside the caller's savepoint. `Err(Ok(rejection))`:
/// roll this write back and tell the caller; `Err(Err(e))`: a database
/// failure that aborts the whole commit.
async fn apply_write(
    tx: &impl GenericClient,
    write: &DocWrite,
    now: i64,
) -> Result<WriteApplied, Result<WriteRejected, StoreError>> {
    let db = |e: tokio_postgres::Error| Err(StoreError::from(e));
    let id = write.doc_id.as_bytes().to_vec();
    let mut created = false;
    let mut existing = meta_on(tx, write.doc_id).await.map_err(Err)?;
    if existing.is_none()
        && let Some(new) = &write.create
    {
        // Another node may create the same document at the same moment:
        // the insert waits for it and then does nothing; read back below.
        let n = tx
            .execute(
                "INSERT INTO documents (id, kind, owner, team, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &new.kind.as_str(), &new.owner.as_str(), &new.team, &now],
            )
            .await
            .map_err(db)?;
        if n == 1 {
            created = true;
            existing = Some(DocMeta {
                id: write.doc_id,
                kind: new.kind,
                owner: new.owner.clone(),
                team: new.team.clone(),
                created_at: now,
            });
        } else {
            existing = meta_on(tx, write.doc_id).await.map_err(Err)?;
        }
    }
    let meta = match (existing, &write.create) {
        (Some(meta), Some(new)) if !created => {
            if meta.kind != new.kind || meta.team != new.team {
                return Err(Ok(WriteRejected::CreateConflict));
            }
            meta
        }
        (Some(meta), _) => meta,
        (None, _) => return Err(Ok(WriteRejected::UnknownDocument)),
    };

    // The document's epoch, key-share-locked until the commit (the lock
    // the foreign keys of the inserts below take anyway): an erasure (on
    // any node) locks the row `FOR UPDATE`, so it either committed before
    // and is seen here, or waits for this commit. A write based on a copy
    // of an older epoch is refused: its changes belong to the old history.
    let epoch: i64 = tx
        .query_one(
            "SELECT epoch FROM documents WHERE id = $1 FOR KEY SHARE",
            &[&id],
        )
        .await
        .map_err(db)?
        .get(0);
    if let Some(based_on) = write.epoch
        && !created
        && based_on != epoch
    {
        return Err(Ok(WriteRejected::Rewritten));
    }

    // The sender must still be allowed to write. The device and user rows
    // are share-locked until the commit: a revocation or disabling on any
    // node either commits first (and is seen here) or waits for this commit.
    if let Some(device) = &write.device_id {
        let active = tx
            .query_opt(
                "SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id \
                 WHERE d.id = $1 AND u.id = $2 AND d.revoked_at IS NULL AND u.disabled_at IS NULL \
                 FOR SHARE OF d, u",
                &[&device.as_str(), &write.user_id.as_str()],
            )
            .await
            .map_err(db)?;
        if active.is_none() {
            return Err(Ok(WriteRejected::SessionRevoked));
        }
    }

    // Bind actors first: an actor owned by someone else rejects the write.
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for change in &write.changes {
        if !seen.insert(&change.actor) {
            continue;
        }
        tx.execute(
            "INSERT INTO actors (actor_id, user_id, first_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (actor_id) DO NOTHING",
            &[&change.actor, &write.user_id.as_str(), &now],
        )
        .await
        .map_err(db)?;
        let owner: String = tx
            .query_one(
                "SELECT user_id FROM actors WHERE actor_id = $1",
                &[&change.actor],
            )
            .await
            .map_err(db)?
            .get(0);
        if owner != write.user_id.as_str() {
            return Err(Ok(WriteRejected::ActorBoundToOtherUser {
                actor: hex::encode(&change.actor),
            }));
        }
    }

    let hashes: Vec<Vec<u8>> = write
        .changes
        .iter()
        .map(|c| c.hash.as_ref().to_vec())
        .collect();
    let bytes: Vec<&[u8]> = write.changes.iter().map(|c| c.bytes.as_slice()).collect();
    let actors: Vec<&[u8]> = write.changes.iter().map(|c| c.actor.as_slice()).collect();
    let inserted = if write.changes.is_empty() {
        0
    } else {
        tx.execute(
            "INSERT INTO changes (doc_id, hash, bytes, user_id, actor, received_at, epoch) \
             SELECT $1, t.h, t.b, $4, t.a, $5, $7 \
             FROM unnest($2::bytea[], $3::bytea[], $6::bytea[]) WITH ORDINALITY AS t(h, b, a, ord) \
             ORDER BY t.ord \
             ON CONFLICT (doc_id, hash) DO NOTHING",
            &[
                &id,
                &hashes,
                &bytes,
                &write.user_id.as_str(),
                &now,
                &actors,
                &epoch,
            ],
        )
        .await
        .map_err(db)? as usize
    };
    write_scope_facts(tx, write, created, inserted, now)
        .await
        .map_err(db)?;
    Ok(WriteApplied {
        meta,
        created,
        inserted,
        duplicates: write.changes.len() - inserted,
    })
}

/// The sync scope's facts of one accepted write (see [`DocWrite::schedule`]),
/// as on SQLite.
async fn write_scope_facts(
    tx: &impl GenericClient,
    write: &DocWrite,
    created: bool,
    inserted: usize,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    let id = write.doc_id.as_bytes().to_vec();
    const MEMBER: &str =
        "INSERT INTO doc_members (user_id, doc_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    if inserted > 0 || created {
        tx.execute(MEMBER, &[&write.user_id.as_str(), &id]).await?;
    }
    if let Some(s) = &write.schedule {
        tx.execute(
            "INSERT INTO doc_schedule (doc_id, planned_at, started, running, last_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (doc_id) DO UPDATE SET \
             planned_at = excluded.planned_at, started = excluded.started, \
             running = excluded.running, last_at = excluded.last_at",
            &[&id, &s.planned_at, &s.started, &s.running, &s.last_at],
        )
        .await?;
        for staff in &s.staff {
            tx.execute(MEMBER, &[&staff.as_str(), &id]).await?;
        }
    }
    if created && let Some(device) = &write.device_id {
        tx.execute(
            "INSERT INTO device_subscriptions (device_id, doc_id, opened_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[&device.as_str(), &id, &now],
        )
        .await?;
    }
    Ok(())
}

const CANDIDATE_COLS: &str = "d.id, d.kind, d.owner, d.team, d.created_at, \
     s.planned_at, s.started, s.running, s.last_at, \
     EXISTS (SELECT 1 FROM doc_members m WHERE m.user_id = $1 AND m.doc_id = d.id), \
     (SELECT x.opened_at FROM device_subscriptions x WHERE x.device_id = $2 AND x.doc_id = d.id), \
     EXISTS (SELECT 1 FROM notes n WHERE n.doc_id = d.id AND n.cb_open AND NOT n.deleted \
             AND n.cb_assignee = $1), \
     EXISTS (SELECT 1 FROM notes n WHERE n.doc_id = d.id AND n.cb_open AND NOT n.deleted \
             AND n.cb_assignee IS NULL)";

fn to_candidate(r: &Row) -> Result<super::ScopeCandidate, StoreError> {
    let started: Option<bool> = r.get(6);
    let running: Option<bool> = r.get(7);
    Ok(super::ScopeCandidate {
        meta: to_meta(r)?,
        schedule: started.map(|started| super::DocSchedule {
            planned_at: r.get(5),
            started,
            running: running.unwrap_or(false),
            last_at: r.get(8),
            staff: Vec::new(),
        }),
        member: r.get(9),
        subscribed_at: r.get(10),
        tasks: super::OpenTasks {
            mine: r.get(11),
            team: r.get(12),
        },
    })
}

/// Makes the projection rows of `meta`'s document exactly `rows`, touching
/// only the rows that differ (an unchanged row keeps its search entry). The
/// document's rows are locked first, so two nodes writing the same
/// document's projection take turns.
async fn write_projection(
    tx: &impl GenericClient,
    meta: &DocMeta,
    rows: &[ProjectionRow],
) -> Result<(), StoreError> {
    let Some(table) = projection_table(meta.kind) else {
        return Ok(());
    };
    let id = meta.id.as_bytes().to_vec();
    // Serialize writers of this document's projection (the document row is
    // never updated otherwise, so this lock blocks nothing else).
    tx.execute("SELECT 1 FROM documents WHERE id = $1 FOR UPDATE", &[&id])
        .await?;
    let mut stored: HashMap<String, String> = tx
        .query(
            &format!("SELECT item_id, row_json FROM {table} WHERE doc_id = $1"),
            &[&id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let delete = format!("DELETE FROM {table} WHERE doc_id = $1 AND item_id = $2");
    let insert = format!(
        "INSERT INTO {table} (doc_id, item_id, team, wijk, category, severity, created_at, \
         created_by, deleted, text, place, row_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    for row in rows {
        match stored.remove(&row.item_id) {
            Some(json) if json == row.row_json => continue,
            Some(_) => {
                tx.execute(&delete, &[&id, &row.item_id]).await?;
            }
            None => {}
        }
        tx.execute(
            &insert,
            &[
                &id,
                &row.item_id,
                &meta.team,
                &row.wijk,
                &row.category,
                &row.severity,
                &row.created_at,
                &row.created_by,
                &row.deleted,
                &row.text,
                &row.place,
                &row.row_json,
            ],
        )
        .await?;
    }
    for item in stored.keys() {
        tx.execute(&delete, &[&id, item]).await?;
    }
    Ok(())
}

/// Keeps one connection that LISTENs on [`CHANGES_CHANNEL`] and forwards
/// the other nodes' announcements; reconnects (after 0.1 s, doubling up to
/// 5 s) when the connection is lost, and then reports
/// [`RemoteChange::Missed`]. Ends when the receiver is dropped.
async fn listen(
    config: tokio_postgres::Config,
    node: String,
    tx: tokio::sync::mpsc::UnboundedSender<RemoteChange>,
) {
    use futures_util::StreamExt;
    let mut delay = Duration::from_millis(100);
    loop {
        if tx.is_closed() {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (ntx, mut nrx) = tokio::sync::mpsc::unbounded_channel::<String>();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                if ntx.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the change notification connection failed");
                                return;
                            }
                        }
                    }
                });
                match client
                    .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
                    .await
                {
                    Ok(()) => {
                        delay = Duration::from_millis(100);
                        if tx.send(RemoteChange::Missed).is_err() {
                            driver.abort();
                            return;
                        }
                        while let Some(payload) = nrx.recv().await {
                            let Some((from, doc)) = payload.split_once(':') else {
                                continue;
                            };
                            // Every node checks its sessions, the one
                            // that ended them too.
                            if doc == SESSIONS_PAYLOAD {
                                if tx.send(RemoteChange::SessionsChanged).is_err() {
                                    driver.abort();
                                    return;
                                }
                                continue;
                            }
                            if from == node {
                                continue;
                            }
                            let mut id = [0u8; 16];
                            if hex::decode_to_slice(doc, &mut id).is_err() {
                                continue;
                            }
                            if tx
                                .send(RemoteChange::Changed(DocId::from_bytes(id)))
                                .is_err()
                            {
                                driver.abort();
                                return;
                            }
                        }
                        tracing::warn!("lost the change notification connection; reconnecting");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN failed; retrying");
                    }
                }
                driver.abort();
                drop(client);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the change notification connection; retrying")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The channel on which every commit names the documents it changed.
pub const CHANGES_CHANNEL: &str = "wijklog_changes";

/// One group commit in one transaction (see [`Store::commit`]). Every
/// document that got new changes (or was created) is announced on
/// [`CHANGES_CHANNEL`] as `<node>:<doc hex>`; PostgreSQL delivers a
/// notification only when its transaction commits, so no other node hears
/// of a change before it is durable.
async fn commit_once(
    conn: &mut Object,
    writes: &[DocWrite],
    node: &str,
) -> Result<CommitOutcome, StoreError> {
    let now = now_ms();
    let mut tx = conn.transaction().await?;
    let mut results = Vec::with_capacity(writes.len());
    let mut projections: Vec<(DocMeta, &[ProjectionRow])> = Vec::new();
    for write in writes {
        let sp = tx.savepoint("w").await?;
        match apply_write(&*sp, write, now).await {
            Ok(applied) => {
                sp.commit().await?;
                if let Some(rows) = &write.projection {
                    projections.retain(|(meta, _)| meta.id != write.doc_id);
                    projections.push((applied.meta.clone(), rows.as_slice()));
                }
                results.push(Ok(applied));
            }
            Err(Ok(rejected)) => {
                sp.rollback().await?;
                results.push(Err(rejected));
            }
            Err(Err(e)) => return Err(e),
        }
    }
    for (meta, rows) in projections {
        write_projection(&*tx, &meta, rows).await?;
    }
    let mut announced: Vec<DocId> = Vec::new();
    for applied in results.iter().flatten() {
        if (applied.inserted > 0 || applied.created) && !announced.contains(&applied.meta.id) {
            announced.push(applied.meta.id);
            let payload = format!("{node}:{}", hex::encode(applied.meta.id.as_bytes()));
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANGES_CHANNEL, &payload])
                .await?;
        }
    }
    tx.commit().await?;
    Ok(CommitOutcome { writes: results })
}

/// One try of [`Store::replace_history`], in one transaction. The document
/// row is locked `FOR UPDATE` first: a commit on any node that writes to
/// the document (which key-share-locks the row) either committed before,
/// and then its changes make the stored history differ from the one
/// rewritten ([`StoreError::HistoryChanged`], nothing changed), or waits
/// for this transaction and then finds the new epoch (its write is
/// refused as [`WriteRejected::Rewritten`]). The rewrite is announced on
/// [`CHANGES_CHANNEL`] like a commit; PostgreSQL delivers it once the
/// transaction has committed, and the other nodes drop their cached copy
/// of the old history when they read the new epoch
/// (`crate::sync::remote`).
async fn replace_history_once(
    conn: &mut Object,
    id: DocId,
    history: &super::ReplacedHistory,
    heads: &str,
    node: &str,
) -> Result<i64, StoreError> {
    let key = id.as_bytes().to_vec();
    let now = now_ms();
    let tx = conn.transaction().await?;
    if tx
        .query_opt("SELECT 1 FROM documents WHERE id = $1 FOR UPDATE", &[&key])
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound("document"));
    }
    let meta = meta_on(&*tx, id)
        .await?
        .ok_or(StoreError::NotFound("document"))?;
    let rows = tx
        .query(
            "SELECT seq, hash, user_id, actor, received_at FROM changes \
             WHERE doc_id = $1 ORDER BY seq",
            &[&key],
        )
        .await?;
    if rows.len() != history.hashes.len() {
        return Err(StoreError::HistoryChanged);
    }
    let mut seqs: Vec<i64> = Vec::with_capacity(rows.len());
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(rows.len());
    let mut users: Vec<String> = Vec::with_capacity(rows.len());
    let mut actors: Vec<Vec<u8>> = Vec::with_capacity(rows.len());
    let mut received: Vec<i64> = Vec::with_capacity(rows.len());
    for r in &rows {
        let hash: Vec<u8> = r.get(1);
        let old = ChangeHash::try_from(hash.as_slice())
            .map_err(|_| StoreError::Corrupt("change hash is not 32 bytes".into()))?;
        let new = history.hashes.get(&old).ok_or(StoreError::HistoryChanged)?;
        seqs.push(r.get(0));
        hashes.push(new.as_ref().to_vec());
        users.push(r.get(2));
        actors.push(r.get(3));
        received.push(r.get(4));
    }
    let epoch: i64 = tx
        .query_one(
            "UPDATE documents SET epoch = epoch + 1 WHERE id = $1 RETURNING epoch",
            &[&key],
        )
        .await?
        .get(0);
    tx.execute("DELETE FROM changes WHERE doc_id = $1", &[&key])
        .await?;
    tx.execute(
        "INSERT INTO changes (seq, doc_id, hash, bytes, user_id, actor, received_at, epoch) \
         SELECT t.s, $1, t.h, NULL, t.u, t.a, t.r, $7 \
         FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::bytea[], $6::bigint[]) \
              AS t(s, h, u, a, r)",
        &[&key, &seqs, &hashes, &users, &actors, &received, &epoch],
    )
    .await?;
    let by = history.added_by.as_str();
    for change in &history.added {
        tx.execute(
            "INSERT INTO actors (actor_id, user_id, first_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (actor_id) DO NOTHING",
            &[&change.actor, &by, &now],
        )
        .await?;
        tx.execute(
            "INSERT INTO changes (doc_id, hash, bytes, user_id, actor, received_at, epoch) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6) ON CONFLICT (doc_id, hash) DO NOTHING",
            &[
                &key,
                &change.hash.as_ref(),
                &by,
                &change.actor,
                &now,
                &epoch,
            ],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO snapshots (doc_id, bytes, heads, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, \
         created_at = excluded.created_at",
        &[&key, &history.snapshot, &heads, &now],
    )
    .await?;
    if let Some(rows) = &history.projection {
        write_projection(&*tx, &meta, rows).await?;
    }
    // Mail is not kept on PostgreSQL (it answers `sqlite_only`): there is
    // no outbox to empty (`history.scrub_mail`).
    let detail = history.audit.detail.to_string();
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &now,
            &history.audit.actor.as_ref().map(UserId::as_str),
            &history.audit.action,
            &history.audit.subject,
            &detail,
        ],
    )
    .await?;
    let payload = format!("{node}:{}", hex::encode(id.as_bytes()));
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANGES_CHANNEL, &payload])
        .await?;
    crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureBeforeCommit, || {
        format!("doc={id}")
    });
    tx.commit().await?;
    crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureCommitted, || {
        format!("doc={id}")
    });
    Ok(epoch)
}

impl Store for PgStore {
    fn doc_meta(&self, id: DocId) -> Result<Option<DocMeta>, StoreError> {
        self.with_conn(async |c| meta_on(&***c, id).await)
    }

    fn docs_of_kind(&self, kind: DocKind) -> Result<Vec<DocMeta>, StoreError> {
        self.with_conn(async |c| {
            c.query(
                &format!(
                    "SELECT {META_COLS} FROM documents WHERE kind = $1 ORDER BY created_at, id"
                ),
                &[&kind.as_str()],
            )
            .await?
            .iter()
            .map(to_meta)
            .collect()
        })
    }

    fn load_doc(&self, id: DocId) -> Result<Option<StoredDoc>, StoreError> {
        self.with_conn(async |c| {
            // One snapshot of the database, so snapshot and changes agree.
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            if meta_on(&*tx, id).await?.is_none() {
                return Ok(None);
            }
            let key = id.as_bytes().to_vec();
            let snapshot: Option<Vec<u8>> = tx
                .query_opt("SELECT bytes FROM snapshots WHERE doc_id = $1", &[&key])
                .await?
                .map(|r| r.get(0));
            let epoch: i64 = tx
                .query_one("SELECT epoch FROM documents WHERE id = $1", &[&key])
                .await?
                .get(0);
            let changes = tx
                .query(
                    "SELECT bytes FROM changes WHERE doc_id = $1 AND bytes IS NOT NULL ORDER BY seq",
                    &[&key],
                )
                .await?
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect();
            tx.commit().await?;
            Ok(Some(StoredDoc {
                snapshot,
                changes,
                epoch,
            }))
        })
    }

    fn commit(&self, writes: &[DocWrite]) -> Result<CommitOutcome, StoreError> {
        self.with_conn(async |c| {
            let mut attempt = 1;
            loop {
                match commit_once(c, writes, &self.node).await {
                    Err(e) if attempt < COMMIT_ATTEMPTS && is_retryable(&e) => {
                        attempt += 1;
                        tracing::debug!(attempt, "group commit conflicted with another; retrying");
                        tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                    }
                    other => return other,
                }
            }
        })
    }

    fn remote_changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<RemoteChange>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let rt = self.rt.as_ref()?;
        rt.spawn(listen(self.config.clone(), self.node.clone(), tx));
        Some(rx)
    }

    fn actor_owner(&self, actor: &[u8]) -> Result<Option<UserId>, StoreError> {
        self.with_conn(async |c| {
            c.query_opt("SELECT user_id FROM actors WHERE actor_id = $1", &[&actor])
                .await?
                .map(|r| user_id_from(r.get(0)))
                .transpose()
        })
    }

    fn compact(&self, id: DocId, snapshot: &[u8]) -> Result<CompactOutcome, StoreError> {
        let doc = automerge::Automerge::load(snapshot).map_err(StoreError::InvalidSnapshot)?;
        let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        let heads =
            serde_json::to_string(&heads).map_err(|_| StoreError::Corrupt("heads".into()))?;
        let key = id.as_bytes().to_vec();
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            // One compaction of a document at a time, on any node.
            if tx
                .query_opt("SELECT 1 FROM documents WHERE id = $1 FOR UPDATE", &[&key])
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound("document"));
            }
            let stored: Vec<(i64, Vec<u8>, bool)> = tx
                .query(
                    "SELECT seq, hash, bytes IS NOT NULL FROM changes WHERE doc_id = $1",
                    &[&key],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let previous: Option<Vec<u8>> = tx
                .query_opt("SELECT bytes FROM snapshots WHERE doc_id = $1", &[&key])
                .await?
                .map(|r| r.get(0));
            if let Some(prev) = previous {
                let prev =
                    automerge::Automerge::load(&prev).map_err(StoreError::InvalidSnapshot)?;
                if prev
                    .get_heads()
                    .iter()
                    .any(|h| doc.get_change_meta_by_hash(h).is_none())
                {
                    return Err(StoreError::Corrupt(
                        "the new snapshot does not contain the previous snapshot".into(),
                    ));
                }
            }
            let mut covered = 0;
            let mut kept = 0;
            let mut clear: Vec<i64> = Vec::new();
            for (seq, hash, has_bytes) in stored {
                let hash = ChangeHash::try_from(hash.as_slice())
                    .map_err(|_| StoreError::Corrupt("change hash is not 32 bytes".into()))?;
                if doc.get_change_meta_by_hash(&hash).is_some() {
                    if has_bytes {
                        clear.push(seq);
                        covered += 1;
                    }
                } else if has_bytes {
                    kept += 1;
                } else {
                    return Err(StoreError::Corrupt(
                        "a change already compacted away is missing from the new snapshot".into(),
                    ));
                }
            }
            if !clear.is_empty() {
                tx.execute(
                    "UPDATE changes SET bytes = NULL WHERE seq = ANY($1)",
                    &[&clear],
                )
                .await?;
            }
            tx.execute(
                "INSERT INTO snapshots (doc_id, bytes, heads, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, \
                 created_at = excluded.created_at",
                &[&key, &snapshot, &heads, &now_ms()],
            )
            .await?;
            tx.commit().await?;
            Ok(CompactOutcome { covered, kept })
        })
    }

    fn replace_history(
        &self,
        id: DocId,
        history: &super::ReplacedHistory,
    ) -> Result<i64, StoreError> {
        let doc =
            automerge::Automerge::load(&history.snapshot).map_err(StoreError::InvalidSnapshot)?;
        let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        let heads =
            serde_json::to_string(&heads).map_err(|_| StoreError::Corrupt("heads".into()))?;
        drop(doc);
        self.with_conn(async |c| {
            let mut attempt = 1;
            loop {
                match replace_history_once(c, id, history, &heads, &self.node).await {
                    Err(e) if attempt < COMMIT_ATTEMPTS && is_retryable(&e) => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                    }
                    other => return other,
                }
            }
        })
    }

    fn docs_owned_by(&self, user: &UserId) -> Result<u64, StoreError> {
        self.with_conn(async |c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM documents WHERE owner = $1",
                    &[&user.as_str()],
                )
                .await?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn uncompacted_docs(&self, min: u64) -> Result<Vec<(DocId, u64)>, StoreError> {
        let min = i64::try_from(min).unwrap_or(i64::MAX);
        self.with_conn(async |c| {
            c.query(
                "SELECT doc_id, count(*) AS n FROM changes WHERE bytes IS NOT NULL \
                 GROUP BY doc_id HAVING count(*) >= $1 ORDER BY n DESC, doc_id",
                &[&min],
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    doc_id_from(r.get(0))?,
                    u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
                ))
            })
            .collect()
        })
    }

    fn projection_rows(&self, id: DocId) -> Result<Vec<ProjectionRow>, StoreError> {
        let key = id.as_bytes().to_vec();
        self.with_conn(async |c| {
            let mut out = Vec::new();
            for table in ["observations", "notes"] {
                let rows = c
                    .query(
                        &format!(
                            "SELECT item_id, wijk, category, severity, created_at, created_by, \
                             deleted, text, place, row_json FROM {table} WHERE doc_id = $1 \
                             ORDER BY item_id COLLATE \"C\""
                        ),
                        &[&key],
                    )
                    .await?;
                out.extend(rows.iter().map(|r| ProjectionRow {
                    item_id: r.get(0),
                    wijk: r.get(1),
                    category: r.get(2),
                    severity: r.get(3),
                    created_at: r.get(4),
                    created_by: r.get(5),
                    deleted: r.get(6),
                    text: r.get(7),
                    place: r.get(8),
                    row_json: r.get(9),
                }));
            }
            Ok(out)
        })
    }

    fn scope_candidates(
        &self,
        user: &UserId,
        device: &DeviceId,
        bounds: super::ScopeBounds,
        doc: Option<DocId>,
    ) -> Result<Vec<super::ScopeCandidate>, StoreError> {
        self.with_conn(async |c| {
            let rows = match doc {
                Some(id) => {
                    let key = id.as_bytes().to_vec();
                    c.query(
                        &format!(
                            "SELECT {CANDIDATE_COLS} FROM documents d \
                             LEFT JOIN doc_schedule s ON s.doc_id = d.id WHERE d.id = $3"
                        ),
                        &[&user.as_str(), &device.as_str(), &key],
                    )
                    .await?
                }
                None => {
                    c.query(
                        &format!(
                            "SELECT {CANDIDATE_COLS} FROM documents d \
                             LEFT JOIN doc_schedule s ON s.doc_id = d.id WHERE d.id IN ( \
                               SELECT id FROM documents WHERE kind = 'catalog' \
                               UNION SELECT m.doc_id FROM doc_members m \
                                 JOIN documents md ON md.id = m.doc_id \
                                 LEFT JOIN doc_schedule ms ON ms.doc_id = m.doc_id \
                                 WHERE m.user_id = $1 \
                                   AND (ms.running OR coalesce(ms.last_at, md.created_at) >= $3) \
                               UNION SELECT doc_id FROM doc_schedule \
                                 WHERE NOT started AND planned_at BETWEEN $3 AND $4 \
                               UNION SELECT doc_id FROM device_subscriptions \
                                 WHERE device_id = $2 AND opened_at >= $5 \
                               UNION SELECT doc_id FROM notes \
                                 WHERE cb_open AND NOT deleted \
                                   AND (cb_assignee = $1 OR cb_assignee IS NULL)) \
                             ORDER BY d.created_at, d.id"
                        ),
                        &[
                            &user.as_str(),
                            &device.as_str(),
                            &bounds.past,
                            &bounds.future,
                            &bounds.subscribed_since,
                        ],
                    )
                    .await?
                }
            };
            rows.iter().map(to_candidate).collect()
        })
    }

    fn subscribe(
        &self,
        device: &DeviceId,
        doc: DocId,
        at: i64,
        bound: super::SubscriptionBound,
    ) -> Result<super::Subscribed, StoreError> {
        let key = doc.as_bytes().to_vec();
        let max = i64::from(bound.max);
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            // One device subscribes at a time (on every node), so the count
            // below is the count the insert sees.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&SUBSCRIBE_LOCK_CLASS, &device.as_str()],
            )
            .await?;
            if meta_on(&*tx, doc).await?.is_none() {
                return Err(StoreError::NotFound("document"));
            }
            tx.execute(
                "DELETE FROM device_subscriptions WHERE device_id = $1 AND opened_at < $2",
                &[&device.as_str(), &bound.live_since],
            )
            .await?;
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM device_subscriptions \
                                    WHERE device_id = $1 AND doc_id = $2), \
                            (SELECT count(*) FROM device_subscriptions WHERE device_id = $1)",
                    &[&device.as_str(), &key],
                )
                .await?;
            let held: bool = row.get(0);
            let live: i64 = row.get(1);
            if !held && live >= max {
                tx.commit().await?;
                return Ok(super::Subscribed::Full);
            }
            tx.execute(
                "INSERT INTO device_subscriptions (device_id, doc_id, opened_at) \
                 VALUES ($1, $2, $3) \
                 ON CONFLICT (device_id, doc_id) DO UPDATE \
                 SET opened_at = greatest(device_subscriptions.opened_at, excluded.opened_at)",
                &[&device.as_str(), &key, &at],
            )
            .await?;
            tx.commit().await?;
            Ok(super::Subscribed::Recorded)
        })
    }

    fn unsubscribe(&self, device: &DeviceId, doc: DocId) -> Result<bool, StoreError> {
        let key = doc.as_bytes().to_vec();
        self.with_conn(async |c| {
            let n = c
                .execute(
                    "DELETE FROM device_subscriptions WHERE device_id = $1 AND doc_id = $2",
                    &[&device.as_str(), &key],
                )
                .await?;
            Ok(n > 0)
        })
    }

    fn delete_lapsed_subscriptions(&self, lapsed_before: i64, max: u32) -> Result<u64, StoreError> {
        let max = i64::from(max);
        self.with_conn(async |c| {
            let n = c
                .execute(
                    "DELETE FROM device_subscriptions WHERE (device_id, doc_id) IN \
                     (SELECT device_id, doc_id FROM device_subscriptions \
                      WHERE opened_at < $1 LIMIT $2)",
                    &[&lapsed_before, &max],
                )
                .await?;
            Ok(n)
        })
    }

    fn list_documents(&self, q: &super::DocListQuery) -> Result<Vec<super::ListedDoc>, StoreError> {
        use super::DocListState;
        let kind = q.kind.as_str();
        let user = q.user.as_str();
        let limit = i64::from(q.limit);
        let (state, order, key_at, key_id): (&str, &str, i64, Vec<u8>) = match q.state {
            DocListState::Planned { from } => (
                "NOT s.started AND s.planned_at >= $5",
                "s.planned_at, d.id",
                from,
                Vec::new(),
            ),
            DocListState::Running => ("s.running", "at DESC, d.id DESC", 0, Vec::new()),
            DocListState::Past { before } => {
                let (at, id) = before
                    .map(|(at, id)| (at, id.as_bytes().to_vec()))
                    .unwrap_or((i64::MAX, vec![0xff; 17]));
                (
                    "NOT coalesce(s.running, false) \
                     AND (coalesce(s.last_at, d.created_at), d.id) < ($5, $6)",
                    "at DESC, d.id DESC",
                    at,
                    id,
                )
            }
        };
        let mine = if q.mine_only {
            "EXISTS (SELECT 1 FROM doc_members m WHERE m.user_id = $3 AND m.doc_id = d.id)"
        } else {
            "TRUE"
        };
        let sql = format!(
            "SELECT d.id, d.kind, d.owner, d.team, d.created_at, \
                    s.planned_at, s.started, s.running, s.last_at, \
                    coalesce(s.last_at, d.created_at) AS at, \
                    EXISTS (SELECT 1 FROM doc_members m \
                            WHERE m.user_id = $3 AND m.doc_id = d.id) AS member \
             FROM documents d LEFT JOIN doc_schedule s ON s.doc_id = d.id \
             WHERE d.kind = $1 AND ($2::text IS NULL OR d.team = $2) \
               AND {mine} AND {state} \
             ORDER BY {order} LIMIT $4"
        );
        self.with_conn(async |c| {
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                vec![&kind, &q.team, &user, &limit];
            match q.state {
                DocListState::Planned { .. } => params.push(&key_at),
                DocListState::Running => {}
                DocListState::Past { .. } => {
                    params.push(&key_at);
                    params.push(&key_id);
                }
            }
            let rows = c.query(&sql, &params).await?;
            rows.iter()
                .map(|r| {
                    let started: Option<bool> = r.get(6);
                    let running: Option<bool> = r.get(7);
                    Ok(super::ListedDoc {
                        meta: to_meta(r)?,
                        schedule: started.map(|started| super::DocSchedule {
                            planned_at: r.get(5),
                            started,
                            running: running.unwrap_or(false),
                            last_at: r.get(8),
                            staff: Vec::new(),
                        }),
                        at: r.get(9),
                        member: r.get(10),
                    })
                })
                .collect()
        })
    }

    fn docs_without_schedule(
        &self,
        after: Option<DocId>,
        limit: u32,
    ) -> Result<Vec<DocMeta>, StoreError> {
        let after = after.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        let limit = i64::from(limit);
        self.with_conn(async |c| {
            c.query(
                "SELECT d.id, d.kind, d.owner, d.team, d.created_at FROM documents d \
                 WHERE d.kind IN ('walk', 'spreekuur') AND d.id > $1 \
                   AND NOT EXISTS (SELECT 1 FROM doc_schedule s WHERE s.doc_id = d.id) \
                 ORDER BY d.id LIMIT $2",
                &[&after, &limit],
            )
            .await?
            .iter()
            .map(to_meta)
            .collect()
        })
    }

    fn backfill_schedule(&self, doc: DocId, s: &super::DocSchedule) -> Result<bool, StoreError> {
        let key = doc.as_bytes().to_vec();
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            if meta_on(&*tx, doc).await?.is_none() {
                return Err(StoreError::NotFound("document"));
            }
            let n = tx
                .execute(
                    "INSERT INTO doc_schedule (doc_id, planned_at, started, running, last_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (doc_id) DO NOTHING",
                    &[&key, &s.planned_at, &s.started, &s.running, &s.last_at],
                )
                .await?;
            if n > 0 {
                for staff in &s.staff {
                    tx.execute(
                        "INSERT INTO doc_members (user_id, doc_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                        &[&staff.as_str(), &key],
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let id = UserId::new_v4();
        let now = now_ms();
        let roles = encode_roles(&user.roles);
        self.with_conn(async |c| {
            let res = c
                .execute(
                    "INSERT INTO users (id, username, display_name, password_hash, roles, team, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &id.as_str(),
                        &user.username,
                        &user.display_name,
                        &user.password_hash,
                        &roles,
                        &user.team,
                        &now,
                    ],
                )
                .await;
            match res {
                Ok(_) => {}
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Err(StoreError::AlreadyExists("username"));
                }
                Err(e) => return Err(e.into()),
            }
            user_where(&***c, "id = $1", id.as_str(), false)
                .await?
                .ok_or(StoreError::NotFound("user"))
        })
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.with_conn(async |c| user_where(&***c, BY_USERNAME, username, false).await)
    }

    fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.with_conn(async |c| user_where(&***c, "id = $1", id.as_str(), false).await)
    }

    fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<User, StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            let user = user_where(&*tx, BY_USERNAME, username, true)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            let now = now_ms();
            if disabled {
                tx.execute(
                    "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                    &[&user.id.as_str(), &now],
                )
                .await?;
                let ids: Vec<String> = tx
                    .query(
                        "SELECT id FROM devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
                        &[&user.id.as_str()],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for id in ids {
                    revoke_device_on(&*tx, &id, now, &self.node).await?;
                }
            } else {
                tx.execute(
                    "UPDATE users SET disabled_at = NULL WHERE id = $1",
                    &[&user.id.as_str()],
                )
                .await?;
            }
            let user = user_where(&*tx, "id = $1", user.id.as_str(), false)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            tx.commit().await?;
            Ok(user)
        })
    }

    fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            let user = user_where(&*tx, BY_USERNAME, username, true)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            tx.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user.id.as_str(), &hash],
            )
            .await?;
            end_sessions_on(&*tx, user.id.as_str(), now_ms(), &self.node).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn end_sessions(&self, user: &UserId) -> Result<usize, StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            let n = end_sessions_on(&*tx, user.as_str(), now_ms(), &self.node).await?;
            tx.commit().await?;
            Ok(n as usize)
        })
    }

    fn create_device(
        &self,
        user: &UserId,
        name: &str,
        refresh_hash: [u8; 32],
        refresh_expires_at: i64,
    ) -> Result<Device, StoreError> {
        let id = DeviceId::new_random();
        let now = now_ms();
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            tx.execute(
                "INSERT INTO devices (id, user_id, name, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
                &[&id.as_str(), &user.as_str(), &name, &now],
            )
            .await?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, device_id, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&&refresh_hash[..], &id.as_str(), &user.as_str(), &now, &refresh_expires_at],
            )
            .await?;
            let device = device_on(&*tx, id.as_str(), false)
                .await?
                .ok_or(StoreError::NotFound("device"))?;
            tx.commit().await?;
            Ok(device)
        })
    }

    fn device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        self.with_conn(async |c| device_on(&***c, id.as_str(), false).await)
    }

    fn devices_of(&self, user: &UserId) -> Result<Vec<Device>, StoreError> {
        self.with_conn(async |c| {
            c.query(
                &format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE user_id = $1 ORDER BY created_at, id"
                ),
                &[&user.as_str()],
            )
            .await?
            .iter()
            .map(to_device)
            .collect()
        })
    }

    fn revoke_device(&self, id: &DeviceId) -> Result<(), StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            if revoke_device_on(&*tx, id.as_str(), now_ms(), &self.node).await? == 0 {
                return Err(StoreError::NotFound("device"));
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn rotate_refresh_token(
        &self,
        old_hash: [u8; 32],
        new_hash: [u8; 32],
        new_expires_at: i64,
        reuse_grace_ms: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let now = now_ms();
        let old: &[u8] = &old_hash;
        let new: &[u8] = &new_hash;
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            // The token row is locked: two nodes presenting the same token
            // take turns, and the second sees the first one's use.
            let Some(row) = tx
                .query_opt(
                    "SELECT device_id, user_id, expires_at, used_at FROM refresh_tokens \
                     WHERE token_hash = $1 FOR UPDATE",
                    &[&old],
                )
                .await?
            else {
                return Ok(RefreshOutcome::Unknown);
            };
            let device_id: String = row.get(0);
            let user_id: String = row.get(1);
            let expires_at: i64 = row.get(2);
            let used_at: Option<i64> = row.get(3);
            let device = device_on(&*tx, &device_id, true)
                .await?
                .ok_or(StoreError::NotFound("device"))?;
            if device.revoked_at.is_some() {
                return Ok(RefreshOutcome::Revoked);
            }
            if device.signed_out_at.is_some() {
                return Ok(RefreshOutcome::SignedOut);
            }
            let retry = match used_at {
                None => false,
                Some(used) => {
                    let used_since: i64 = tx
                        .query_one(
                            "SELECT count(*) FROM refresh_tokens \
                             WHERE device_id = $1 AND used_at >= $2 AND token_hash <> $3",
                            &[&device_id, &used, &old],
                        )
                        .await?
                        .get(0);
                    let retry = now.saturating_sub(used) < reuse_grace_ms && used_since == 0;
                    if !retry {
                        revoke_device_on(&*tx, &device_id, now, &self.node).await?;
                        tx.commit().await?;
                        return Ok(RefreshOutcome::Reused {
                            device_id: DeviceId::from_string(device_id),
                        });
                    }
                    true
                }
            };
            if expires_at <= now {
                return Ok(RefreshOutcome::Expired);
            }
            let user = user_where(&*tx, "id = $1", &user_id, false)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            if user.disabled {
                return Ok(RefreshOutcome::Revoked);
            }
            if retry {
                let successor_unused: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM refresh_tokens \
                         WHERE token_hash = $1 AND device_id = $2 AND used_at IS NULL",
                        &[&new, &device_id],
                    )
                    .await?
                    .get(0);
                if successor_unused == 0 {
                    revoke_device_on(&*tx, &device_id, now, &self.node).await?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Reused {
                        device_id: DeviceId::from_string(device_id),
                    });
                }
            } else {
                tx.execute(
                    "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1",
                    &[&old, &now],
                )
                .await?;
                tx.execute(
                    "INSERT INTO refresh_tokens (token_hash, device_id, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&new, &device_id, &user_id, &now, &new_expires_at],
                )
                .await?;
            }
            tx.execute(
                "UPDATE devices SET last_seen_at = $2 WHERE id = $1",
                &[&device_id, &now],
            )
            .await?;
            let device = device_on(&*tx, &device_id, false)
                .await?
                .ok_or(StoreError::NotFound("device"))?;
            tx.commit().await?;
            Ok(RefreshOutcome::Rotated { user, device })
        })
    }

    fn revoke_by_refresh_token(&self, hash: [u8; 32]) -> Result<Option<DeviceId>, StoreError> {
        let hash: &[u8] = &hash;
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            let device: Option<String> = tx
                .query_opt(
                    "SELECT device_id FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                    &[&hash],
                )
                .await?
                .map(|r| r.get(0));
            if let Some(id) = &device {
                revoke_device_on(&*tx, id, now_ms(), &self.node).await?;
            }
            tx.commit().await?;
            Ok(device.map(DeviceId::from_string))
        })
    }

    fn session_state(&self, user: &UserId, device: &DeviceId) -> Result<SessionState, StoreError> {
        self.with_conn(async |c| {
            let signed_out: Option<bool> = c
                .query_opt(
                    "SELECT d.signed_out_at IS NOT NULL FROM devices d JOIN users u ON u.id = d.user_id \
                     WHERE d.id = $1 AND u.id = $2 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                    &[&device.as_str(), &user.as_str()],
                )
                .await?
                .map(|r| r.get(0));
            Ok(match signed_out {
                None => SessionState::Revoked,
                Some(true) => SessionState::SignedOut,
                Some(false) => SessionState::Active,
            })
        })
    }

    fn touch_device(&self, id: &DeviceId, at: i64) -> Result<(), StoreError> {
        self.with_conn(async |c| {
            c.execute(
                "UPDATE devices SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
                &[&id.as_str(), &at],
            )
            .await?;
            Ok(())
        })
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let detail = entry.detail.to_string();
        self.with_conn(async |c| {
            c.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &now_ms(),
                    &entry.actor.as_ref().map(UserId::as_str),
                    &entry.action,
                    &entry.subject,
                    &detail,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn postgres(&self) -> Option<&PgStore> {
        Some(self)
    }

    fn audit_count_before(&self, before: i64) -> Result<u64, StoreError> {
        self.with_conn(async |c| {
            let n: i64 = c
                .query_one("SELECT count(*) FROM audit_log WHERE at < $1", &[&before])
                .await?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        self.with_conn(async |c| {
            let tx = c.transaction().await?;
            // The row lock also makes two prunes (two nodes) take turns.
            tx.execute(
                "UPDATE audit_retention SET before = $1 WHERE id = 1",
                &[&before],
            )
            .await?;
            let n = tx
                .execute("DELETE FROM audit_log WHERE at < $1", &[&before])
                .await?;
            tx.execute("UPDATE audit_retention SET before = 0 WHERE id = 1", &[])
                .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    fn try_lead(&self, task: Singleton) -> Result<Option<Lead>, StoreError> {
        let rt = self
            .rt
            .as_ref()
            .expect("runtime until drop")
            .handle()
            .clone();
        self.run(async {
            let conn = self.conn().await?;
            let got: bool = conn
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&LEAD_LOCK_CLASS, &task.lock_key()],
                )
                .await?
                .get(0);
            Ok(got.then(|| {
                Lead::holding(PgLead {
                    conn: Some(conn),
                    rt,
                    task,
                })
            }))
        })
    }

    fn update_login_counters(
        &self,
        keys: &LoginKeys,
        update: &mut dyn FnMut(&mut LoginCounters),
    ) -> Result<(), StoreError> {
        // A prune running at the same time may lock an expired row first:
        // the loser of such a deadlock stored nothing and runs again.
        let mut attempt = 1;
        loop {
            match self.login_counters_once(keys, update) {
                Err(e) if is_retryable(&e) && attempt < COMMIT_ATTEMPTS => attempt += 1,
                done => return done,
            }
        }
    }

    fn prune_login_counters(
        &self,
        windows_before: i64,
        trusted_before: i64,
    ) -> Result<u64, StoreError> {
        self.with_conn(async |c| {
            let windows = c
                .execute(
                    "DELETE FROM login_windows WHERE started_at < $1",
                    &[&windows_before],
                )
                .await?;
            let trusted = c
                .execute(
                    "DELETE FROM login_trusted WHERE at < $1",
                    &[&trusted_before],
                )
                .await?;
            Ok(windows + trusted)
        })
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        self.with_conn(async |c| {
            let version = migrations::schema_version(c).await?;
            if version != PG_LATEST_VERSION {
                return Err(StoreError::Corrupt(format!(
                    "schema version {version} is not current"
                )));
            }
            // An ack means "flushed": refuse to serve if it would not.
            let sync: String = c.query_one("SHOW synchronous_commit", &[]).await?.get(0);
            if sync != "on" && sync != "remote_apply" && sync != "remote_write" {
                return Err(StoreError::Corrupt(format!(
                    "synchronous_commit is {sync}, not on"
                )));
            }
            c.execute(
                "INSERT INTO readiness (id, checked_at) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                &[&now_ms()],
            )
            .await?;
            Ok(())
        })
    }
}

/// The reads only tests make ([`StoreInspect`]): not in the
/// production binary.
#[cfg(any(test, feature = "testing"))]
impl crate::storage::StoreInspect for PgStore {
    fn change_count(&self, id: DocId) -> Result<u64, StoreError> {
        let key = id.as_bytes().to_vec();
        self.with_conn(async |c| {
            let n: i64 = c
                .query_one("SELECT count(*) FROM changes WHERE doc_id = $1", &[&key])
                .await?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn search_items(&self, query: &str, limit: u32) -> Result<Vec<(DocId, String)>, StoreError> {
        let words = crate::storage::search_words(query);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let limit = i64::from(limit);
        self.with_conn(async |c| {
            let mut out = Vec::new();
            for table in ["observations", "notes"] {
                let rows = c
                    .query(
                        &format!(
                            "SELECT t.doc_id, t.item_id FROM {table} t, \
                             wijklog_prefix_query($1::text[]) q \
                             WHERE q IS NOT NULL AND t.fts @@ q \
                             ORDER BY ts_rank(t.fts, q) DESC, t.doc_id, t.item_id LIMIT $2"
                        ),
                        &[&words, &limit],
                    )
                    .await?;
                for r in &rows {
                    out.push((doc_id_from(r.get(0))?, r.get::<_, String>(1)));
                }
            }
            out.truncate(limit as usize);
            Ok(out)
        })
    }

    fn audit_entries(&self, limit: u32) -> Result<Vec<crate::storage::AuditRecord>, StoreError> {
        let limit = i64::from(limit);
        self.with_conn(async |c| {
            c.query(
                "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
                &[&limit],
            )
            .await?
            .iter()
            .map(|r| {
                let detail: String = r.get(5);
                Ok(crate::storage::AuditRecord {
                    id: r.get(0),
                    at: r.get(1),
                    entry: AuditEntry {
                        actor: r.get::<_, Option<String>>(2).map(user_id_from).transpose()?,
                        action: r.get(3),
                        subject: r.get(4),
                        detail: serde_json::from_str(&detail)
                            .map_err(|_| StoreError::Corrupt("audit detail is not JSON".into()))?,
                    },
                })
            })
            .collect()
        })
    }
}
