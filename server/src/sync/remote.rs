//! Changes committed through other nodes on the same database (PostgreSQL):
//! the store announces them ([`Store::remote_changes`]); this task brings
//! each cached copy up to date from the store, pushes the news to this
//! node's live connections through the [`Hub`], and rewrites the document's
//! projection from the merged copy (the other node may have projected a copy
//! that lacked this node's latest changes). Documents nobody here has cached
//! are skipped: they are read from the store when first opened. A session
//! ended on any node rings the hub's session bell: every live connection
//! checks its session at once (a revoked device is dropped within
//! milliseconds, not at its next `auth.session_check_secs`).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, warn};

use super::cache::DocCache;
use super::hub::{DocEvent, Hub, ScopeFacts};
use super::projection;
use crate::domain::DocId;
use crate::storage::{DocWrite, RemoteChange, Store};

/// Starts the task on the current runtime; it ends when the store stops
/// announcing.
pub fn spawn(
    mut rx: UnboundedReceiver<RemoteChange>,
    store: Arc<dyn Store>,
    cache: Arc<DocCache>,
    hub: Hub,
) {
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            // Everything announced meanwhile, each document once.
            let mut ids: Vec<DocId> = Vec::new();
            let mut all = false;
            let mut sessions = false;
            let mut next = Some(first);
            while let Some(event) = next {
                cache.note_remote_change();
                match event {
                    RemoteChange::Changed(id) => {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    // Announcements missed meanwhile may have ended
                    // sessions too.
                    RemoteChange::Missed => {
                        all = true;
                        sessions = true;
                    }
                    RemoteChange::SessionsChanged => sessions = true,
                }
                next = rx.try_recv().ok();
            }
            if sessions {
                hub.ring_sessions();
            }
            if all {
                ids = cache.ids();
            }
            for id in ids {
                let Some(entry) = cache.cached(id) else {
                    continue;
                };
                let (store, cache2) = (store.clone(), cache.clone());
                let job = entry.clone();
                let merged =
                    tokio::task::spawn_blocking(move || refresh(store.as_ref(), &cache2, &job))
                        .await;
                match merged {
                    Ok(Ok(Refreshed::Rewritten)) => {
                        // Another node erased data from this document: the
                        // copy of the old history goes (writes queued for it
                        // fail), and this node's connections that hold the
                        // document are told its new epoch, as on the node
                        // that erased (`crate::erasure`).
                        debug!(doc = %id, "another node rewrote the document's history; the cached copy is dropped");
                        cache.evict(&entry);
                        hub.publish(DocEvent {
                            doc: id,
                            kind: entry.meta.kind,
                            team: entry.meta.team.clone(),
                            origins: Vec::new(),
                            scope: ScopeFacts {
                                owner: Some(entry.meta.owner.clone()),
                                created_at: entry.meta.created_at,
                                rewritten: true,
                                ..ScopeFacts::default()
                            },
                        });
                    }
                    Ok(Ok(Refreshed::Applied(0, _))) => {}
                    Ok(Ok(Refreshed::Applied(n, schedule))) => {
                        debug!(doc = %id, changes = n, "applied changes committed by another node");
                        hub.publish(DocEvent {
                            doc: id,
                            kind: entry.meta.kind,
                            team: entry.meta.team.clone(),
                            origins: Vec::new(),
                            // Who wrote is not announced: a document enters
                            // a connection's scope here by its schedule only.
                            scope: ScopeFacts {
                                owner: Some(entry.meta.owner.clone()),
                                created_at: entry.meta.created_at,
                                schedule,
                                writers: Vec::new(),
                                rewritten: false,
                            },
                        });
                    }
                    Ok(Err(e)) => {
                        // The copy may now lack a committed change: drop it,
                        // the next use reads the store again.
                        warn!(doc = %id, error = %e, "reading another node's change failed; the cached copy is dropped");
                        cache.evict(&entry);
                    }
                    Err(e) => {
                        warn!(doc = %id, error = %e, "refresh task failed; the cached copy is dropped");
                        cache.evict(&entry);
                    }
                }
            }
        }
    });
}

/// What [`refresh`] found.
enum Refreshed {
    /// This many changes applied, and the merged copy's schedule.
    Applied(usize, Option<crate::storage::DocSchedule>),
    /// The stored document is at a new epoch: nothing applied.
    Rewritten,
}

/// Merges the stored changes into `entry` and, when that brought something
/// new and no local change is waiting for its commit, stores the projection
/// and the schedule of the merged copy. Returns the number of changes
/// applied and the merged copy's schedule, or that the history was
/// rewritten (the copy must go).
fn refresh(
    store: &dyn Store,
    cache: &DocCache,
    entry: &super::core::CachedDoc,
) -> anyhow::Result<Refreshed> {
    let n = match cache.merge_stored(entry) {
        Ok(n) => n,
        Err(super::cache::CacheError::Rewritten) => return Ok(Refreshed::Rewritten),
        Err(e) => return Err(e.into()),
    };
    if n == 0 {
        return Ok(Refreshed::Applied(0, None));
    }
    let (rows, schedule) = {
        let inner = entry
            .lock()
            .map_err(|_| anyhow::anyhow!("document lock poisoned"))?;
        if inner.committed_heads != inner.doc.get_heads() {
            // A local commit is on its way and carries its own projection;
            // the other node re-projects when it hears of that commit.
            return Ok(Refreshed::Applied(
                n,
                super::scope::schedule_of(entry.meta.kind, &inner.doc),
            ));
        }
        (
            projection::rows_from_bindings(&entry.meta, &inner.doc, store, None),
            super::scope::schedule_of(entry.meta.kind, &inner.doc),
        )
    };
    if let Some(rows) = rows {
        store.commit(&[DocWrite {
            epoch: Some(entry.epoch),
            doc_id: entry.meta.id,
            user_id: entry.meta.owner.clone(),
            device_id: None,
            create: None,
            changes: Vec::new(),
            projection: Some(rows),
            schedule: schedule.clone(),
        }])?;
    }
    Ok(Refreshed::Applied(n, schedule))
}
