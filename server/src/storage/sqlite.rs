//! [`SqliteStore`]: the embedded SQLite backend.
//!
//! One writer connection (behind a mutex: SQLite has one writer at a time
//! anyway) and a small pool of reader connections (WAL lets them read while
//! the writer commits). Every connection comes from `connect::open`, with
//! the one pragma list (WAL, `synchronous=FULL`, foreign keys, secure
//! delete, busy timeout).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    AuditEntry, CommitOutcome, CompactOutcome, Device, DocMeta, DocWrite, ProjectionRow,
    RefreshOutcome, ReplacedHistory, SessionState, Store, StoreError, StoredDoc, User,
    WriteApplied, WriteRejected,
};
use super::{connect, migrations};
use super::{decode_roles, doc_id_from, encode_roles, kind_from, user_id_from};
use crate::domain::{DeviceId, DocId, DocKind, UserId, now_ms};

/// How many idle reader connections are kept.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Creates a directory (and missing parents) readable by the owner only
/// (mode 0700 on Unix): the data directory holds personal data and the JWT
/// secret. An existing directory is left as it is.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates the database file with mode 0600 if it does not exist, and takes
/// group and other permissions away from an existing one and its WAL and
/// SHM files (SQLite gives those the database file's mode). Not Unix: nothing.
pub fn make_private(db: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(db)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}

/// The database file inside a data directory (the data directory's layout
/// is the configuration's).
pub use crate::config::database_path;

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, sets the
    /// pragmas and runs the migrations. Refuses a database newer than this binary.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            create_private_dir(parent)?;
        }
        make_private(path)?;
        let mut writer = connect::open(path)?;
        migrations::migrate(&mut writer)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Opens `wijklog.db` inside `data_dir`.
    pub fn open_in_dir(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open(&database_path(data_dir))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable
        // (transactions roll back on drop), so poisoning is ignored.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings of the writer and of a reader connection, as SQLite
    /// reports them.
    #[cfg(test)]
    pub(crate) fn connection_settings(&self) -> (connect::Settings, connect::Settings) {
        let writer = connect::read_back(&self.writer());
        let reader = self
            .with_reader(|c| Ok(connect::read_back(c)))
            .expect("reader");
        (writer, reader)
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect::open(&self.path)?,
        };
        let out = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// Makes a consistent copy of the database at `src` into `dest` with the
/// SQLite online backup API (safe while a server writes to `src`).
pub fn backup_database(src: &Path, dest: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(connect::BUSY_TIMEOUT)?;
    let mut out = Connection::open(dest)?;
    {
        let backup = rusqlite::backup::Backup::new(&conn, &mut out)?;
        backup.run_to_completion(
            256,
            std::time::Duration::from_millis(5),
            Some(|_| crate::crashpoint::reached(crate::crashpoint::Point::BackupStep)),
        )?;
    }
    // The copy is a standalone file: no WAL sidecar needed to read it.
    out.pragma_update(None, "journal_mode", "DELETE")?;
    let ok: String = out.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(StoreError::Corrupt(
            "backup failed its integrity check".into(),
        ));
    }
    Ok(())
}

fn read_meta(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawMeta> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_meta(raw: RawMeta) -> Result<DocMeta, StoreError> {
    let (id, kind, owner, team, created_at) = raw;
    Ok(DocMeta {
        id: doc_id_from(id)?,
        kind: kind_from(&kind)?,
        owner: user_id_from(owner)?,
        team,
        created_at,
    })
}

const META_COLS: &str = "id, kind, owner, team, created_at";

fn meta_on(conn: &Connection, id: DocId) -> Result<Option<DocMeta>, StoreError> {
    let raw = conn
        .query_row(
            &format!("SELECT {META_COLS} FROM documents WHERE id = ?1"),
            [&id.as_bytes()[..]],
            read_meta,
        )
        .optional()?;
    raw.map(to_meta).transpose()
}

#[cfg(any(test, feature = "testing"))]
type RawAudit = (i64, i64, Option<String>, String, Option<String>, String);
type RawMeta = (Vec<u8>, String, String, Option<String>, i64);
type RawDevice = (String, String, String, i64, i64, Option<i64>, Option<i64>);

const USER_COLS: &str =
    "id, username, display_name, password_hash, roles, team, disabled_at, created_at";

fn read_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

type RawUser = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
);

fn to_user(raw: RawUser) -> Result<User, StoreError> {
    let (id, username, display_name, password_hash, roles, team, disabled_at, created_at) = raw;
    Ok(User {
        id: user_id_from(id)?,
        username,
        display_name,
        password_hash,
        roles: decode_roles(&roles)?,
        team,
        disabled: disabled_at.is_some(),
        created_at,
    })
}

fn user_where(conn: &Connection, clause: &str, arg: &str) -> Result<Option<User>, StoreError> {
    let raw = conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE {clause}"),
            [arg],
            read_user,
        )
        .optional()?;
    raw.map(to_user).transpose()
}

const DEVICE_COLS: &str = "id, user_id, name, created_at, last_seen_at, revoked_at, signed_out_at";

fn read_device(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawDevice> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn to_device(raw: RawDevice) -> Result<Device, StoreError> {
    let (id, user_id, name, created_at, last_seen_at, revoked_at, signed_out_at) = raw;
    Ok(Device {
        id: DeviceId::from_string(id),
        user_id: user_id_from(user_id)?,
        name,
        created_at,
        last_seen_at,
        revoked_at,
        signed_out_at,
    })
}

fn device_on(conn: &Connection, id: &str) -> Result<Option<Device>, StoreError> {
    let raw = conn
        .query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [id],
            read_device,
        )
        .optional()?;
    raw.map(to_device).transpose()
}

/// Signs out every live device of `user` (see [`Store::end_sessions`]).
fn end_sessions_on(conn: &Connection, user: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?2) WHERE device_id IN \
         (SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL AND signed_out_at IS NULL)",
        params![user, now],
    )?;
    conn.execute(
        "UPDATE devices SET signed_out_at = ?2 \
         WHERE user_id = ?1 AND revoked_at IS NULL AND signed_out_at IS NULL",
        params![user, now],
    )
}

fn revoke_device_on(conn: &Connection, id: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?2) WHERE device_id = ?1",
        params![id, now],
    )?;
    conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![id, now],
    )
}

/// Copies the WAL into the database and truncates it to zero bytes, so
/// old page images (with content deleted since) are not left in the WAL
/// file. Readers in the middle of a transaction hold the WAL: retried for
/// up to about two seconds, then reported as an error (the data is
/// committed either way; the caller logs it, the next checkpoint finishes
/// the job).
pub(crate) fn checkpoint_truncate(conn: &Connection) -> Result<(), StoreError> {
    for _ in 0..40 {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(StoreError::Unavailable(
        "the WAL could not be checkpointed: readers kept it busy".into(),
    ))
}

/// Deletes up to `?2` subscriptions opened before `?1` (the lapsed ones);
/// finds them by the index on `opened_at` (migration 0015).
pub(crate) const LAPSED_SUBSCRIPTIONS_DELETE: &str = "DELETE FROM device_subscriptions \
     WHERE (device_id, doc_id) IN \
     (SELECT device_id, doc_id FROM device_subscriptions WHERE opened_at < ?1 LIMIT ?2)";

fn projection_table(kind: DocKind) -> Option<&'static str> {
    match kind {
        DocKind::Walk => Some("observations"),
        DocKind::Spreekuur => Some("notes"),
        DocKind::Catalog => None,
    }
}

/// Applies one write inside the caller's savepoint. `Err(Ok(rejection))`
/// means "roll this write back, tell the caller"; `Err(Err(e))` is a
/// database failure that aborts the whole commit.
fn apply_write(
    tx: &Connection,
    write: &DocWrite,
    now: i64,
) -> Result<WriteApplied, Result<WriteRejected, StoreError>> {
    let db = |e: rusqlite::Error| Err(StoreError::from(e));
    let id = write.doc_id.as_bytes();
    let mut created = false;
    let meta = match (meta_on(tx, write.doc_id).map_err(Err)?, &write.create) {
        (Some(meta), Some(new)) => {
            if meta.kind != new.kind || meta.team != new.team {
                return Err(Ok(WriteRejected::CreateConflict));
            }
            meta
        }
        (Some(meta), None) => meta,
        (None, None) => return Err(Ok(WriteRejected::UnknownDocument)),
        (None, Some(new)) => {
            tx.execute(
                "INSERT INTO documents (id, kind, owner, team, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&id[..], new.kind.as_str(), new.owner.as_str(), new.team, now],
            )
            .map_err(db)?;
            created = true;
            DocMeta {
                id: write.doc_id,
                kind: new.kind,
                owner: new.owner.clone(),
                team: new.team.clone(),
                created_at: now,
            }
        }
    };

    // A write based on a copy of an older epoch: the history it was
    // applied to was rewritten (an erasure) since.
    if let Some(based_on) = write.epoch
        && !created
    {
        let epoch: i64 = tx
            .query_row(
                "SELECT epoch FROM documents WHERE id = ?1",
                [&id[..]],
                |r| r.get(0),
            )
            .map_err(db)?;
        if epoch != based_on {
            return Err(Ok(WriteRejected::Rewritten));
        }
    }

    // The sender must still be allowed to write: checked inside this
    // transaction, so a revocation committed before it is always seen.
    if let Some(device) = &write.device_id {
        let active: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id \
                 WHERE d.id = ?1 AND u.id = ?2 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                params![device.as_str(), write.user_id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if active.is_none() {
            return Err(Ok(WriteRejected::SessionRevoked));
        }
    }

    // Bind actors first: an actor owned by someone else rejects the write.
    let mut seen_actors: HashSet<&[u8]> = HashSet::new();
    for change in &write.changes {
        if !seen_actors.insert(&change.actor) {
            continue;
        }
        let owner: Option<String> = tx
            .query_row(
                "SELECT user_id FROM actors WHERE actor_id = ?1",
                [&change.actor],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        match owner {
            Some(owner) if owner != write.user_id.as_str() => {
                return Err(Ok(WriteRejected::ActorBoundToOtherUser {
                    actor: hex::encode(&change.actor),
                }));
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO actors (actor_id, user_id, first_seen) VALUES (?1, ?2, ?3)",
                    params![&change.actor, write.user_id.as_str(), now],
                )
                .map_err(db)?;
            }
        }
    }

    let mut inserted = 0;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO changes (doc_id, hash, bytes, user_id, actor, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?;
        for change in &write.changes {
            inserted += stmt
                .execute(params![
                    &id[..],
                    change.hash.as_ref(),
                    &change.bytes,
                    write.user_id.as_str(),
                    &change.actor,
                    now
                ])
                .map_err(db)?;
        }
    }

    write_scope_facts(tx, write, created, inserted, now).map_err(db)?;

    Ok(WriteApplied {
        meta,
        created,
        inserted,
        duplicates: write.changes.len() - inserted,
    })
}

/// The sync scope's facts of one accepted write (see [`DocWrite::schedule`]):
/// the writer becomes a member when a change of theirs was stored, the
/// schedule and its staff are recorded, and the device that created the
/// document is subscribed to it.
fn write_scope_facts(
    tx: &Connection,
    write: &DocWrite,
    created: bool,
    inserted: usize,
    now: i64,
) -> rusqlite::Result<()> {
    let id = &write.doc_id.as_bytes()[..];
    let mut member =
        tx.prepare_cached("INSERT OR IGNORE INTO doc_members (user_id, doc_id) VALUES (?1, ?2)")?;
    if inserted > 0 || created {
        member.execute(params![write.user_id.as_str(), id])?;
    }
    if let Some(s) = &write.schedule {
        tx.prepare_cached(
            "INSERT INTO doc_schedule (doc_id, planned_at, started, running, last_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (doc_id) DO UPDATE SET \
             planned_at = excluded.planned_at, started = excluded.started, \
             running = excluded.running, last_at = excluded.last_at",
        )?
        .execute(params![id, s.planned_at, s.started, s.running, s.last_at])?;
        for staff in &s.staff {
            member.execute(params![staff, id])?;
        }
    }
    if created && let Some(device) = &write.device_id {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO device_subscriptions (device_id, doc_id, opened_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![device.as_str(), id, now])?;
    }
    Ok(())
}

type RawCandidate = (
    RawMeta,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    Option<i64>,
    bool,
    Option<i64>,
    bool,
    bool,
);

const CANDIDATE_COLS: &str = "d.id, d.kind, d.owner, d.team, d.created_at, \
     s.planned_at, s.started, s.running, s.last_at, \
     EXISTS (SELECT 1 FROM doc_members m WHERE m.user_id = ?1 AND m.doc_id = d.id), \
     (SELECT x.opened_at FROM device_subscriptions x WHERE x.device_id = ?2 AND x.doc_id = d.id), \
     EXISTS (SELECT 1 FROM notes n WHERE n.doc_id = d.id AND n.cb_open = 1 AND n.deleted = 0 \
             AND n.cb_assignee = ?1), \
     EXISTS (SELECT 1 FROM notes n WHERE n.doc_id = d.id AND n.cb_open = 1 AND n.deleted = 0 \
             AND n.cb_assignee IS NULL)";

fn read_candidate(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawCandidate> {
    Ok((
        read_meta(row)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
        row.get(12)?,
    ))
}

fn to_candidate(raw: RawCandidate) -> Result<super::ScopeCandidate, StoreError> {
    let (meta, planned_at, started, running, last_at, member, subscribed_at, mine, team) = raw;
    Ok(super::ScopeCandidate {
        meta: to_meta(meta)?,
        schedule: started.map(|started| super::DocSchedule {
            planned_at,
            started,
            running: running.unwrap_or(false),
            last_at,
            staff: Vec::new(),
        }),
        member,
        subscribed_at,
        tasks: super::OpenTasks { mine, team },
    })
}

/// Makes the projection rows of `meta`'s document exactly `rows`, touching
/// only the rows that differ: an unchanged row (same `row_json`, which holds
/// every column's value) is left alone, so its full-text index entry and
/// photo references are not rewritten. A commit to a document with many
/// items thus costs the changed items, not all of them.
fn write_projection(
    tx: &Connection,
    meta: &DocMeta,
    rows: &[ProjectionRow],
) -> rusqlite::Result<()> {
    let Some(table) = projection_table(meta.kind) else {
        return Ok(());
    };
    let id = meta.id.as_bytes();
    let mut stored: HashMap<String, String> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT item_id, row_json FROM {table} WHERE doc_id = ?1"
        ))?;
        stmt.query_map([&id[..]], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut delete = tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE doc_id = ?1 AND item_id = ?2"
    ))?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO {table} (doc_id, item_id, team, wijk, category, severity, created_at, \
         created_by, deleted, text, place, row_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?;
    for row in rows {
        match stored.remove(&row.item_id) {
            Some(json) if json == row.row_json => continue,
            Some(_) => {
                delete.execute(params![&id[..], row.item_id])?;
            }
            None => {}
        }
        insert.execute(params![
            &id[..],
            row.item_id,
            meta.team,
            row.wijk,
            row.category,
            row.severity,
            row.created_at,
            row.created_by,
            row.deleted,
            row.text,
            row.place,
            row.row_json
        ])?;
    }
    // Rows of items the projection no longer has.
    for item in stored.keys() {
        delete.execute(params![&id[..], item])?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn doc_meta(&self, id: DocId) -> Result<Option<DocMeta>, StoreError> {
        self.with_reader(|c| meta_on(c, id))
    }

    fn docs_of_kind(&self, kind: DocKind) -> Result<Vec<DocMeta>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {META_COLS} FROM documents WHERE kind = ?1 ORDER BY created_at, id"
            ))?;
            let raws: Vec<_> = stmt
                .query_map([kind.as_str()], read_meta)?
                .collect::<Result<_, _>>()?;
            raws.into_iter().map(to_meta).collect()
        })
    }

    fn load_doc(&self, id: DocId) -> Result<Option<StoredDoc>, StoreError> {
        self.with_reader(|c| {
            // One read transaction so snapshot and changes are consistent.
            let tx = c.unchecked_transaction()?;
            if meta_on(&tx, id)?.is_none() {
                return Ok(None);
            }
            let key = &id.as_bytes()[..];
            let snapshot: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT bytes FROM snapshots WHERE doc_id = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?;
            let epoch: i64 =
                tx.query_row("SELECT epoch FROM documents WHERE id = ?1", [key], |r| {
                    r.get(0)
                })?;
            let mut stmt = tx.prepare_cached(
                "SELECT bytes FROM changes WHERE doc_id = ?1 AND bytes IS NOT NULL ORDER BY seq",
            )?;
            let changes = stmt
                .query_map([key], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            tx.finish()?;
            Ok(Some(StoredDoc {
                snapshot,
                changes,
                epoch,
            }))
        })
    }

    fn commit(&self, writes: &[DocWrite]) -> Result<CommitOutcome, StoreError> {
        let now = now_ms();
        let mut conn = self.writer();
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(writes.len());
        // Per document, the last accepted write that carries a projection:
        // each projection is the whole document's, so only that one is written.
        let mut projections: Vec<(DocMeta, &[ProjectionRow])> = Vec::new();
        for write in writes {
            let mut sp = tx.savepoint()?;
            match apply_write(&sp, write, now) {
                Ok(applied) => {
                    sp.commit()?;
                    if let Some(rows) = &write.projection {
                        projections.retain(|(meta, _)| meta.id != write.doc_id);
                        projections.push((applied.meta.clone(), rows.as_slice()));
                    }
                    results.push(Ok(applied));
                }
                Err(Ok(rejected)) => {
                    sp.rollback()?;
                    sp.commit()?;
                    results.push(Err(rejected));
                }
                Err(Err(e)) => return Err(e),
            }
        }
        for (meta, rows) in projections {
            write_projection(&tx, &meta, rows)?;
        }
        crate::crashpoint::reached_with(crate::crashpoint::Point::StoreCommitBefore, || {
            super::batch_change_hashes(writes)
        });
        tx.commit()?;
        Ok(CommitOutcome { writes: results })
    }

    fn actor_owner(&self, actor: &[u8]) -> Result<Option<UserId>, StoreError> {
        self.with_reader(|c| {
            let owner: Option<String> = c
                .query_row(
                    "SELECT user_id FROM actors WHERE actor_id = ?1",
                    [actor],
                    |r| r.get(0),
                )
                .optional()?;
            owner.map(user_id_from).transpose()
        })
    }

    fn compact(&self, id: DocId, snapshot: &[u8]) -> Result<CompactOutcome, StoreError> {
        let doc = automerge::Automerge::load(snapshot).map_err(StoreError::InvalidSnapshot)?;
        let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        let heads =
            serde_json::to_string(&heads).map_err(|_| StoreError::Corrupt("heads".into()))?;
        let key = &id.as_bytes()[..];
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if meta_on(&tx, id)?.is_none() {
            return Err(StoreError::NotFound("document"));
        }
        let stored: Vec<(i64, Vec<u8>, bool)> = {
            let mut stmt =
                tx.prepare("SELECT seq, hash, bytes IS NOT NULL FROM changes WHERE doc_id = ?1")?;
            stmt.query_map([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        // The previous snapshot's content must also be in the new one.
        let previous: Option<Vec<u8>> = tx
            .query_row(
                "SELECT bytes FROM snapshots WHERE doc_id = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(prev) = previous {
            let prev = automerge::Automerge::load(&prev).map_err(StoreError::InvalidSnapshot)?;
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
        for (seq, hash, has_bytes) in stored {
            let hash = ChangeHash::try_from(hash.as_slice())
                .map_err(|_| StoreError::Corrupt("change hash is not 32 bytes".into()))?;
            if doc.get_change_meta_by_hash(&hash).is_some() {
                if has_bytes {
                    tx.execute("UPDATE changes SET bytes = NULL WHERE seq = ?1", [seq])?;
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
        tx.execute(
            "INSERT INTO snapshots (doc_id, bytes, heads, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, \
             created_at = excluded.created_at",
            params![key, snapshot, heads, now_ms()],
        )?;
        crate::crashpoint::reached_with(crate::crashpoint::Point::CompactionBeforeCommit, || {
            format!("doc={id}")
        });
        tx.commit()?;
        crate::crashpoint::reached_with(crate::crashpoint::Point::CompactionCommitted, || {
            format!("doc={id}")
        });
        Ok(CompactOutcome { covered, kept })
    }

    fn replace_history(&self, id: DocId, history: &ReplacedHistory) -> Result<i64, StoreError> {
        let doc =
            automerge::Automerge::load(&history.snapshot).map_err(StoreError::InvalidSnapshot)?;
        let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        let heads =
            serde_json::to_string(&heads).map_err(|_| StoreError::Corrupt("heads".into()))?;
        let key = &id.as_bytes()[..];
        let now = now_ms();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(meta) = meta_on(&tx, id)? else {
            return Err(StoreError::NotFound("document"));
        };
        type Row = (i64, Vec<u8>, String, Vec<u8>, i64);
        let rows: Vec<Row> = {
            let mut stmt = tx.prepare(
                "SELECT seq, hash, user_id, actor, received_at FROM changes WHERE doc_id = ?1 ORDER BY seq",
            )?;
            stmt.query_map([key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?
        };
        if rows.len() != history.hashes.len() {
            return Err(StoreError::HistoryChanged);
        }
        let mut renamed = Vec::with_capacity(rows.len());
        for (seq, hash, user, actor, received) in rows {
            let old = ChangeHash::try_from(hash.as_slice())
                .map_err(|_| StoreError::Corrupt("change hash is not 32 bytes".into()))?;
            let new = history.hashes.get(&old).ok_or(StoreError::HistoryChanged)?;
            renamed.push((seq, *new, user, actor, received));
        }
        tx.execute(
            "UPDATE documents SET epoch = epoch + 1 WHERE id = ?1",
            [key],
        )?;
        let epoch: i64 = tx.query_row("SELECT epoch FROM documents WHERE id = ?1", [key], |r| {
            r.get(0)
        })?;
        tx.execute("DELETE FROM changes WHERE doc_id = ?1", [key])?;
        erasure_step(id, "old_changes_deleted");
        {
            let mut insert = tx.prepare(
                "INSERT INTO changes (seq, doc_id, hash, bytes, user_id, actor, received_at, epoch) \
                 VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)",
            )?;
            for (seq, hash, user, actor, received) in &renamed {
                insert.execute(params![
                    seq,
                    key,
                    hash.as_ref(),
                    user,
                    actor,
                    received,
                    epoch
                ])?;
                erasure_step(id, "change_row");
            }
            let mut added = tx.prepare(
                "INSERT OR IGNORE INTO changes (doc_id, hash, bytes, user_id, actor, received_at, epoch) \
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6)",
            )?;
            let mut bind = tx.prepare(
                "INSERT OR IGNORE INTO actors (actor_id, user_id, first_seen) VALUES (?1, ?2, ?3)",
            )?;
            for change in &history.added {
                bind.execute(params![&change.actor, history.added_by.as_str(), now])?;
                added.execute(params![
                    key,
                    change.hash.as_ref(),
                    history.added_by.as_str(),
                    &change.actor,
                    now,
                    epoch
                ])?;
                erasure_step(id, "added_change_row");
            }
        }
        tx.execute(
            "INSERT INTO snapshots (doc_id, bytes, heads, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, \
             created_at = excluded.created_at",
            params![key, &history.snapshot, heads, now],
        )?;
        erasure_step(id, "snapshot");
        if let Some(rows) = &history.projection {
            write_projection(&tx, &meta, rows)?;
            erasure_step(id, "projection");
        }
        if let Some(table) = projection_table(meta.kind) {
            // Merge the full-text index so no segment keeps the old words.
            tx.execute(
                &format!("INSERT INTO {table}_fts ({table}_fts) VALUES ('optimize')"),
                [],
            )?;
            erasure_step(id, "fts_merged");
        }
        if let Some(scrub) = &history.scrub_mail {
            // Unsent mail that still holds the erased values: its address
            // and text go (sent mail had them emptied when it was sent).
            tx.execute(
                "UPDATE mail_outbox SET recipient = '', body = '', status = 'failed', \
                 last_error = ?4, doc_edit_pending = 0 \
                 WHERE doc_id = ?1 AND item_id = ?2 AND status != 'sent' \
                 AND (?3 = 0 OR kind = 'feedback' OR with_contact = 1)",
                params![
                    id.to_string(),
                    scrub.item,
                    scrub.contact_only,
                    super::MAIL_ERASED
                ],
            )?;
            erasure_step(id, "mail_scrubbed");
        }
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now,
                history.audit.actor.as_ref().map(UserId::as_str),
                history.audit.action,
                history.audit.subject,
                history.audit.detail.to_string()
            ],
        )?;
        crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureBeforeCommit, || {
            format!("doc={id}")
        });
        tx.commit()?;
        crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureCommitted, || {
            format!("doc={id}")
        });
        if let Err(e) = checkpoint_truncate(&conn) {
            tracing::warn!(error = %e, "WAL checkpoint after a history rewrite did not finish");
        }
        erasure_step(id, "checkpointed");
        Ok(epoch)
    }

    fn docs_owned_by(&self, user: &UserId) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM documents WHERE owner = ?1",
                [user.as_str()],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn uncompacted_docs(&self, min: u64) -> Result<Vec<(DocId, u64)>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, count(*) AS n FROM changes WHERE bytes IS NOT NULL \
                 GROUP BY doc_id HAVING n >= ?1 ORDER BY n DESC",
            )?;
            let raws: Vec<(Vec<u8>, i64)> = stmt
                .query_map([i64::try_from(min).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            raws.into_iter()
                .map(|(id, n)| Ok((doc_id_from(id)?, u64::try_from(n).unwrap_or(0))))
                .collect()
        })
    }

    fn projection_rows(&self, id: DocId) -> Result<Vec<ProjectionRow>, StoreError> {
        self.with_reader(|c| {
            let mut out = Vec::new();
            for table in ["observations", "notes"] {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT item_id, wijk, category, severity, created_at, created_by, deleted, text, place, row_json \
                     FROM {table} WHERE doc_id = ?1 ORDER BY item_id"
                ))?;
                let rows = stmt.query_map([&id.as_bytes()[..]], |r| {
                    Ok(ProjectionRow {
                        item_id: r.get(0)?,
                        wijk: r.get(1)?,
                        category: r.get(2)?,
                        severity: r.get(3)?,
                        created_at: r.get(4)?,
                        created_by: r.get(5)?,
                        deleted: r.get(6)?,
                        text: r.get(7)?,
                        place: r.get(8)?,
                        row_json: r.get(9)?,
                    })
                })?;
                for row in rows {
                    out.push(row?);
                }
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
        self.with_reader(|c| {
            let raws: Vec<RawCandidate> = match doc {
                Some(id) => {
                    let mut stmt = c.prepare_cached(&format!(
                        "SELECT {CANDIDATE_COLS} FROM documents d \
                         LEFT JOIN doc_schedule s ON s.doc_id = d.id WHERE d.id = ?3"
                    ))?;
                    stmt.query_map(
                        params![user.as_str(), device.as_str(), &id.as_bytes()[..]],
                        read_candidate,
                    )?
                    .collect::<Result<_, _>>()?
                }
                None => {
                    let mut stmt = c.prepare_cached(&format!(
                        "SELECT {CANDIDATE_COLS} FROM documents d \
                         LEFT JOIN doc_schedule s ON s.doc_id = d.id WHERE d.id IN ( \
                           SELECT id FROM documents WHERE kind = 'catalog' \
                           UNION SELECT m.doc_id FROM doc_members m \
                             JOIN documents md ON md.id = m.doc_id \
                             LEFT JOIN doc_schedule ms ON ms.doc_id = m.doc_id \
                             WHERE m.user_id = ?1 \
                               AND (ms.running = 1 OR coalesce(ms.last_at, md.created_at) >= ?3) \
                           UNION SELECT doc_id FROM doc_schedule \
                             WHERE started = 0 AND planned_at BETWEEN ?3 AND ?4 \
                           UNION SELECT doc_id FROM device_subscriptions \
                             WHERE device_id = ?2 AND opened_at >= ?5 \
                           UNION SELECT doc_id FROM notes \
                             WHERE cb_open = 1 AND deleted = 0 \
                               AND (cb_assignee = ?1 OR cb_assignee IS NULL)) \
                         ORDER BY d.created_at, d.id"
                    ))?;
                    stmt.query_map(
                        params![
                            user.as_str(),
                            device.as_str(),
                            bounds.past,
                            bounds.future,
                            bounds.subscribed_since
                        ],
                        read_candidate,
                    )?
                    .collect::<Result<_, _>>()?
                }
            };
            raws.into_iter().map(to_candidate).collect()
        })
    }

    fn subscribe(
        &self,
        device: &DeviceId,
        doc: DocId,
        at: i64,
        bound: super::SubscriptionBound,
    ) -> Result<super::Subscribed, StoreError> {
        // The writer connection is held throughout: count and insert are one
        // step for every connection of the device.
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if meta_on(&tx, doc)?.is_none() {
            return Err(StoreError::NotFound("document"));
        }
        let key = &doc.as_bytes()[..];
        tx.execute(
            "DELETE FROM device_subscriptions WHERE device_id = ?1 AND opened_at < ?2",
            params![device.as_str(), bound.live_since],
        )?;
        let held: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM device_subscriptions WHERE device_id = ?1 AND doc_id = ?2)",
            params![device.as_str(), key],
            |r| r.get(0),
        )?;
        if !held {
            let live: i64 = tx.query_row(
                "SELECT count(*) FROM device_subscriptions WHERE device_id = ?1",
                params![device.as_str()],
                |r| r.get(0),
            )?;
            if live >= i64::from(bound.max) {
                tx.commit()?;
                return Ok(super::Subscribed::Full);
            }
        }
        tx.execute(
            "INSERT INTO device_subscriptions (device_id, doc_id, opened_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (device_id, doc_id) DO UPDATE SET opened_at = max(opened_at, excluded.opened_at)",
            params![device.as_str(), key, at],
        )?;
        tx.commit()?;
        Ok(super::Subscribed::Recorded)
    }

    fn unsubscribe(&self, device: &DeviceId, doc: DocId) -> Result<bool, StoreError> {
        let n = self.writer().execute(
            "DELETE FROM device_subscriptions WHERE device_id = ?1 AND doc_id = ?2",
            params![device.as_str(), &doc.as_bytes()[..]],
        )?;
        Ok(n > 0)
    }

    fn delete_lapsed_subscriptions(&self, lapsed_before: i64, max: u32) -> Result<u64, StoreError> {
        let n = self.writer().execute(
            LAPSED_SUBSCRIPTIONS_DELETE,
            params![lapsed_before, i64::from(max)],
        )?;
        Ok(n as u64)
    }

    fn list_documents(&self, q: &super::DocListQuery) -> Result<Vec<super::ListedDoc>, StoreError> {
        use super::DocListState;
        let (state, order) = match q.state {
            DocListState::Planned { .. } => {
                ("s.started = 0 AND s.planned_at >= ?4", "s.planned_at, d.id")
            }
            DocListState::Running => ("s.running = 1", "at DESC, d.id DESC"),
            DocListState::Past { .. } => (
                "coalesce(s.running, 0) = 0 AND (coalesce(s.last_at, d.created_at), d.id) < (?4, ?5)",
                "at DESC, d.id DESC",
            ),
        };
        let (key_at, key_id): (i64, Vec<u8>) = match q.state {
            DocListState::Planned { from } => (from, Vec::new()),
            DocListState::Running => (0, Vec::new()),
            DocListState::Past {
                before: Some((at, id)),
            } => (at, id.as_bytes().to_vec()),
            DocListState::Past { before: None } => (i64::MAX, vec![0xff; 17]),
        };
        let sql = format!(
            "SELECT d.id, d.kind, d.owner, d.team, d.created_at, \
                    s.planned_at, s.started, s.running, s.last_at, \
                    coalesce(s.last_at, d.created_at) AS at, \
                    EXISTS (SELECT 1 FROM doc_members m \
                            WHERE m.user_id = ?3 AND m.doc_id = d.id) AS member \
             FROM documents d LEFT JOIN doc_schedule s ON s.doc_id = d.id \
             WHERE d.kind = ?1 AND (?2 IS NULL OR d.team = ?2) \
               AND (?7 = 0 OR member) \
               AND {state} \
             ORDER BY {order} LIMIT ?6"
        );
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                params![
                    q.kind.as_str(),
                    q.team,
                    q.user.as_str(),
                    key_at,
                    key_id,
                    q.limit,
                    q.mine_only
                ],
                |r| {
                    Ok((
                        read_meta(r)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<bool>>(6)?,
                        r.get::<_, Option<bool>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, i64>(9)?,
                        r.get::<_, bool>(10)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (meta, planned_at, started, running, last_at, at, member) = row?;
                out.push(super::ListedDoc {
                    meta: to_meta(meta)?,
                    schedule: started.map(|started| super::DocSchedule {
                        planned_at,
                        started,
                        running: running.unwrap_or(false),
                        last_at,
                        staff: Vec::new(),
                    }),
                    at,
                    member,
                });
            }
            Ok(out)
        })
    }

    fn docs_without_schedule(
        &self,
        after: Option<DocId>,
        limit: u32,
    ) -> Result<Vec<DocMeta>, StoreError> {
        let after = after.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {META_COLS} FROM documents d \
                 WHERE d.kind IN ('walk', 'spreekuur') AND d.id > ?1 \
                   AND NOT EXISTS (SELECT 1 FROM doc_schedule s WHERE s.doc_id = d.id) \
                 ORDER BY d.id LIMIT ?2"
            ))?;
            let raws: Vec<_> = stmt
                .query_map(params![after, limit], read_meta)?
                .collect::<Result<_, _>>()?;
            raws.into_iter().map(to_meta).collect()
        })
    }

    fn backfill_schedule(&self, doc: DocId, s: &super::DocSchedule) -> Result<bool, StoreError> {
        let conn = self.writer();
        let tx = conn.unchecked_transaction()?;
        if meta_on(&tx, doc)?.is_none() {
            return Err(StoreError::NotFound("document"));
        }
        let id = &doc.as_bytes()[..];
        let n = tx.execute(
            "INSERT INTO doc_schedule (doc_id, planned_at, started, running, last_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (doc_id) DO NOTHING",
            params![id, s.planned_at, s.started, s.running, s.last_at],
        )?;
        if n > 0 {
            for staff in &s.staff {
                tx.execute(
                    "INSERT OR IGNORE INTO doc_members (user_id, doc_id) VALUES (?1, ?2)",
                    params![staff, id],
                )?;
            }
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn create_user(&self, user: super::NewUser) -> Result<User, StoreError> {
        let conn = self.writer();
        let id = UserId::new_v4();
        let now = now_ms();
        let res = conn.execute(
            "INSERT INTO users (id, username, display_name, password_hash, roles, team, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id.as_str(), user.username, user.display_name, user.password_hash, encode_roles(&user.roles), user.team, now],
        );
        match res {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::AlreadyExists("username"));
            }
            Err(e) => return Err(e.into()),
        }
        user_where(&conn, "id = ?1", id.as_str())?.ok_or(StoreError::NotFound("user"))
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.with_reader(|c| user_where(c, "username = ?1", username))
    }

    fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.with_reader(|c| user_where(c, "id = ?1", id.as_str()))
    }

    fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<User, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user =
            user_where(&tx, "username = ?1", username)?.ok_or(StoreError::NotFound("user"))?;
        let now = now_ms();
        if disabled {
            tx.execute(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
                params![user.id.as_str(), now],
            )?;
            let ids: Vec<String> = {
                let mut stmt =
                    tx.prepare("SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?;
                stmt.query_map([user.id.as_str()], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for id in ids {
                revoke_device_on(&tx, &id, now)?;
            }
        } else {
            tx.execute(
                "UPDATE users SET disabled_at = NULL WHERE id = ?1",
                [user.id.as_str()],
            )?;
        }
        let user =
            user_where(&tx, "id = ?1", user.id.as_str())?.ok_or(StoreError::NotFound("user"))?;
        tx.commit()?;
        Ok(user)
    }

    fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user =
            user_where(&tx, "username = ?1", username)?.ok_or(StoreError::NotFound("user"))?;
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.id.as_str(), hash],
        )?;
        end_sessions_on(&tx, user.id.as_str(), now_ms())?;
        tx.commit()?;
        Ok(())
    }

    fn end_sessions(&self, user: &UserId) -> Result<usize, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = end_sessions_on(&tx, user.as_str(), now_ms())?;
        tx.commit()?;
        Ok(n)
    }

    fn create_device(
        &self,
        user: &UserId,
        name: &str,
        refresh_hash: [u8; 32],
        refresh_expires_at: i64,
    ) -> Result<Device, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = DeviceId::new_random();
        let now = now_ms();
        tx.execute(
            "INSERT INTO devices (id, user_id, name, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![id.as_str(), user.as_str(), name, now],
        )?;
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, device_id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&refresh_hash[..], id.as_str(), user.as_str(), now, refresh_expires_at],
        )?;
        let device = device_on(&tx, id.as_str())?.ok_or(StoreError::NotFound("device"))?;
        tx.commit()?;
        Ok(device)
    }

    fn device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        self.with_reader(|c| device_on(c, id.as_str()))
    }

    fn devices_of(&self, user: &UserId) -> Result<Vec<Device>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE user_id = ?1 ORDER BY created_at, id"
            ))?;
            let raws: Vec<_> = stmt
                .query_map([user.as_str()], read_device)?
                .collect::<Result<_, _>>()?;
            raws.into_iter().map(to_device).collect()
        })
    }

    fn revoke_device(&self, id: &DeviceId) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if revoke_device_on(&tx, id.as_str(), now_ms())? == 0 {
            return Err(StoreError::NotFound("device"));
        }
        tx.commit()?;
        Ok(())
    }

    fn rotate_refresh_token(
        &self,
        old_hash: [u8; 32],
        new_hash: [u8; 32],
        new_expires_at: i64,
        reuse_grace_ms: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let now = now_ms();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT device_id, user_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = ?1",
                [&old_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((device_id, user_id, expires_at, used_at)) = row else {
            return Ok(RefreshOutcome::Unknown);
        };
        let device = device_on(&tx, &device_id)?.ok_or(StoreError::NotFound("device"))?;
        if device.revoked_at.is_some() {
            return Ok(RefreshOutcome::Revoked);
        }
        if device.signed_out_at.is_some() {
            // Its tokens were marked used when the session ended: not reuse.
            return Ok(RefreshOutcome::SignedOut);
        }
        let retry = match used_at {
            None => false,
            Some(used) => {
                // A retry: the device's most recently used token, strictly within the
                // grace window. Anything else is reuse.
                let used_since: i64 = tx.query_row(
                    "SELECT count(*) FROM refresh_tokens \
                     WHERE device_id = ?1 AND used_at >= ?2 AND token_hash != ?3",
                    params![&device_id, used, &old_hash[..]],
                    |r| r.get(0),
                )?;
                let retry = now.saturating_sub(used) < reuse_grace_ms && used_since == 0;
                if !retry {
                    revoke_device_on(&tx, &device_id, now)?;
                    tx.commit()?;
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
        let user = user_where(&tx, "id = ?1", &user_id)?.ok_or(StoreError::NotFound("user"))?;
        if user.disabled {
            return Ok(RefreshOutcome::Revoked);
        }
        if retry {
            // The same request again (its answer was lost): the successor,
            // derived from the presented token, must still be the device's
            // unused token. Then the client gets it again and nothing
            // changes; if it is gone or used, this is reuse.
            let successor_unused: bool = tx.query_row(
                "SELECT count(*) FROM refresh_tokens \
                 WHERE token_hash = ?1 AND device_id = ?2 AND used_at IS NULL",
                params![&new_hash[..], &device_id],
                |r| r.get::<_, i64>(0),
            )? > 0;
            if !successor_unused {
                revoke_device_on(&tx, &device_id, now)?;
                tx.commit()?;
                return Ok(RefreshOutcome::Reused {
                    device_id: DeviceId::from_string(device_id),
                });
            }
        } else {
            tx.execute(
                "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1",
                params![&old_hash[..], now],
            )?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, device_id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&new_hash[..], device_id, user_id, now, new_expires_at],
            )?;
        }
        tx.execute(
            "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
            params![device_id, now],
        )?;
        let device = device_on(&tx, &device_id)?.ok_or(StoreError::NotFound("device"))?;
        tx.commit()?;
        Ok(RefreshOutcome::Rotated { user, device })
    }

    fn revoke_by_refresh_token(&self, hash: [u8; 32]) -> Result<Option<DeviceId>, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device: Option<String> = tx
            .query_row(
                "SELECT device_id FROM refresh_tokens WHERE token_hash = ?1",
                [&hash[..]],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = &device {
            revoke_device_on(&tx, id, now_ms())?;
        }
        tx.commit()?;
        Ok(device.map(DeviceId::from_string))
    }

    fn session_state(&self, user: &UserId, device: &DeviceId) -> Result<SessionState, StoreError> {
        self.with_reader(|c| {
            let signed_out: Option<bool> = c
                .query_row(
                    "SELECT d.signed_out_at IS NOT NULL FROM devices d JOIN users u ON u.id = d.user_id \
                     WHERE d.id = ?1 AND u.id = ?2 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                    params![device.as_str(), user.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match signed_out {
                None => SessionState::Revoked,
                Some(true) => SessionState::SignedOut,
                Some(false) => SessionState::Active,
            })
        })
    }

    fn touch_device(&self, id: &DeviceId, at: i64) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.execute(
            "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2",
            params![id.as_str(), at],
        )?;
        Ok(())
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now_ms(),
                entry.actor.as_ref().map(UserId::as_str),
                entry.action,
                entry.subject,
                entry.detail.to_string()
            ],
        )?;
        Ok(())
    }

    fn audit_count_before(&self, before: i64) -> Result<u64, StoreError> {
        let conn = self.writer();
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM audit_log WHERE at < ?1",
            [before],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The trigger lets only entries older than this cutoff go; it is
        // reset before the commit, so the log is append-only again after.
        tx.execute(
            "UPDATE audit_retention SET before = ?1 WHERE id = 1",
            [before],
        )?;
        let n = tx.execute("DELETE FROM audit_log WHERE at < ?1", [before])?;
        tx.execute("UPDATE audit_retention SET before = 0 WHERE id = 1", [])?;
        tx.commit()?;
        Ok(n as u64)
    }

    fn resident_points_due(
        &self,
        bounds: &super::PointRetention,
    ) -> Result<super::PointsDue, StoreError> {
        let conn = self.writer();
        let mut due = super::PointsDue::default();
        if let Some(bound) = bounds.content {
            let mut stmt = conn.prepare(
                "SELECT id FROM resident_points WHERE updated_at <= ?1 AND (text <> '' OR \
                 place IS NOT NULL OR lat IS NOT NULL OR lon IS NOT NULL OR photo IS NOT NULL OR \
                 contact_name IS NOT NULL OR contact_email IS NOT NULL OR contact_phone IS NOT NULL) \
                 ORDER BY updated_at, id",
            )?;
            due.content = stmt
                .query_map([bound], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        let mut stmt = conn.prepare(
            "SELECT id FROM resident_points WHERE (contact_name IS NOT NULL OR \
             contact_email IS NOT NULL OR contact_phone IS NOT NULL) AND ( \
             ((status IN ('afgerond', 'afgewezen') OR merged_into IS NOT NULL) AND updated_at <= ?1) \
             OR (status NOT IN ('afgerond', 'afgewezen') AND merged_into IS NULL AND created_at <= ?2)) \
             ORDER BY created_at, id",
        )?;
        let never = i64::MIN;
        let contact: Vec<i64> = stmt
            .query_map(
                params![
                    bounds.contact_closed.unwrap_or(never),
                    bounds.contact_open.unwrap_or(never)
                ],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        due.contact = contact
            .into_iter()
            .filter(|id| !due.content.contains(id))
            .collect();
        Ok(due)
    }

    fn erase_resident_points(&self, due: &super::PointsDue, by: &UserId) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        for (ids, action, content) in [
            (&due.contact, "resident_point.erase_contact", false),
            (&due.content, "resident_point.erase_content", true),
        ] {
            for id in ids {
                let sql = if content {
                    "UPDATE resident_points SET text = '', place = NULL, lat = NULL, lon = NULL, \
                     photo = NULL, contact_name = NULL, contact_email = NULL, contact_phone = NULL \
                     WHERE id = ?1"
                } else {
                    "UPDATE resident_points SET contact_name = NULL, contact_email = NULL, \
                     contact_phone = NULL WHERE id = ?1"
                };
                if tx.execute(sql, [id])? == 0 {
                    continue;
                }
                // A status mail not sent yet holds the address.
                tx.execute(
                    "UPDATE mail_outbox SET recipient = '', body = '', status = 'failed',                      last_error = ?2 WHERE kind = 'resident' AND item_id = ?1 AND status != 'sent'",
                    params![format!("point/{id}"), super::MAIL_ERASED],
                )?;
                tx.execute(
                    "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        now,
                        by.as_str(),
                        action,
                        id.to_string(),
                        serde_json::json!({"basis": "bewaartermijn"}).to_string()
                    ],
                )?;
            }
        }
        tx.commit()?;
        if let Err(e) = checkpoint_truncate(&conn) {
            tracing::warn!(error = %e, "WAL checkpoint after erasing residents' points did not finish");
        }
        Ok(())
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let version = migrations::schema_version(&conn)?;
        if version != migrations::LATEST_VERSION {
            return Err(StoreError::Corrupt(format!(
                "schema version {version} is not current"
            )));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO readiness (id, checked_at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            [now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// The reads only tests make ([`StoreInspect`]): not in the
/// production binary.
#[cfg(any(test, feature = "testing"))]
impl super::StoreInspect for SqliteStore {
    fn change_count(&self, id: DocId) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM changes WHERE doc_id = ?1",
                [&id.as_bytes()[..]],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn search_items(&self, query: &str, limit: u32) -> Result<Vec<(DocId, String)>, StoreError> {
        let Some(fts) = super::fts_query(query) else {
            return Ok(Vec::new());
        };
        self.with_reader(|c| {
            let mut out = Vec::new();
            for table in ["observations", "notes"] {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT t.doc_id, t.item_id FROM {table}_fts f JOIN {table} t ON t.rowid = f.rowid \
                     WHERE {table}_fts MATCH ?1 ORDER BY rank LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![fts, limit], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))?;
                for row in rows {
                    let (doc, item) = row?;
                    out.push((doc_id_from(doc)?, item));
                }
            }
            out.truncate(limit as usize);
            Ok(out)
        })
    }

    fn audit_entries(&self, limit: u32) -> Result<Vec<super::AuditRecord>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
            )?;
            let raws: Vec<RawAudit> = stmt
                .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                .collect::<Result<_, _>>()?;
            raws.into_iter()
                .map(|(id, at, actor, action, subject, detail)| {
                    Ok(super::AuditRecord {
                        id,
                        at,
                        entry: AuditEntry {
                            actor: actor.map(user_id_from).transpose()?,
                            action,
                            subject,
                            detail: serde_json::from_str(&detail)
                                .map_err(|_| StoreError::Corrupt("audit detail is not JSON".into()))?,
                        },
                    })
                })
                .collect()
        })
    }
}

/// Replaces the database at `dest` with the backup at `src`, through the
/// SQLite backup API (page by page under SQLite's own locks, so the WAL and
/// any open reader stay consistent). The backup is checked first
/// (`integrity_check`, schema version not newer than this binary) and the
/// result is migrated to the current schema.
pub fn restore_database(src: &Path, dest: &Path) -> Result<(), StoreError> {
    let backup = Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let ok: String = backup.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(StoreError::Corrupt(
            "the backup file fails its integrity check".into(),
        ));
    }
    let version = migrations::schema_version(&backup)?;
    if version > migrations::LATEST_VERSION {
        return Err(migrations::MigrationError::TooNew {
            found: version,
            supported: migrations::LATEST_VERSION,
        }
        .into());
    }
    if let Some(parent) = dest.parent()
        && !parent.as_os_str().is_empty()
    {
        create_private_dir(parent)?;
    }
    let mut out = connect::open(dest)?;
    {
        let run = rusqlite::backup::Backup::new(&backup, &mut out)?;
        run.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
    }
    // The backup file is in rollback-journal mode; the live file uses WAL.
    connect::apply_pragmas(&out)?;
    migrations::migrate(&mut out)?;
    Ok(())
}

/// An erasure's crash point `erasure.step` (tests only; see
/// [`crate::crashpoint::Point::ErasureStep`]).
fn erasure_step(doc: DocId, step: &'static str) {
    crate::crashpoint::reached_with(crate::crashpoint::Point::ErasureStep, || {
        format!("doc={doc} step={step}")
    });
}
