//! `POST /api/v1/items/{doc}/{id}/erase`: a coordinator erases a resident's
//! contact details (`"what":"contact"`, spreekuur notes) or an observation's
//! or note's content (`"what":"item"`) from the document and its history,
//! with a reason. Answers 200 once the erasure is complete on the server
//! (stored history, snapshot, projection, full-text index, photos, cache).
//! See [`crate::erasure`] and `docs/privacy.md`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use wijklog_shared::erase::{EraseBasis, EraseWhat};

use crate::edge::{ApiError, RequireCoordinator};
use crate::erasure::{EraseError, EraseRequest, MAX_REASON_CHARS, erase};
use crate::routes::items::{json_ok, visible_doc};
use crate::state::{AppState, blocking};
use crate::sync::SyncService;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/items/{doc}/{id}/erase", web::post().to(erase_item));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    what: Option<String>,
    reason: Option<String>,
}

/// `POST /api/v1/items/{doc}/{id}/erase`.
#[tracing::instrument(name = "items.erase", skip_all)]
async fn erase_item(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
    sync: web::Data<SyncService>,
) -> Result<HttpResponse, ApiError> {
    let b: EraseBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::param(
            "body",
            "The request body must be a JSON object {\"what\", \"reason\"}.",
        )
    })?;
    let what = b
        .what
        .as_deref()
        .and_then(EraseWhat::parse)
        .ok_or(ApiError::param(
            "what",
            "Say what to erase: \"contact\" or \"item\".",
        ))?;
    let reason = b
        .reason
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .filter(|s| {
            s.chars().count() <= MAX_REASON_CHARS
                && !s
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        })
        .ok_or(ApiError::param(
            "reason",
            "Give the reason for the erasure (1 to 500 characters).",
        ))?;
    let (doc, item) = path.into_inner();
    let store = state.store.clone();
    let viewer = who.clone();
    let meta = blocking(move || visible_doc(store.as_ref(), &viewer, &doc, None)).await?;
    let item = wijklog_shared::ItemId::parse(&item).map_err(|_| ApiError::NotFound)?;
    let req = EraseRequest {
        doc: meta.id,
        item,
        what,
        basis: EraseBasis::Verzoek,
        by: who.user_id.clone(),
        reason: Some(reason),
    };
    let service = sync.get_ref().clone();
    let blobs = state.blobs.clone();
    let report = blocking(move || {
        erase(&service, &blobs, &req).map_err(|e| match e {
            EraseError::NotFound => ApiError::NotFound,
            EraseError::WrongKind => ApiError::Conflict {
                code: "wrong_kind",
                message: "Only spreekuur notes have contact details; erase the item instead.",
            },
            EraseError::Busy => ApiError::Unavailable {
                code: "busy",
                message: "The document is being written to; try again in a moment.",
            },
            EraseError::Store(e) => ApiError::from(*e),
            other => ApiError::Internal(anyhow::Error::new(other)),
        })
    })
    .await?;
    Ok(json_ok(&json!({
        "doc": meta.id.to_string(),
        "item": item.to_string(),
        "what": what.as_str(),
        "erased_at": report.at,
        "epoch": report.epoch,
        "photos_removed": report.photos_removed,
    })))
}
