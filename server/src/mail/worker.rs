//! The outbox worker, one task in `serve` (only when mail is configured).
//!
//! Loop: write the document edits of sent feedback messages; send every due
//! message (one SMTP conversation each, in queue order); then sleep until the
//! next message is due, `poll_ms` passes, a new message is queued
//! ([`MailHandle::wake`]) or the server shuts down.
//!
//! A feedback message marks the item "feedback given, channel e-mail" only
//! after the SMTP server accepted it: the worker writes that edit into the
//! item's document itself (a typed edit of `wijklog-shared`, attributed to the
//! coordinator who sent it, with a fresh actor id), commits it through the
//! group committer and so pushes it to every open device like any other
//! change. The outbox row keeps `doc_edit_pending` until the commit succeeded,
//! so a crash in between only delays the edit.

use std::sync::Arc;
use std::time::Duration;

use automerge::ActorId;
use tokio::sync::{Notify, oneshot};

use super::outbox::{self, Due, PendingEdit};
use super::{Mailer, Outgoing};
use crate::config::MailConfig;
use crate::domain::{DocId, UserId, now_ms};
use crate::review::ReviewDb;
use crate::storage::{DocWrite, NewChange};
use crate::sync::SyncService;
use crate::sync::committer::QueuedWrite;
use crate::sync::core::CommitJob;

/// What the routes need of mail: the client (None = mail off) and the bell
/// that wakes the worker.
#[derive(Debug, Default)]
pub struct MailHandle {
    /// The SMTP client; `None` when `[mail] host` is not set.
    pub mailer: Option<Mailer>,
    wake: Notify,
}

impl MailHandle {
    /// A handle for `mailer`.
    pub fn new(mailer: Option<Mailer>) -> Self {
        Self {
            mailer,
            wake: Notify::new(),
        }
    }

    /// Whether mail is on.
    pub fn enabled(&self) -> bool {
        self.mailer.is_some()
    }

    /// Wakes the worker (a message was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the worker when mail is on: it sends through `mail`'s client,
/// keeps the outbox in `db` and writes the "feedback given" edits through
/// `sync`.
pub fn spawn(sync: SyncService, mail: Arc<MailHandle>, db: Arc<ReviewDb>) {
    let Some(mailer) = mail.mailer.clone() else {
        return;
    };
    tokio::spawn(run(sync, mailer, mail, db));
}

async fn run(sync: SyncService, mailer: Mailer, mail: Arc<MailHandle>, db: Arc<ReviewDb>) {
    let state = sync.app.clone();
    let config = state.config.mail.clone();
    let shutdown = state.shutdown.clone();
    tracing::info!("mail worker started");
    // The digest check runs at most this often (the query is cheap, but not free).
    let digest_every =
        Duration::from_millis(config.poll_ms.saturating_mul(10)).min(Duration::from_secs(60));
    let mut last_digest: Option<tokio::time::Instant> = None;
    loop {
        if last_digest.is_none_or(|t| t.elapsed() >= digest_every) {
            last_digest = Some(tokio::time::Instant::now());
            let (db, store, domain, hour) = (
                db.clone(),
                state.store.clone(),
                mailer.domain(),
                config.digest_hour_utc,
            );
            let done = tokio::task::spawn_blocking(move || {
                db.with_conn(|c| {
                    super::digest::queue_due(c, &db, store.as_ref(), &domain, hour, now_ms())
                })
            })
            .await;
            match done {
                Ok(Ok(n)) if n > 0 => tracing::info!(digests = n, "daily digests queued"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "queueing the daily digests failed"),
                Err(e) => tracing::error!(error = %e, "queueing the daily digests failed"),
            }
        }
        if let Err(e) = apply_pending_edits(&sync, &db).await {
            tracing::error!(error = ?e, "writing 'feedback given' into a document failed; retried later");
        }
        let now = now_ms();
        let batch = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || db.with_conn(|c| outbox::due(c, now, 20))).await
        };
        let batch = match batch {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading the outbox failed");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                Vec::new()
            }
        };
        let full = batch.len() == 20;
        for m in batch {
            send_one(&mailer, &config, &db, m).await;
        }
        if full {
            continue;
        }
        let wait = {
            let db = db.clone();
            let next = tokio::task::spawn_blocking(move || db.with_conn(outbox::next_due_at))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            let poll = config.poll_ms as i64;
            let until_next = next.map_or(poll, |at| (at - now_ms()).clamp(0, poll));
            Duration::from_millis(until_next.max(0) as u64)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = mail.wake.notified() => {}
            _ = shutdown.triggered() => break,
        }
    }
    tracing::info!("mail worker stopped");
}

async fn send_one(mailer: &Mailer, config: &MailConfig, db: &Arc<ReviewDb>, m: Due) {
    let out = Outgoing {
        message_id: m.message_id.clone(),
        to: m.recipient.clone(),
        subject: m.subject.clone(),
        body: m.body.clone(),
    };
    let result = mailer.send(&out).await;
    if result.is_ok() {
        // A kill here leaves the message queued: it is sent again after the
        // restart, with the same Message-ID (at-least-once).
        crate::crashpoint::reached_with(crate::crashpoint::Point::MailAccepted, || {
            format!("outbox_id={}", m.id)
        });
    }
    let id = m.id;
    let tries = m.attempts + 1;
    let max = config.max_attempts;
    let backoff = config.backoff_ms(tries) as i64;
    let db = db.clone();
    let (what, reason) = match &result {
        Ok(()) => ("sent", None),
        Err(f) if f.permanent || tries >= max => ("failed", Some(f.reason.clone())),
        Err(f) => ("retry", Some(f.reason.clone())),
    };
    // The outbox id and the outcome only: never the address or the text.
    match what {
        "sent" => tracing::info!(
            outbox_id = id,
            attempt = tries,
            "mail accepted by the SMTP server"
        ),
        "failed" => tracing::warn!(outbox_id = id, attempt = tries, "mail failed for good"),
        _ => tracing::info!(
            outbox_id = id,
            attempt = tries,
            retry_in_ms = backoff,
            "mail not accepted; retrying later"
        ),
    }
    let written = tokio::task::spawn_blocking(move || {
        db.with_conn(|c| {
            let now = now_ms();
            match (what, reason) {
                ("sent", _) => outbox::mark_sent(c, id, now),
                ("failed", Some(r)) => outbox::mark_failed(c, id, &r),
                (_, r) => outbox::mark_retry(c, id, now + backoff, r.as_deref().unwrap_or("")),
            }
        })
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        // Left queued: it is sent again (same Message-ID): at-least-once.
        tracing::error!(outbox_id = id, "recording a send outcome failed");
    }
}

async fn apply_pending_edits(sync: &SyncService, db: &Arc<ReviewDb>) -> anyhow::Result<()> {
    let pending = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || db.with_conn(outbox::pending_edits)).await??
    };
    for p in pending {
        let id = p.id;
        let done = record_feedback(sync, &p).await?;
        if done {
            let db = db.clone();
            tokio::task::spawn_blocking(move || db.with_conn(|c| outbox::edit_done(c, id)))
                .await??;
        }
    }
    Ok(())
}

/// Writes "feedback given by e-mail" for a sent message. `Ok(true)` when the
/// edit is stored or can never be made (document or item gone).
async fn record_feedback(sync: &SyncService, p: &PendingEdit) -> anyhow::Result<bool> {
    let Ok(doc_id) = DocId::parse(&p.doc_id) else {
        return Ok(true);
    };
    let (Ok(user), Ok(item)) = (
        UserId::parse(&p.created_by),
        wijklog_shared::ItemId::parse(&p.item_id),
    ) else {
        return Ok(true);
    };
    let cache = sync.cache.clone();
    let committer = sync.committer.clone();
    let store = sync.app.store.clone();
    let sent_at = p.sent_at;
    let outbox_id = p.id;
    let rx =
        tokio::task::spawn_blocking(move || -> anyhow::Result<Option<oneshot::Receiver<_>>> {
            let Some(entry) = cache.open(doc_id).map_err(|e| anyhow::anyhow!("{e:?}"))? else {
                return Ok(None);
            };
            let mut guard = entry
                .lock()
                .map_err(|_| anyhow::anyhow!("document lock poisoned"))?;
            let old_heads = guard.doc.get_heads();
            let mut doc = wijklog_shared::Document::load(doc_id, &guard.doc.save())?;
            let actor = ActorId::random();
            doc.set_actor(actor.clone());
            let at = wijklog_shared::Timestamp::from_millis(now_ms());
            if let Err(e) = doc.record_feedback_given(
                &user,
                at,
                &item,
                wijklog_shared::FeedbackChannel::EMail,
                wijklog_shared::Timestamp::from_millis(sent_at),
            ) {
                // Deleted or gone since: the message went out, there is nothing to mark.
                tracing::warn!(
                    outbox_id,
                    code = e.code(),
                    "feedback could not be marked in the document"
                );
                return Ok(None);
            }
            let changes = doc.automerge_mut().get_changes(&old_heads);
            let new: Vec<NewChange> = changes.iter().map(NewChange::from_change).collect();
            guard.doc.apply_changes(changes)?;
            guard.size_bytes += new.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
            // Authorship comes from the actor bindings; this fresh actor becomes
            // the coordinator's when the write commits.
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
                        // Written by the server itself (no device session).
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
        })
        .await??;
    let Some(rx) = rx else {
        return Ok(true);
    };
    match rx.await {
        Ok(Ok(())) => Ok(true),
        other => anyhow::bail!("the commit failed: {other:?}"),
    }
}
