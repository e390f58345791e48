//! The actix side of `/api/v1/sync`: it authenticates the first frame,
//! sends `ready`, then only moves bytes between the socket and the
//! [`Session`] (which makes every decision), runs the session off the async
//! threads, polls the session's validity and handles graceful shutdown.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason};
use tokio::sync::{broadcast, mpsc};
use tracing::{Instrument, debug, info, info_span, warn};

use super::cache::DocCache;
use super::core::{self, Effect, Event, Session};
use super::hub::DocEvent;
use super::protocol::{
    CLOSE_REVOKED, CLOSE_SHUTTING_DOWN, CLOSE_UNAUTHENTICATED, DocSummary, ErrorCode,
    PROTOCOL_VERSION, ReadyUser, ServerMessage, heads_hex,
};
use super::service::{ServerContext, SyncService};
use crate::auth::AuthError;
use crate::crashpoint::{self, Point};
use crate::domain::Principal;
use crate::storage::Store;

/// Registers `GET /api/v1/sync`.
pub fn configure(cfg: &mut web::ServiceConfig, service: web::Data<SyncService>) {
    cfg.app_data(service)
        .route("/api/v1/sync", web::get().to(sync_socket));
}

async fn sync_socket(
    req: HttpRequest,
    body: web::Payload,
    service: web::Data<SyncService>,
) -> actix_web::Result<HttpResponse> {
    let (response, ws, stream) = actix_ws::handle(&req, body)?;
    // The codec accepts frames up to twice the limit so that a frame just
    // over the limit gets a `too_large` error and the connection survives.
    let codec_max = service
        .limits
        .max_frame_bytes
        .saturating_mul(2)
        .max(64 * 1024);
    let stream = stream
        .max_frame_size(codec_max)
        .aggregate_continuations()
        .max_continuation_size(codec_max);
    let service = service.get_ref().clone();
    let conn = service.next_conn_id();
    let guard = service.app.shutdown.guard();
    actix_web::rt::spawn(
        async move {
            run(service, conn, ws, stream).await;
            drop(guard);
        }
        .instrument(info_span!("sync", conn)),
    );
    Ok(response)
}

/// Sends `effects`; `false` once the connection is closed.
async fn send_all(
    service: &SyncService,
    ws: &mut Option<actix_ws::Session>,
    effects: Vec<Effect>,
) -> bool {
    for effect in effects {
        let Some(session) = ws.as_mut() else {
            return false;
        };
        let sent = match effect {
            Effect::Text(message) => {
                if let ServerMessage::Error { code, .. } = &message {
                    service.app.metrics.count_error(code.as_str());
                    debug!(code = code.as_str(), "error sent");
                }
                let is_ack = matches!(message, ServerMessage::Ack { .. });
                if is_ack {
                    crashpoint::reached_with(Point::AckBeforeSend, || ack_detail(&message));
                }
                let sent = session.text(message.to_json()).await;
                if is_ack && sent.is_ok() {
                    crashpoint::reached_with(Point::AckSent, || ack_detail(&message));
                }
                sent
            }
            Effect::Binary(frame) => session.binary(frame).await,
            Effect::Close { code, reason } => {
                close(ws, code, reason).await;
                return false;
            }
        };
        if sent.is_err() {
            *ws = None;
            return false;
        }
    }
    true
}

/// The crash points' detail of an ack: `doc=<id> heads=<hash>,...`.
fn ack_detail(message: &ServerMessage) -> String {
    match message {
        ServerMessage::Ack { doc, heads } => format!("doc={doc} heads={}", heads.join(",")),
        _ => String::new(),
    }
}

async fn close(ws: &mut Option<actix_ws::Session>, code: u16, reason: &str) {
    if let Some(session) = ws.take() {
        let _ = session
            .close(Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(reason.to_owned()),
            }))
            .await;
    }
}

/// Refuses the connection: an error message, then close 4001.
async fn refuse(service: &SyncService, ws: &mut Option<actix_ws::Session>, message: ServerMessage) {
    send_all(service, ws, vec![Effect::Text(message)]).await;
    close(ws, CLOSE_UNAUTHENTICATED, "unauthenticated").await;
}

enum First {
    Token(String),
    Refused(ServerMessage),
    Gone,
}

async fn first_frame(
    stream: &mut AggregatedMessageStream,
    ws: &mut Option<actix_ws::Session>,
) -> First {
    loop {
        match stream.recv().await {
            Some(Ok(AggregatedMessage::Text(text))) => {
                return match core::parse_auth(&text) {
                    Ok(token) => First::Token(token),
                    Err(message) => First::Refused(message),
                };
            }
            Some(Ok(AggregatedMessage::Binary(_))) => {
                return First::Refused(ServerMessage::error(
                    None,
                    ErrorCode::Unauthenticated,
                    "authenticate with an auth text frame first",
                ));
            }
            Some(Ok(AggregatedMessage::Ping(p))) => {
                if let Some(s) = ws.as_mut()
                    && s.pong(&p).await.is_err()
                {
                    return First::Gone;
                }
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {}
            Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => return First::Gone,
        }
    }
}

/// Listing the documents of `ready` failed (already logged).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("listing the user's documents failed")]
pub struct ListingFailed;

/// The documents of `ready`: the device's scope (`scope::current`), with
/// the committed heads (documents are loaded into the cache on the way).
fn ready_docs(service: &SyncService, who: &Principal) -> Result<Vec<DocSummary>, ListingFailed> {
    ready_docs_from(
        service.store().as_ref(),
        &service.cache,
        who,
        service.app.scope_clock.now_ms(),
        &service.limits.scope,
    )
}

/// The documents of `ready` from a store and its document cache at `now`
/// (what the handler lists; the deterministic simulation lists the same way).
pub fn ready_docs_from(
    store: &dyn Store,
    cache: &DocCache,
    who: &Principal,
    now: i64,
    scope: &crate::config::SyncConfig,
) -> Result<Vec<DocSummary>, ListingFailed> {
    let metas = super::scope::current(store, who, now, scope).map_err(|e| {
        warn!(error = ?e, "listing the documents in scope failed");
        ListingFailed
    })?;
    let mut docs = Vec::with_capacity(metas.len());
    for meta in metas {
        let (heads, epoch) = match cache.open(meta.id) {
            Ok(Some(entry)) => (
                entry.committed_heads().map_err(|_| ListingFailed)?,
                entry.epoch,
            ),
            Ok(None) => continue,
            Err(e) => {
                warn!(doc = %meta.id, error = ?e, "loading a document for ready failed");
                return Err(ListingFailed);
            }
        };
        docs.push(DocSummary {
            id: meta.id,
            kind: meta.kind,
            heads: heads_hex(&heads),
            epoch,
        });
    }
    Ok(docs)
}

async fn run(
    service: SyncService,
    conn: u64,
    ws: actix_ws::Session,
    mut stream: AggregatedMessageStream,
) {
    let mut ws = Some(ws);
    if service.app.shutdown.is_triggered() {
        close(&mut ws, CLOSE_SHUTTING_DOWN, "shutting_down").await;
        return;
    }

    // 1. Authenticate within the configured time.
    let token = match tokio::time::timeout(
        service.limits.auth_timeout,
        first_frame(&mut stream, &mut ws),
    )
    .await
    {
        Err(_) => {
            let message = ServerMessage::error(
                None,
                ErrorCode::Unauthenticated,
                "no auth frame within the time allowed",
            );
            return refuse(&service, &mut ws, message).await;
        }
        Ok(First::Gone) => return,
        Ok(First::Refused(message)) => return refuse(&service, &mut ws, message).await,
        Ok(First::Token(token)) => token,
    };
    let principal = match service.app.auth.verify_access(&token).await {
        Ok(p) => p,
        Err(AuthError::Revoked) => {
            let message = ServerMessage::error(
                None,
                ErrorCode::Unauthenticated,
                AuthError::Revoked.message(),
            );
            send_all(&service, &mut ws, vec![Effect::Text(message)]).await;
            close(&mut ws, CLOSE_REVOKED, "revoked").await;
            return;
        }
        Err(e) => {
            let message = ServerMessage::error(None, ErrorCode::Unauthenticated, e.message());
            return refuse(&service, &mut ws, message).await;
        }
    };
    drop(token);

    // 2. Subscribe to live updates before listing, so nothing falls between.
    let mut hub = service.hub.subscribe();
    let mut bell = service.hub.session_bell();
    let mut bell_open = true;
    let listing = {
        let service = service.clone();
        let who = principal.clone();
        tokio::task::spawn_blocking(move || ready_docs(&service, &who)).await
    };
    let Ok(Ok(docs)) = listing else {
        let message =
            ServerMessage::error(None, ErrorCode::Internal, "internal error; reconnect later");
        send_all(&service, &mut ws, vec![Effect::Text(message)]).await;
        close(&mut ws, 1011, "internal").await;
        return;
    };
    let view = principal.view();
    let ready = ServerMessage::Ready {
        protocol: PROTOCOL_VERSION,
        user: ReadyUser {
            id: view.id,
            name: view.name,
            roles: view.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            team: view.team,
        },
        docs: docs.clone(),
    };
    if !send_all(&service, &mut ws, vec![Effect::Text(ready)]).await {
        return;
    }
    info!(docs = docs.len(), "sync connection ready");
    service.app.metrics.sync_connections.inc();
    let _connected = ConnectedGauge(service.clone());

    // 3. The session loop.
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let ctx = Arc::new(ServerContext::new(service.clone(), conn, events_tx));
    let mut session = Some(Session::new(
        conn,
        principal.clone(),
        service.limits.clone(),
        &docs,
        Instant::now(),
    ));
    let mut check = tokio::time::interval(service.limits.session_check_interval);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check.tick().await;
    let mut scope_check = tokio::time::interval(std::time::Duration::from_secs(
        service.limits.scope.scope_check_secs.max(1),
    ));
    scope_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    scope_check.tick().await;
    let shutdown = service.app.shutdown.clone();
    // A coordinator's `lists_changed` held back by its minimum interval.
    let mut lists_due: Option<Instant> = None;

    loop {
        let lists_timer = async move {
            match lists_due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            biased;
            _ = shutdown.triggered() => break,
            Some(event) = events.recv() => event,
            frame = stream.recv() => match frame {
                Some(Ok(AggregatedMessage::Text(text))) => Event::Text(text.to_string()),
                Some(Ok(AggregatedMessage::Binary(bytes))) => Event::Binary(bytes.to_vec()),
                Some(Ok(AggregatedMessage::Ping(p))) => {
                    if let Some(s) = ws.as_mut() && s.pong(&p).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(Ok(AggregatedMessage::Pong(_))) => continue,
                Some(Ok(AggregatedMessage::Close(_))) | None => return,
                Some(Err(e)) => {
                    // A frame beyond what the codec accepts: the stream cannot continue.
                    debug!(error = %e, "websocket protocol error");
                    let message = ServerMessage::error(None, ErrorCode::TooLarge, "frame far larger than the limit");
                    send_all(&service, &mut ws, vec![Effect::Text(message)]).await;
                    close(&mut ws, 1009, "too_large").await;
                    return;
                }
            },
            live = hub.recv() => match live {
                Ok(e) => live_event(e),
                Err(broadcast::error::RecvError::Lagged(_)) => Event::Resync,
                Err(broadcast::error::RecvError::Closed) => continue,
            },
            _ = scope_check.tick() => Event::ScopeCheck,
            _ = lists_timer => Event::ListsChangedDue,
            // A session ended somewhere (PostgreSQL announces it to every
            // node): check this one now, not at the next tick.
            rung = bell.recv(), if bell_open => match rung {
                Err(broadcast::error::RecvError::Closed) => {
                    bell_open = false;
                    continue;
                }
                Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    match service.app.auth.session_state(&principal).await {
                        Ok(state) => Event::SessionChecked { state },
                        Err(e) => {
                            warn!(error = ?e, "session check failed");
                            continue;
                        }
                    }
                }
            },
            _ = check.tick() => match service.app.auth.session_state(&principal).await {
                Ok(state) => Event::SessionChecked { state },
                Err(e) => {
                    warn!(error = ?e, "session check failed");
                    continue;
                }
            },
        };
        // Whatever else is already queued (commit results, live updates) is
        // handled in the same pass: live updates of one document collapse
        // into one push, and the session runs once on the blocking pool.
        let mut batch = vec![event];
        while batch.len() < MAX_QUEUED_PER_PASS {
            if let Ok(event) = events.try_recv() {
                batch.push(event);
                continue;
            }
            match hub.try_recv() {
                Ok(e) => batch.push(live_event(e)),
                Err(broadcast::error::TryRecvError::Lagged(_)) => batch.push(Event::Resync),
                Err(_) => break,
            }
        }
        let queued_pushes = batch
            .iter()
            .filter(|e| matches!(e, Event::DocChanged { .. }))
            .count();
        let batch = core::coalesce(conn, batch);
        let pushes = batch
            .iter()
            .filter(|e| matches!(e, Event::DocChanged { .. }))
            .count();
        let metrics = &service.app.metrics;
        metrics.sync_pushes.inc_by(pushes as u64);
        metrics
            .sync_pushes_coalesced
            .inc_by((queued_pushes - pushes) as u64);
        let Some(effects) = handle(&mut session, &ctx, batch).await else {
            close(&mut ws, 1011, "internal").await;
            return;
        };
        lists_due = session.as_ref().and_then(Session::lists_changed_due);
        if !send_all(&service, &mut ws, effects).await {
            return;
        }
    }

    // 4. Graceful shutdown: no new frames; finish and ack the commits in flight.
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_secs(service.app.config.shutdown_timeout_secs.max(1));
    while session.as_ref().is_some_and(|s| s.pending_commits() > 0) {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await else {
            break;
        };
        let Some(effects) = handle(&mut session, &ctx, vec![event]).await else {
            break;
        };
        if !send_all(&service, &mut ws, effects).await {
            return;
        }
    }
    close(&mut ws, CLOSE_SHUTTING_DOWN, "shutting_down").await;
}

/// The most queued events handled in one pass of the session loop.
const MAX_QUEUED_PER_PASS: usize = 512;

fn live_event(e: DocEvent) -> Event {
    Event::DocChanged {
        doc: e.doc,
        kind: e.kind,
        team: e.team,
        origins: e.origins,
        scope: e.scope,
    }
}

/// Runs events through the session on the blocking pool (applying changes
/// and loading documents may take a while). `None` if the session was lost
/// (a panic): the connection must close.
async fn handle(
    session: &mut Option<Session>,
    ctx: &Arc<ServerContext>,
    events: Vec<Event>,
) -> Option<Vec<Effect>> {
    let mut owned = session.take()?;
    let ctx = ctx.clone();
    let result = tokio::task::spawn_blocking(move || {
        let now = Instant::now();
        let mut effects = Vec::new();
        for event in events {
            let phase = match &event {
                Event::DocChanged { .. } | Event::Resync => "push",
                Event::Committed { .. } => "ack",
                _ => "frame",
            };
            let started = Instant::now();
            effects.extend(owned.handle(event, ctx.as_ref(), now));
            ctx.metrics().add_sync_work(phase, started.elapsed());
        }
        let (generated, shared) = owned.take_message_counts();
        ctx.metrics().sync_messages_generated.inc_by(generated);
        ctx.metrics().sync_messages_shared.inc_by(shared);
        (owned, effects)
    })
    .await;
    match result {
        Ok((owned, effects)) => {
            *session = Some(owned);
            Some(effects)
        }
        Err(e) => {
            warn!(error = %e, "sync session task failed");
            None
        }
    }
}

/// Decrements the open-connections gauge when the connection ends.
struct ConnectedGauge(SyncService);

impl Drop for ConnectedGauge {
    fn drop(&mut self) {
        self.0.app.metrics.sync_connections.dec();
    }
}
