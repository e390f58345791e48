//! `POST /api/v1/items/{doc}/{id}/erase`: a coordinator erases a resident's
//! contact details (`"what":"contact"`, spreekuur notes) or an observation's
//! or note's content (`"what":"item"`) from the document and its history,
//! on a basis (`"basis":"verzoek"`, the resident's request, or `"anders"`,
//! another reason) with a reason in words. Answers 200 once the erasure is complete on the server
//! (stored history, snapshot, projection, full-text index, photos, cache).
//! See [`crate::erasure`] and `docs/privacy.md`.
//!
//! `GET /api/v1/docs/{doc}/history`: the document's committed history as
//! automerge `save()` bytes, with its epoch in `X-Wijklog-Epoch`; a device
//! that learns of a newer epoch (`docs/sync-protocol.md` §5a) replaces its
//! copy with it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use wijklog_shared::erase::{EraseBasis, EraseWhat};

use crate::domain::Principal;
use crate::edge::{ApiError, RequireCoordinator, json_body};
use crate::erasure::{EraseError, EraseRequest, MAX_REASON_CHARS, erase};
use crate::routes::items::{json_ok, visible_doc};
use crate::state::{AppState, blocking};
use crate::sync::SyncService;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/items/{doc}/{id}/erase", web::post().to(erase_item))
        .route("/api/v1/docs/{doc}/history", web::get().to(history));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    what: Option<String>,
    basis: Option<String>,
    reason: Option<String>,
}

/// The basis of a coordinator's erasure: `verzoek` (also when absent: the
/// API's first version knew no other) or `anders`. `bewaartermijn` is the
/// retention run's alone: a coordinator erasing early says so in words.
fn basis_of(value: Option<&str>) -> Result<EraseBasis, ApiError> {
    match value.map(EraseBasis::parse) {
        None => Ok(EraseBasis::Verzoek),
        Some(Some(b @ (EraseBasis::Verzoek | EraseBasis::Anders))) => Ok(b),
        Some(_) => Err(ApiError::param(
            "basis",
            "Say on what basis: \"verzoek\" (the resident asked) or \"anders\" (another reason, given in \"reason\").",
        )),
    }
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
    let b: EraseBody = json_body(&body)?;
    let what = b
        .what
        .as_deref()
        .and_then(EraseWhat::parse)
        .ok_or(ApiError::param(
            "what",
            "Say what to erase: \"contact\" or \"item\".",
        ))?;
    let basis = basis_of(b.basis.as_deref())?;
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
        basis,
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
        "basis": basis.as_str(),
        "erased_at": report.at,
        "epoch": report.epoch,
        "photos_removed": report.photos_removed,
    })))
}

/// The header that carries the document's epoch.
pub const EPOCH_HEADER: &str = "X-Wijklog-Epoch";

/// `GET /api/v1/docs/{doc}/history`: for whoever may see the document.
#[tracing::instrument(name = "docs.history", skip_all)]
async fn history(
    who: Principal,
    path: web::Path<String>,
    state: web::Data<AppState>,
    sync: web::Data<SyncService>,
) -> Result<HttpResponse, ApiError> {
    let doc = path.into_inner();
    let store = state.store.clone();
    let service = sync.get_ref().clone();
    let (bytes, epoch) = blocking(move || {
        let meta = visible_doc(store.as_ref(), &who, &doc, None)?;
        let busy = || ApiError::Unavailable {
            code: "busy",
            message: "The document is being written to; try again in a moment.",
        };
        let entry = service
            .cache
            .open(meta.id)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
            .ok_or(ApiError::NotFound)?;
        let guard = entry.lock().map_err(|_| busy())?;
        if entry.is_poisoned() {
            return Err(busy());
        }
        // Only what is committed: a change still waiting for its commit
        // may yet fail, and the device counts these bytes as stored.
        let mut heads = guard.doc.get_heads();
        let mut committed = guard.committed_heads.clone();
        heads.sort();
        committed.sort();
        let bytes = if heads == committed {
            guard.doc.save()
        } else {
            guard
                .doc
                .fork_at(&guard.committed_heads)
                .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
                .save()
        };
        Ok::<_, ApiError>((bytes, entry.epoch))
    })
    .await?;
    let res = HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((EPOCH_HEADER, epoch.to_string()))
        .insert_header(("Cache-Control", "no-store"))
        .body(bytes);
    Ok(res)
}
