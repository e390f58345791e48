//! `GET /api/v1/export.csv` and `GET /api/v1/export.geojson`: the filtered
//! list (the same filters as `GET /api/v1/items`) as a download, for
//! coordinators. Every export is audited (`export.csv` / `export.geojson`:
//! the filters, the row count, and with `include_personal=true` the reason
//! and the items whose resident contact details were included). Resident
//! contact columns need `include_personal=true` AND a non-empty `reason`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::items::{audit, blocking, coordinator, query_pairs};
use crate::review::query::{Filters, check_names};
use crate::review::{ReviewError, Scope, export};
use crate::state::AppState;

/// Registers the export routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/export.csv", web::get().to(csv))
        .route("/api/v1/export.geojson", web::get().to(geojson));
}

/// Longest accepted reason.
const MAX_REASON: usize = 500;

/// `GET /api/v1/export.csv`.
#[tracing::instrument(name = "export.csv", skip_all)]
async fn csv(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ReviewError> {
    let who = coordinator(&req, &state).await?;
    let params = query_pairs(&req)?;
    check_names(&params, &["include_personal", "reason"])?;
    let filters = Filters::parse(&params)?;
    let mut include_personal = false;
    let mut reason = String::new();
    for (k, v) in &params {
        match k.as_str() {
            "include_personal" => {
                include_personal = match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ReviewError::param(
                            "include_personal",
                            "Expected true or false.",
                        ));
                    }
                }
            }
            "reason" => reason = v.trim().to_owned(),
            _ => {}
        }
    }
    if include_personal && reason.is_empty() {
        return Err(ReviewError::param(
            "reason",
            "Exporting resident contact details needs a reason.",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ReviewError::param("reason", "The reason is too long."));
    }
    let scope = Scope::of(&who);
    let db = state.review.clone();
    let f = filters.clone();
    let (bytes, summary) =
        blocking(move || db.with_conn(|c| export::write_csv(c, &scope, &f, include_personal)))
            .await?;
    let mut detail = json!({
        "filters": filters,
        "count": summary.count,
        "include_personal": include_personal,
    });
    if include_personal {
        detail["reason"] = reason.into();
        detail["personal_items"] = summary.personal_items.into();
    }
    audit(&state, &who.user_id, "export.csv", None, detail).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"wijklog-export.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

/// `GET /api/v1/export.geojson`.
#[tracing::instrument(name = "export.geojson", skip_all)]
async fn geojson(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ReviewError> {
    let who = coordinator(&req, &state).await?;
    let params = query_pairs(&req)?;
    check_names(&params, &[])?;
    let filters = Filters::parse(&params)?;
    let scope = Scope::of(&who);
    let db = state.review.clone();
    let f = filters.clone();
    let (body, summary) =
        blocking(move || db.with_conn(|c| export::write_geojson(c, &scope, &f))).await?;
    audit(
        &state,
        &who.user_id,
        "export.geojson",
        None,
        json!({"filters": filters, "count": summary.count, "include_personal": false}),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/geo+json"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"wijklog-export.geojson\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
