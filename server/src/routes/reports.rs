//! `GET /api/v1/walks/{id}/report`: the printable walk report (walkers, participants,
//! route, observations by category with places, action list per partner),
//! for coordinators and the walk's own team.

use actix_web::{HttpResponse, web};

use super::items::{json_ok, visible_doc};
use crate::domain::DocKind;
use crate::edge::{ApiError, RequireContentReader};
use crate::review::report;
use crate::state::{AppState, blocking};

/// Registers the report route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/walks/{id}/report", web::get().to(walk_report));
}

/// `GET /api/v1/walks/{id}/report`.
#[tracing::instrument(name = "walks.report", skip_all)]
async fn walk_report(
    RequireContentReader(who): RequireContentReader,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let max_ops = state.config.limits.max_ops_per_document;
    let body = blocking(move || {
        let meta = visible_doc(store.as_ref(), &who, &id, Some(DocKind::Walk))?;
        let doc = report::load_automerge_bounded(store.as_ref(), meta.id, max_ops)?;
        let catalog = report::load_catalog(store.as_ref());
        let mut body = report::walk_report(meta.id, &doc, &catalog)?;
        let rows = store.projection_rows(meta.id)?;
        body.walkers = report::walkers(&rows, |id| {
            let id = crate::domain::UserId::parse(id).ok()?;
            store.user_by_id(&id).ok().flatten().map(|u| u.display_name)
        });
        Ok::<_, ApiError>(body)
    })
    .await?;
    Ok(json_ok(&body))
}
