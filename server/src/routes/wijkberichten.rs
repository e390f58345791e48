//! The wijkberichten ("u meldde, wij deden", docs/api.md "Wijkberichten");
//! coordinators only. The residents' pages show the newest published one
//! of a wijk ([`super::public`], [`super::bewoners`]).
//!
//! - `POST /api/v1/wijkberichten` `{"wijk","from","to"}`: a new draft,
//!   written from the counts of the period (audited `wijkbericht.create`).
//! - `GET /api/v1/wijkberichten?wijk=&limit=`: the newest first.
//! - `GET /api/v1/wijkberichten/{id}`: one.
//! - `PUT /api/v1/wijkberichten/{id}` `{"text","version"}`: edit a draft.
//! - `POST /api/v1/wijkberichten/{id}/publish` and `/withdraw`
//!   `{"version"}` (audited `wijkbericht.publish` / `.withdraw`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::items::{json_ok, query_pairs};
use crate::domain::now_ms;
use crate::edge::{ApiError, PageLimit, RequireCoordinator, json_body};
use crate::review::report;
use crate::review::wijkbericht::{self, Change, Period};
use crate::state::{AppState, blocking};

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/wijkberichten", web::get().to(list))
        .route("/api/v1/wijkberichten", web::post().to(create))
        .route("/api/v1/wijkberichten/{id}", web::get().to(get))
        .route("/api/v1/wijkberichten/{id}", web::put().to(edit))
        .route(
            "/api/v1/wijkberichten/{id}/publish",
            web::post().to(publish),
        )
        .route(
            "/api/v1/wijkberichten/{id}/withdraw",
            web::post().to(withdraw),
        );
}

/// The list's largest page.
const PAGE: PageLimit = PageLimit::UP_TO_500;

fn id_of(path: &str) -> Result<i64, ApiError> {
    path.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::NotFound)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    wijk: String,
    from: String,
    to: String,
}

async fn create(
    RequireCoordinator(who): RequireCoordinator,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b: CreateBody = json_body(&body)?;
    let period = Period::parse(&b.from, &b.to)?;
    let store = state.store.clone();
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let w = blocking::<_, ApiError>(move || {
        let catalog = report::load_catalog(store.as_ref());
        if !catalog.wijken.contains_key(&b.wijk) {
            return Err(ApiError::param("wijk", "Unknown wijk."));
        }
        db.with_conn(|c| {
            let facts = wijkbericht::facts(c, &catalog, &b.wijk, &period)?;
            wijkbericht::create(c, &facts, &by, now_ms())
        })
    })
    .await?;
    let mut res = json_ok(&json!({ "wijkbericht": w }));
    *res.status_mut() = actix_web::http::StatusCode::CREATED;
    Ok(res)
}

async fn list(
    _: RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut wijk = None;
    let mut limit = 50;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "wijk" => wijk = Some(v),
            "limit" => limit = PAGE.parse(&v)?,
            _ => return Err(ApiError::unknown_query()),
        }
    }
    let db = state.review.clone();
    let list = blocking::<_, ApiError>(move || {
        db.with_conn(|c| wijkbericht::list(c, wijk.as_deref(), limit))
    })
    .await?;
    Ok(json_ok(&json!({ "wijkberichten": list })))
}

async fn get(
    _: RequireCoordinator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path)?;
    let db = state.review.clone();
    let w = blocking::<_, ApiError>(move || {
        db.with_conn(|c| wijkbericht::get(c, id))?
            .ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(json_ok(&json!({ "wijkbericht": w })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    text: String,
    version: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionBody {
    version: i64,
}

async fn change(
    who: &crate::domain::Principal,
    id: i64,
    version: i64,
    change: Change,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let w = blocking::<_, ApiError>(move || {
        db.with_conn(|c| wijkbericht::apply(c, id, version, &change, &by, now_ms()))
    })
    .await?;
    Ok(json_ok(&json!({ "wijkbericht": w })))
}

async fn edit(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path)?;
    let b: EditBody = json_body(&body)?;
    let text = wijkbericht::check_text(&b.text)?;
    change(&who, id, b.version, Change::Edit(text), &state).await
}

async fn publish(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path)?;
    let b: VersionBody = json_body(&body)?;
    change(&who, id, b.version, Change::Publish, &state).await
}

async fn withdraw(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path)?;
    let b: VersionBody = json_body(&body)?;
    change(&who, id, b.version, Change::Withdraw, &state).await
}
