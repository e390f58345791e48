//! The coordinators' queue of residents' points (docs/api.md, "Residents'
//! points"); coordinators only.
//!
//! - `GET /api/v1/resident-points?wijk=&status=&limit=`: the queue (no
//!   contact details; `has_contact` says whether there are any).
//! - `GET /api/v1/resident-points/{id}`: one point with its contact details
//!   (audited `resident_point.read_personal` when it has any).
//! - `POST /api/v1/resident-points/{id}` `{"action", ...}`: onto a walk's
//!   agenda, looked at, picked up, done, declined, merged (audited; status
//!   mails queued for residents with an e-mail address and consent).
//! - `GET /api/v1/resident-point-reasons`: the reasons and the
//!   sentences residents see.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::items::{json_ok, query_pairs};
use crate::domain::{DocId, DocKind, now_ms};
use crate::edge::{ApiError, PageLimit, RequireCoordinator, json_body};
use crate::public::points::DECLINE_REASONS;
use crate::public::queue::{self, Action, MailContext, QueueError};
use crate::state::{AppState, blocking};
use crate::sync::SyncService;
use wijklog_shared::{Location, MAX_AGENDA_TEXT_CHARS, NewAgendaPoint};

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/resident-points", web::get().to(list))
        .route("/api/v1/resident-point-reasons", web::get().to(reasons))
        .route("/api/v1/resident-points/{id}", web::get().to(get))
        .route("/api/v1/resident-points/{id}", web::post().to(act));
}

/// The queue's largest page.
const PAGE: PageLimit = PageLimit::UP_TO_500;

const STATUSES: [&str; 6] = [
    "ontvangen",
    "op_agenda",
    "bekeken",
    "opgepakt",
    "afgerond",
    "afgewezen",
];

async fn list(
    _: RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut wijk = None;
    let mut status = None;
    let mut limit = 200;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "wijk" => wijk = Some(v),
            "status" => {
                if !STATUSES.contains(&v.as_str()) {
                    return Err(ApiError::param("status", "Unknown status."));
                }
                status = Some(v);
            }
            "limit" => limit = PAGE.parse(&v)?,
            _ => return Err(ApiError::param("query", "Unknown query parameter.")),
        }
    }
    let db = state.review.clone();
    let points = blocking::<_, ApiError>(move || {
        Ok(db.with_conn(|c| queue::list(c, wijk.as_deref(), status.as_deref(), limit))?)
    })
    .await?;
    Ok(json_ok(&json!({ "points": points })))
}

async fn reasons(_: RequireCoordinator) -> HttpResponse {
    let list: Vec<_> = DECLINE_REASONS
        .iter()
        .map(|(code, sentence)| json!({"code": code, "sentence": sentence}))
        .collect();
    json_ok(&json!({ "reasons": list }))
}

fn point_id(path: &str) -> Result<i64, ApiError> {
    path.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::NotFound)
}

async fn get(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = point_id(&path)?;
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let (point, contact) = blocking::<_, ApiError>(move || {
        db.with_conn(|c| {
            let found = queue::get(c, id)?;
            if let Some((_, Some(_))) = &found {
                crate::mail::outbox::audit(
                    c,
                    now_ms(),
                    Some(&by),
                    "resident_point.read_personal",
                    Some(&format!("point/{id}")),
                    &json!({"point": id}),
                )?;
            }
            Ok::<_, ApiError>(found)
        })?
        .ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(json_ok(&json!({ "point": point, "contact": contact })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    action: String,
    #[serde(default)]
    walk: Option<String>,
    #[serde(default)]
    observation: Option<String>,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    into: Option<i64>,
    /// `agenda`: the wording on the walk's agenda (default: the resident's text).
    #[serde(default)]
    text: Option<String>,
}

async fn act(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
    sync: web::Data<SyncService>,
) -> Result<HttpResponse, ApiError> {
    let id = point_id(&path)?;
    let b: ActBody = json_body(&body)?;
    super::public::fresh_schedule(&state).await?;
    if let Some(t) = &b.text
        && (t.trim().is_empty() || t.chars().count() > MAX_AGENDA_TEXT_CHARS)
    {
        return Err(ApiError::param(
            "text",
            "The text for the agenda must be 1 to 2000 characters.",
        ));
    }
    let action = match b.action.as_str() {
        "agenda" => {
            let walk = b
                .walk
                .as_deref()
                .and_then(|w| DocId::parse(w).ok())
                .ok_or(ApiError::param("walk", "Give the id of a planned walk."))?;
            let store = state.store.clone();
            let event = blocking::<_, ApiError>(move || {
                Ok(crate::public::schedule::walk_now(store.as_ref(), walk))
            })
            .await?
            .filter(|e| e.kind == DocKind::Walk && !e.ended)
            .ok_or(ApiError::param(
                "walk",
                "This is not a planned walk that has not ended.",
            ))?;
            Action::Agenda {
                walk: walk.as_bytes(),
                walk_date: event.starts_at,
                wijk: event.wijk,
            }
        }
        "looked_at" => Action::LookedAt {
            observation: b.observation.filter(|o| !o.trim().is_empty()),
        },
        "picked_up" => {
            let partner = b.partner.unwrap_or_default();
            if state
                .public
                .schedule
                .catalog()
                .check_partner(&partner)
                .is_err()
            {
                return Err(ApiError::param("partner", "Unknown or retired partner."));
            }
            Action::PickedUp { partner }
        }
        "done" => Action::Done,
        "decline" => Action::Decline {
            reason: b.reason.unwrap_or_default(),
        },
        "merge" => Action::Merge {
            into: b.into.ok_or(ApiError::param(
                "into",
                "Give the point this one duplicates.",
            ))?,
        },
        _ => return Err(ApiError::param("action", "Unknown action.")),
    };
    if let Action::Agenda { walk, wijk, .. } = &action {
        put_on_agenda(
            &state,
            &sync,
            &who.user_id,
            id,
            DocId::from_bytes(*walk),
            wijk,
            b.text,
        )
        .await?;
    }
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let mail = MailContext {
        domain: state.mail.mailer.as_ref().map(crate::mail::Mailer::domain),
    };
    let (point, mails) = blocking::<_, ApiError>(move || {
        db.with_conn(|c| queue::apply(c, id, &action, &by, &mail, now_ms()))
            .map_err(|e| match e {
                QueueError::NotFound => ApiError::NotFound,
                QueueError::WrongStatus(_) => ApiError::Conflict {
                    code: "wrong_status",
                    message: "The point's status does not allow this change.",
                },
                QueueError::Merged => ApiError::Conflict {
                    code: "point_merged",
                    message: "This point was merged into another; change that one.",
                },
                QueueError::BadTarget => ApiError::param(
                    "into",
                    "Merge into another open, unmerged point of the same wijk.",
                ),
                QueueError::WrongWijk => {
                    ApiError::param("walk", "The walk is in another wijk than the point.")
                }
                QueueError::UnknownReason => ApiError::param("reason", "Unknown reason."),
                QueueError::Db(e) => ApiError::from(e),
            })
    })
    .await?;
    if mails > 0 {
        state.mail.wake();
    }
    Ok(json_ok(&json!({ "point": point, "mails_queued": mails })))
}

/// Writes the point onto the walk's agenda in the walk document (and takes it
/// off the walk it was on) before the point's status changes: the checks of
/// [`queue::apply`] that can be made now are made first, so a refused change
/// writes nothing into a document. `text` is the coordinator's wording.
async fn put_on_agenda(
    state: &AppState,
    sync: &SyncService,
    by: &crate::domain::UserId,
    id: i64,
    walk: DocId,
    walk_wijk: &str,
    text: Option<String>,
) -> Result<(), ApiError> {
    let db = state.review.clone();
    let (point, _) = blocking::<_, ApiError>(move || {
        db.with_conn(|c| queue::get(c, id))?
            .ok_or(ApiError::NotFound)
    })
    .await?;
    if point.merged_into.is_some() {
        return Err(ApiError::Conflict {
            code: "point_merged",
            message: "This point was merged into another; change that one.",
        });
    }
    if point.status != "ontvangen" && point.status != "op_agenda" {
        return Err(ApiError::Conflict {
            code: "wrong_status",
            message: "The point's status does not allow this change.",
        });
    }
    if point.wijk != walk_wijk {
        return Err(ApiError::param(
            "walk",
            "The walk is in another wijk than the point.",
        ));
    }
    let catalog = state.public.schedule.catalog();
    // A category retired since the point came in is left out.
    let category = point
        .category
        .clone()
        .filter(|c| catalog.check_category(c).is_ok());
    let location = point.location.as_ref().and_then(|l| {
        Some(Location {
            lat: l.get("lat")?.as_f64()?,
            lon: l.get("lon")?.as_f64()?,
            accuracy_m: None,
        })
    });
    let left = point.walk.as_deref().and_then(|w| DocId::parse(w).ok());
    let entry = NewAgendaPoint {
        point: id,
        text: text.map_or(point.text.clone(), |t| t.trim().to_owned()),
        category,
        place: point.place.clone(),
        location,
    };
    crate::public::agenda::write_agenda(sync, catalog, walk, left, by, entry)
        .await
        .map_err(|e| match e {
            crate::public::agenda::EditFailed::NotFound => {
                ApiError::param("walk", "This is not a planned walk that has not ended.")
            }
            crate::public::agenda::EditFailed::Refused(e) if e.code() == "walk_already_ended" => {
                ApiError::param("walk", "This is not a planned walk that has not ended.")
            }
            other => ApiError::Internal(anyhow::anyhow!(
                "writing point {id} onto a walk's agenda failed: {other}"
            )),
        })
}
