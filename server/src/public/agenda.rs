//! Residents' points on a walk's agenda, in the walk document itself
//! (docs/data-model.md, "agenda"; docs/api.md, "Residents' points").
//!
//! - [`write_agenda`]: when a coordinator puts a point on a planned walk,
//!   the server writes the typed edit `add_agenda_point` into the walk (and
//!   `remove_agenda_point` into the walk it leaves) through the group
//!   committer, like any other change, so the phones of the walk get it by
//!   sync. The entry holds the point's text, category, place and position,
//!   never the resident's contact details.
//! - [`spawn_follower`]: the boa marks a point "bekeken" in the walk,
//!   offline if need be; after every commit of a walk that holds points on
//!   its agenda, the follower moves those points to `bekeken` (with the
//!   observation they led to) through [`super::queue::apply`], so the
//!   resident's status page and status mail follow. It reconciles from the
//!   stored document, so a mark missed (a restart, a lagging subscriber) is
//!   picked up at the next start or commit.

use std::sync::Arc;

use automerge::{ActorId, ObjId, ObjType, ROOT, ReadDoc, Value};
use rusqlite::params;
use tokio::sync::{broadcast, oneshot};
use wijklog_shared::{Catalog, Document, NewAgendaPoint, Timestamp, Walk};

use super::queue::{self, Action, MailContext, QueueError};
use crate::domain::{DocId, DocKind, UserId, now_ms};
use crate::mail::worker::MailHandle;
use crate::review::ReviewDb;
use crate::storage::{DocWrite, NewChange, Store};
use crate::sync::SyncService;
use crate::sync::committer::QueuedWrite;
use crate::sync::core::CommitJob;

/// Why an edit of a walk failed.
#[derive(Debug, thiserror::Error)]
pub enum EditFailed {
    /// The document is not on this server.
    #[error("the walk is not stored here")]
    NotFound,
    /// The model refused the edit.
    #[error("the model refused the edit: {}", .0.code())]
    Refused(wijklog_shared::Error),
    /// Storing it failed.
    #[error("storing the edit failed: {0}")]
    Store(String),
}

/// Applies `edit` to the stored walk `doc_id` as `user` (a fresh actor,
/// bound to `user` when the write commits) and commits it through the group
/// committer; waits for the commit. `edit` returning `Ok(false)` means there
/// is nothing to write (already so).
pub async fn edit_walk(
    sync: &SyncService,
    doc_id: DocId,
    user: &UserId,
    edit: impl FnOnce(&mut Document, &UserId, Timestamp) -> Result<bool, wijklog_shared::Error>
    + Send
    + 'static,
) -> Result<(), EditFailed> {
    let cache = sync.cache.clone();
    let committer = sync.committer.clone();
    let store = sync.app.store.clone();
    let user = user.clone();
    let rx = tokio::task::spawn_blocking(
        move || -> Result<Option<oneshot::Receiver<_>>, EditFailed> {
            let entry = cache
                .open(doc_id)
                .map_err(|e| EditFailed::Store(format!("{e:?}")))?
                .ok_or(EditFailed::NotFound)?;
            if entry.meta.kind != DocKind::Walk {
                return Err(EditFailed::NotFound);
            }
            let mut guard = entry
                .lock()
                .map_err(|_| EditFailed::Store("document lock poisoned".into()))?;
            let old_heads = guard.doc.get_heads();
            let mut doc = Document::load(doc_id, &guard.doc.save()).map_err(EditFailed::Refused)?;
            let actor = ActorId::random();
            doc.set_actor(actor.clone());
            let at = Timestamp::from_millis(now_ms());
            if !edit(&mut doc, &user, at).map_err(EditFailed::Refused)? {
                return Ok(None);
            }
            let changes = doc.automerge_mut().get_changes(&old_heads);
            let new: Vec<NewChange> = changes.iter().map(NewChange::from_change).collect();
            guard
                .doc
                .apply_changes(changes)
                .map_err(|e| EditFailed::Store(e.to_string()))?;
            guard.size_bytes += new.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
            let projection = crate::sync::projection::rows_from_bindings(
                &entry.meta,
                &guard.doc,
                store.as_ref(),
                Some((&actor, user.as_str())),
            );
            let heads = guard.doc.get_heads();
            let (tx, rx) = oneshot::channel();
            // Submitted while the lock is held: keeps the apply order.
            committer.submit(QueuedWrite {
                entry: entry.clone(),
                job: CommitJob {
                    write: DocWrite {
                        epoch: Some(entry.epoch),
                        doc_id,
                        user_id: user,
                        device_id: None,
                        create: None,
                        changes: new,
                        projection,
                        schedule: None,
                    },
                    heads,
                    // Projected above, with the fresh actor's binding.
                    project: false,
                },
                origin: 0,
                reply: Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            });
            drop(guard);
            Ok(Some(rx))
        },
    )
    .await
    .map_err(|e| EditFailed::Store(e.to_string()))??;
    let Some(rx) = rx else {
        return Ok(());
    };
    match rx.await {
        Ok(Ok(())) => Ok(()),
        other => Err(EditFailed::Store(format!("{other:?}"))),
    }
}

/// Writes point `entry.point` onto walk `walk`'s agenda (nothing when it is
/// there already) and, when it moves from walk `left`, takes it off that one.
pub async fn write_agenda(
    sync: &SyncService,
    catalog: Catalog,
    walk: DocId,
    left: Option<DocId>,
    by: &UserId,
    entry: NewAgendaPoint,
) -> Result<(), EditFailed> {
    let point = entry.point;
    edit_walk(sync, walk, by, move |doc, by, at| {
        match doc.add_agenda_point(&catalog, by, at, entry) {
            Ok(()) => Ok(true),
            Err(wijklog_shared::Error::AgendaPointExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await?;
    if let Some(old) = left.filter(|o| *o != walk) {
        let removed = edit_walk(sync, old, by, move |doc, by, at| {
            match doc.remove_agenda_point(by, at, point) {
                Ok(()) => Ok(true),
                Err(wijklog_shared::Error::AgendaPointNotFound(_)) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await;
        if let Err(e) = removed {
            // The point is on the new walk; the old walk keeps a stale entry.
            tracing::warn!(point, error = %e, "taking a point off the agenda of its former walk failed");
        }
    }
    Ok(())
}

/// One looked-at mark found in a walk: the point, the observation, and the
/// user the server bound the mark's author to.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The point id.
    pub point: i64,
    /// The observation it led to.
    pub observation: Option<String>,
    /// Who marked it (the server's binding of the writing actor).
    pub by: Option<String>,
}

/// The looked-at marks of a walk document, each attributed by `owner`.
pub fn marks(
    doc: &automerge::Automerge,
    owner: &mut dyn FnMut(&ActorId) -> Option<String>,
) -> Vec<Mark> {
    let Ok(walk) = Walk::from_doc(doc) else {
        return Vec::new();
    };
    let agenda = match doc.get(ROOT, "agenda") {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    };
    let mut out = Vec::new();
    for (key, p) in &walk.agenda {
        let (Ok(point), Some(look)) = (key.parse::<i64>(), p.looked_at.as_ref()) else {
            continue;
        };
        let by = agenda
            .as_ref()
            .and_then(|a| match doc.get(a, key.as_str()) {
                Ok(Some((Value::Object(_), e))) => match doc.get(&e, "looked_at") {
                    Ok(Some((_, ObjId::Id(_, actor, _)))) => owner(&actor),
                    _ => None,
                },
                _ => None,
            });
        out.push(Mark {
            point,
            observation: look.observation.clone(),
            by,
        });
    }
    out
}

/// Who the follower names when the author of a mark is not known.
const UNKNOWN_AUTHOR: &str = "onbekend";

/// Brings the points on walk `doc`'s agenda up to date with its marks:
/// each point still `op_agenda` there whose entry is marked becomes
/// `bekeken`. Returns the status mails queued. Blocks.
pub fn reconcile(
    store: &dyn Store,
    db: &ReviewDb,
    mail: &MailContext,
    doc_id: DocId,
) -> anyhow::Result<usize> {
    let waiting: Vec<i64> = db.with_conn(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT id FROM resident_points WHERE walk_doc = ?1 AND status = 'op_agenda' \
             AND merged_into IS NULL",
        )?;
        let rows = stmt.query_map(params![doc_id.as_bytes().as_slice()], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<Vec<i64>>>()
    })?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let doc = crate::review::report::load_automerge(store, doc_id)
        .map_err(|e| anyhow::anyhow!("loading the walk failed: {e:?}"))?;
    let mut owner = |a: &ActorId| {
        store
            .actor_owner(a.to_bytes())
            .ok()
            .flatten()
            .map(|u| u.as_str().to_owned())
    };
    let mut queued = 0;
    for m in marks(&doc, &mut owner) {
        if !waiting.contains(&m.point) {
            continue;
        }
        let by = m.by.as_deref().unwrap_or(UNKNOWN_AUTHOR);
        let action = Action::LookedAt {
            observation: m.observation.clone(),
        };
        match db.with_conn(|c| queue::apply(c, m.point, &action, by, mail, now_ms())) {
            Ok((_, n)) => queued += n,
            // Changed meanwhile (a coordinator was quicker): nothing to follow.
            Err(QueueError::WrongStatus(_) | QueueError::Merged | QueueError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(queued)
}

/// The walks that hold points waiting on their agenda.
fn walks_waiting(db: &ReviewDb) -> anyhow::Result<Vec<DocId>> {
    Ok(db
        .with_conn(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT walk_doc FROM resident_points WHERE status = 'op_agenda' \
             AND walk_doc IS NOT NULL AND merged_into IS NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?
        .into_iter()
        .filter_map(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(DocId::from_bytes)
        .collect())
}

/// Starts the follower (SQLite installations: the points live there). It
/// reconciles every walk with waiting points once at the start (and after
/// falling behind the hub), then each walk a commit changed.
pub fn spawn_follower(sync: SyncService, db: Arc<ReviewDb>, mail: Arc<MailHandle>) {
    let mut events = sync.hub.subscribe();
    let store = sync.app.store.clone();
    let shutdown = sync.app.shutdown.clone();
    let ctx = MailContext {
        domain: mail.mailer.as_ref().map(crate::mail::Mailer::domain),
    };
    tokio::spawn(async move {
        let mut all = true;
        loop {
            let docs = if all {
                all = false;
                let db = db.clone();
                match tokio::task::spawn_blocking(move || walks_waiting(&db)).await {
                    Ok(Ok(d)) => d,
                    _ => {
                        tracing::error!("reading the walks with points on their agenda failed");
                        Vec::new()
                    }
                }
            } else {
                tokio::select! {
                    () = shutdown.triggered() => return,
                    ev = events.recv() => match ev {
                        Ok(ev) if ev.kind == DocKind::Walk => vec![ev.doc],
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            all = true;
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            };
            for doc in docs {
                let (store, db, ctx) = (store.clone(), db.clone(), ctx.clone());
                let done =
                    tokio::task::spawn_blocking(move || reconcile(store.as_ref(), &db, &ctx, doc))
                        .await;
                match done {
                    Ok(Ok(n)) if n > 0 => mail.wake(),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "following the agenda of a walk failed; retried at its next change")
                    }
                    Err(e) => tracing::error!(error = %e, "following the agenda of a walk stopped"),
                }
            }
        }
    });
}
