//! `GET /api/v1/client-config` (public): settings the PWA reads at start,
//! from the `[map]` section of the configuration. Nothing in it is secret.
//!
//! `GET /api/v1/people` (coordinators): id, display name and team of every
//! account, so that the coordinator views can show and filter authors by
//! name. No usernames, roles or account state.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::items::json_ok;
use crate::edge::{ApiError, RequireCoordinator};
use crate::state::{AppState, blocking};

/// Registers both routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/client-config", web::get().to(client_config))
        .route("/api/v1/people", web::get().to(people));
}

#[derive(Serialize)]
struct MapView<'a> {
    tile_url: &'a str,
    attribution: &'a str,
    max_zoom: u8,
}

#[derive(Serialize)]
struct ClientConfig<'a> {
    map: MapView<'a>,
}

/// `GET /api/v1/client-config`.
#[tracing::instrument(name = "client_config.get", skip_all)]
async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    let map = &state.config.map;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(ClientConfig {
            map: MapView {
                tile_url: &map.tile_url,
                attribution: &map.attribution,
                max_zoom: map.max_zoom,
            },
        })
}

#[derive(Serialize)]
struct Person {
    id: String,
    name: String,
    team: Option<String>,
}

#[derive(Serialize)]
struct People {
    people: Vec<Person>,
}

/// `GET /api/v1/people`.
#[tracing::instrument(name = "people.list", skip_all)]
async fn people(
    _: RequireCoordinator,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let people = blocking(move || {
        db.with_conn(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, display_name, team FROM users ORDER BY display_name COLLATE NOCASE, id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Person {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        team: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, ApiError>(rows)
        })
    })
    .await?;
    Ok(json_ok(&People { people }))
}
