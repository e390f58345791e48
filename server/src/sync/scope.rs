//! The sync scope: which documents a device replicates. This module is the
//! one home of the rule (`reason`); the store only narrows the candidates
//! with an index (`Store::scope_candidates`, always a superset), and the
//! table in `docs/sync-protocol.md` ("Scope") says the same in words.
//!
//! A document is in the scope of a device when the user may see it
//! (authorization is unchanged) and one of these holds:
//!
//! | reason | who | which documents |
//! |---|---|---|
//! | `catalog` | everyone | the catalog |
//! | `member` | `boa` (walks), `spreekuur` (sessions) of the document's team | documents the user created, wrote to or staffs, running (a walk started and not ended) or whose last date is at most `sync.scope_past_days` ago |
//! | `planned` | `boa` (walks), `spreekuur` (sessions) of the document's team | documents not started yet, planned from `sync.scope_past_days` ago up to `sync.scope_future_days` ahead |
//! | `subscribed` | everyone | documents this device opened (subscribe, an implicit subscribe, or creating it) at most `sync.subscription_ttl_days` ago |
//! | `open_task` | `spreekuur` of the session's team | sessions, of any date, with a call back requested and not closed that is assigned to the user or to nobody in particular (the team) |
//!
//! Coordinators and admins have no field role for a kind (unless they also
//! hold one): they get the catalog and what they open.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use automerge::{Automerge, ObjType, ReadDoc, ScalarValue, Value};

pub use crate::config::SyncConfig;
use crate::domain::{DocKind, Principal, Role, now_ms};
use crate::storage::{DocMeta, DocSchedule, ScopeBounds, ScopeCandidate, Store, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The store's candidate bounds at `now` (ms) under `cfg`.
pub fn bounds(cfg: &SyncConfig, now: i64) -> ScopeBounds {
    ScopeBounds {
        past: now - i64::from(cfg.scope_past_days) * DAY_MS,
        future: now + i64::from(cfg.scope_future_days) * DAY_MS,
        subscribed_since: now - i64::from(cfg.subscription_ttl_days) * DAY_MS,
    }
}

/// Rows one statement of [`delete_lapsed_subscriptions`] deletes.
pub const LAPSED_BATCH: u32 = 1_000;
/// Statements one run of [`delete_lapsed_subscriptions`] issues at most (the
/// rest waits for the next run).
pub const LAPSED_BATCHES_PER_RUN: u32 = 100;

/// Deletes the subscriptions that lapsed by `now` (ms) under `cfg`, of every
/// device, in batches of [`LAPSED_BATCH`] and at most
/// [`LAPSED_BATCHES_PER_RUN`] of them; how many rows went.
pub fn delete_lapsed_subscriptions(
    store: &dyn Store,
    cfg: &SyncConfig,
    now: i64,
) -> Result<u64, StoreError> {
    let before = bounds(cfg, now).subscribed_since;
    let mut deleted = 0;
    for _ in 0..LAPSED_BATCHES_PER_RUN {
        let n = store.delete_lapsed_subscriptions(before, LAPSED_BATCH)?;
        deleted += n;
        if n < u64::from(LAPSED_BATCH) {
            break;
        }
    }
    Ok(deleted)
}

/// Spawns the job deleting lapsed subscriptions every
/// `cfg.lapsed_subscriptions_secs` (off at 0), by the scope clock; stops
/// at shutdown. Every node may run it: deleting a lapsed row twice is
/// deleting it once.
pub fn spawn_lapsed_subscriptions_job(
    store: Arc<dyn Store>,
    cfg: SyncConfig,
    clock: ScopeClock,
    shutdown: crate::shutdown::Shutdown,
) {
    if cfg.lapsed_subscriptions_secs == 0 {
        return;
    }
    let interval = std::time::Duration::from_secs(cfg.lapsed_subscriptions_secs);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.triggered() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let (store, cfg, now) = (store.clone(), cfg.clone(), clock.now_ms());
            match tokio::task::spawn_blocking(move || {
                delete_lapsed_subscriptions(store.as_ref(), &cfg, now)
            })
            .await
            {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(deleted = n, "lapsed subscriptions deleted"),
                Ok(Err(e)) => tracing::error!(error = %e, "deleting lapsed subscriptions failed"),
                Err(e) => tracing::error!(error = %e, "the lapsed subscriptions job stopped"),
            }
        }
    });
}

/// The clock of the scope rule: wall time plus an offset that tests move
/// forward (a window passing without waiting days). Shared by every
/// connection of one server.
#[derive(Debug, Clone, Default)]
pub struct ScopeClock {
    offset_ms: Arc<AtomicI64>,
}

impl ScopeClock {
    /// Now, in ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `ms` (tests).
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// Why a document is in a device's scope; also sent, snake_case, in the
/// `kept` answer to an `unsubscribe` of a document that stays (protocol 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The catalog.
    Catalog,
    /// The user created, wrote to or staffs it, and it is current.
    Member,
    /// Planned for the user's team and not started yet.
    Planned,
    /// The device opened it recently.
    Subscribed,
    /// An open call back of it is for the user or the user's team.
    OpenTask,
}

/// The field role that puts documents of `kind` of the user's team on the
/// user's devices without asking.
fn field_role(kind: DocKind) -> Option<Role> {
    match kind {
        DocKind::Walk => Some(Role::Boa),
        DocKind::Spreekuur => Some(Role::Spreekuur),
        DocKind::Catalog => None,
    }
}

/// THE scope rule: why `c` is in the scope of the device, or `None`.
pub fn reason(who: &Principal, c: &ScopeCandidate, now: i64, cfg: &SyncConfig) -> Option<Reason> {
    let meta = &c.meta;
    if !who.may_see(meta.kind, meta.team.as_deref()) {
        return None;
    }
    if meta.kind == DocKind::Catalog {
        return Some(Reason::Catalog);
    }
    let bounds = bounds(cfg, now);
    let field = field_role(meta.kind).is_some_and(|r| who.has_role(r))
        && who.team.is_some()
        && who.team == meta.team;
    if field {
        let schedule = c.schedule.as_ref();
        if c.member {
            let running = schedule.is_some_and(|s| s.running);
            let last = schedule.and_then(|s| s.last_at).unwrap_or(meta.created_at);
            if running || last >= bounds.past {
                return Some(Reason::Member);
            }
        }
        if let Some(s) = schedule
            && !s.started
            && let Some(planned) = s.planned_at
            && (bounds.past..=bounds.future).contains(&planned)
        {
            return Some(Reason::Planned);
        }
        // Residents wait for a call back: the session stays on the team's
        // devices until it is closed, however long ago it was held.
        if meta.kind == DocKind::Spreekuur && (c.tasks.mine || c.tasks.team) {
            return Some(Reason::OpenTask);
        }
    }
    match c.subscribed_at {
        Some(at) if at >= bounds.subscribed_since => Some(Reason::Subscribed),
        _ => None,
    }
}

/// The documents in the scope of the principal's device at `now`, oldest first.
pub fn current(
    store: &dyn Store,
    who: &Principal,
    now: i64,
    cfg: &SyncConfig,
) -> Result<Vec<DocMeta>, StoreError> {
    let candidates =
        store.scope_candidates(&who.user_id, &who.device_id, bounds(cfg, now), None)?;
    Ok(candidates
        .into_iter()
        .filter(|c| reason(who, c, now, cfg).is_some())
        .map(|c| c.meta)
        .collect())
}

/// Why one document is in the scope of the principal's device at `now`
/// (`None`: not in scope, or unknown).
pub fn reason_for(
    store: &dyn Store,
    who: &Principal,
    doc: crate::domain::DocId,
    now: i64,
    cfg: &SyncConfig,
) -> Result<Option<Reason>, StoreError> {
    let candidates =
        store.scope_candidates(&who.user_id, &who.device_id, bounds(cfg, now), Some(doc))?;
    Ok(candidates.iter().find_map(|c| reason(who, c, now, cfg)))
}

/// Most documents read per step of [`backfill_schedules`].
pub const BACKFILL_BATCH: u32 = 200;

/// What [`backfill_schedules`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    /// Schedules stored.
    pub stored: usize,
    /// Documents that did not load (an empty schedule is stored for them, so
    /// they are not read again; their creation time stands in for a date).
    pub unreadable: usize,
}

/// Stores the schedule of every walk and session that has none (documents
/// stored before schedules were kept, which otherwise get one only at their
/// next change), `BACKFILL_BATCH` documents per store read. Run once at
/// start-up, in the background; a commit meanwhile writes its own (newer)
/// schedule, which the backfill never overwrites.
pub fn backfill_schedules(store: &dyn Store) -> Result<BackfillReport, StoreError> {
    let mut report = BackfillReport::default();
    let mut after = None;
    loop {
        let batch = store.docs_without_schedule(after, BACKFILL_BATCH)?;
        let Some(last) = batch.last() else {
            return Ok(report);
        };
        after = Some(last.id);
        for meta in batch {
            let read = match store.load_doc(meta.id) {
                Ok(Some(stored)) => stored.to_automerge().ok(),
                Ok(None) => continue,
                Err(e) => return Err(e),
            };
            let schedule = read.as_ref().and_then(|d| schedule_of(meta.kind, d));
            if schedule.is_none() {
                report.unreadable += 1;
            }
            match store.backfill_schedule(meta.id, &schedule.unwrap_or_default()) {
                Ok(true) => report.stored += 1,
                Ok(false) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn timestamp(doc: &Automerge, key: &str) -> Option<i64> {
    match doc.get(automerge::ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Some(*t),
            _ => None,
        },
        _ => None,
    }
}

fn map_keys(doc: &Automerge, key: &str) -> Option<Vec<String>> {
    match doc.get(automerge::ROOT, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(doc.keys(&id).collect()),
        _ => None,
    }
}

/// The schedule of a walk or spreekuur session, read from its root fields
/// (tolerant: a missing or mistyped field counts as absent); `None` for the
/// catalog.
pub fn schedule_of(kind: DocKind, doc: &Automerge) -> Option<DocSchedule> {
    match kind {
        DocKind::Catalog => None,
        DocKind::Walk => {
            let planned_at = timestamp(doc, "planned_at");
            let started_at = timestamp(doc, "started_at");
            let ended_at = timestamp(doc, "ended_at");
            Some(DocSchedule {
                planned_at,
                started: started_at.is_some(),
                running: started_at.is_some() && ended_at.is_none(),
                last_at: ended_at.or(started_at).or(planned_at),
                staff: Vec::new(),
            })
        }
        DocKind::Spreekuur => {
            let held_on = timestamp(doc, "held_on");
            Some(DocSchedule {
                planned_at: held_on,
                started: map_keys(doc, "notes").is_some_and(|n| !n.is_empty()),
                running: false,
                last_at: held_on,
                staff: map_keys(doc, "staff")
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| !k.is_empty() && k.len() <= 128)
                    .take(64)
                    .collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeviceId, DocId, UserId};

    const NOW: i64 = 1_800_000_000_000;

    fn who(roles: &[Role], team: Option<&str>) -> Principal {
        Principal {
            user_id: UserId::parse("u1").expect("id"),
            name: "Test".into(),
            roles: roles.to_vec(),
            team: team.map(str::to_owned),
            device_id: DeviceId::from_string("d1".into()),
        }
    }

    fn cand(kind: DocKind, team: Option<&str>, created_days_ago: i64) -> ScopeCandidate {
        ScopeCandidate {
            meta: DocMeta {
                id: DocId::from_bytes([7; 16]),
                kind,
                owner: UserId::parse("someone").expect("id"),
                team: team.map(str::to_owned),
                created_at: NOW - created_days_ago * DAY_MS,
            },
            schedule: None,
            member: false,
            subscribed_at: None,
            tasks: Default::default(),
        }
    }

    fn sched(planned: Option<i64>, started: bool, running: bool, last: Option<i64>) -> DocSchedule {
        DocSchedule {
            planned_at: planned,
            started,
            running,
            last_at: last,
            staff: Vec::new(),
        }
    }

    fn days(d: i64) -> i64 {
        NOW + d * DAY_MS
    }

    #[test]
    fn the_catalog_is_in_everyones_scope() {
        let cfg = SyncConfig::default();
        for roles in [&[Role::Boa][..], &[Role::Coordinator], &[Role::Admin]] {
            let c = cand(DocKind::Catalog, None, 400);
            assert_eq!(
                reason(&who(roles, None), &c, NOW, &cfg),
                Some(Reason::Catalog)
            );
        }
    }

    #[test]
    fn members_hold_their_documents_until_14_days_after_the_last_date() {
        let cfg = SyncConfig::default();
        let boa = who(&[Role::Boa], Some("noord"));
        let mut c = cand(DocKind::Walk, Some("noord"), 30);
        c.member = true;
        // Ended 13 days ago: in; 15 days ago: out.
        c.schedule = Some(sched(Some(days(-20)), true, false, Some(days(-13))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), Some(Reason::Member));
        c.schedule = Some(sched(Some(days(-20)), true, false, Some(days(-15))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
        // Running, started 100 days ago: in.
        c.schedule = Some(sched(None, true, true, Some(days(-100))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), Some(Reason::Member));
        // No schedule stored: the creation time counts (30 days: out, 3: in).
        c.schedule = None;
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
        c.meta.created_at = days(-3);
        assert_eq!(reason(&boa, &c, NOW, &cfg), Some(Reason::Member));
        // Not a member: a teammate's current walk is not pushed.
        c.member = false;
        c.schedule = Some(sched(None, true, true, Some(days(-1))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
    }

    #[test]
    fn the_team_gets_planned_documents_up_to_14_days_ahead_until_they_start() {
        let cfg = SyncConfig::default();
        let boa = who(&[Role::Boa], Some("noord"));
        let mut c = cand(DocKind::Walk, Some("noord"), 1);
        c.schedule = Some(sched(Some(days(13)), false, false, Some(days(13))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), Some(Reason::Planned));
        c.schedule = Some(sched(Some(days(15)), false, false, Some(days(15))));
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
        c.schedule = Some(sched(Some(days(1)), true, true, Some(days(0))));
        assert_eq!(
            reason(&boa, &c, NOW, &cfg),
            None,
            "running: joined on demand"
        );
        // Another team's planned walk, or a spreekuur session for a boa: never.
        c.schedule = Some(sched(Some(days(1)), false, false, Some(days(1))));
        c.meta.team = Some("zuid".into());
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
        let mut s = cand(DocKind::Spreekuur, Some("noord"), 1);
        s.schedule = Some(sched(Some(days(1)), false, false, Some(days(1))));
        assert_eq!(reason(&boa, &s, NOW, &cfg), None);
        let staff = who(&[Role::Spreekuur], Some("noord"));
        assert_eq!(reason(&staff, &s, NOW, &cfg), Some(Reason::Planned));
    }

    #[test]
    fn coordinators_hold_only_what_they_opened_within_the_ttl() {
        let cfg = SyncConfig::default();
        let coord = who(&[Role::Coordinator], None);
        let mut c = cand(DocKind::Walk, Some("noord"), 1);
        c.member = true;
        c.schedule = Some(sched(Some(days(1)), false, false, Some(days(1))));
        assert_eq!(reason(&coord, &c, NOW, &cfg), None);
        c.subscribed_at = Some(days(-13));
        assert_eq!(reason(&coord, &c, NOW, &cfg), Some(Reason::Subscribed));
        c.subscribed_at = Some(days(-15));
        assert_eq!(reason(&coord, &c, NOW, &cfg), None);
    }

    #[test]
    fn open_call_backs_keep_a_session_on_the_teams_devices_whatever_its_date() {
        use crate::storage::OpenTasks;
        let cfg = SyncConfig::default();
        let staff = who(&[Role::Spreekuur], Some("noord"));
        let mut s = cand(DocKind::Spreekuur, Some("noord"), 60);
        // Held 60 days ago, the user wrote notes: out of the window.
        s.member = true;
        s.schedule = Some(sched(Some(days(-60)), true, false, Some(days(-60))));
        assert_eq!(reason(&staff, &s, NOW, &cfg), None);
        s.tasks = OpenTasks {
            mine: false,
            team: true,
        };
        assert_eq!(reason(&staff, &s, NOW, &cfg), Some(Reason::OpenTask));
        s.member = false;
        assert_eq!(reason(&staff, &s, NOW, &cfg), Some(Reason::OpenTask));
        s.tasks = OpenTasks {
            mine: true,
            team: false,
        };
        assert_eq!(reason(&staff, &s, NOW, &cfg), Some(Reason::OpenTask));
        // Not for a boa of the team, another team, or a coordinator.
        let boa = who(&[Role::Boa], Some("noord"));
        assert_eq!(reason(&boa, &s, NOW, &cfg), None);
        let zuid = who(&[Role::Spreekuur], Some("zuid"));
        assert_eq!(reason(&zuid, &s, NOW, &cfg), None);
        let coord = who(&[Role::Coordinator], None);
        assert_eq!(reason(&coord, &s, NOW, &cfg), None);
        // Closed (no open task): gone again.
        s.tasks = OpenTasks::default();
        assert_eq!(reason(&staff, &s, NOW, &cfg), None);
    }

    #[test]
    fn nothing_the_user_may_not_see_whatever_the_subscription() {
        let cfg = SyncConfig::default();
        let boa = who(&[Role::Boa], Some("noord"));
        let mut c = cand(DocKind::Walk, Some("zuid"), 1);
        c.member = true;
        c.subscribed_at = Some(NOW);
        assert_eq!(reason(&boa, &c, NOW, &cfg), None);
    }

    #[test]
    fn schedules_are_read_from_the_documents_root() {
        use automerge::transaction::Transactable;
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "kind", "walk").expect("put");
        tx.put(automerge::ROOT, "planned_at", ScalarValue::Timestamp(100))
            .expect("put");
        tx.put(automerge::ROOT, "started_at", ScalarValue::Timestamp(200))
            .expect("put");
        tx.commit();
        assert_eq!(
            schedule_of(DocKind::Walk, &doc),
            Some(sched(Some(100), true, true, Some(200)))
        );
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "ended_at", ScalarValue::Timestamp(300))
            .expect("put");
        tx.commit();
        assert_eq!(
            schedule_of(DocKind::Walk, &doc),
            Some(sched(Some(100), true, false, Some(300)))
        );

        let mut s = Automerge::new();
        let mut tx = s.transaction();
        tx.put(automerge::ROOT, "kind", "spreekuur").expect("put");
        tx.put(automerge::ROOT, "held_on", ScalarValue::Timestamp(500))
            .expect("put");
        let staff = tx
            .put_object(automerge::ROOT, "staff", ObjType::Map)
            .expect("staff");
        tx.put_object(&staff, "u-anna", ObjType::Map).expect("anna");
        tx.put_object(automerge::ROOT, "notes", ObjType::Map)
            .expect("notes");
        tx.commit();
        let mut expected = sched(Some(500), false, false, Some(500));
        expected.staff = vec!["u-anna".into()];
        assert_eq!(schedule_of(DocKind::Spreekuur, &s), Some(expected));
        assert_eq!(schedule_of(DocKind::Catalog, &s), None);
    }
}
