//! `GET /api/v1/geocode/reverse?lat=&lon=` and `GET /api/v1/geocode/search?q=`
//! (every signed-in account): the nearest address of a position and the
//! coordinator map's address search, asked of the configured address
//! service by [`crate::geocode`]. When the service is off or does not
//! answer, the app goes on with coordinates (503 with a stable code).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::items::query_pairs;
use crate::domain::Principal;
use crate::edge::ApiError;
use crate::geocode::{GeocodeError, Place, RoundedPosition, check_search_words};
use crate::state::AppState;

/// Registers both routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/geocode/reverse", web::get().to(reverse))
        .route("/api/v1/geocode/search", web::get().to(search));
}

fn api_error(e: GeocodeError) -> ApiError {
    match e {
        GeocodeError::Off => ApiError::Unavailable {
            code: "geocoding_off",
            message: "Looking up addresses is switched off on this server; positions are shown as coordinates.",
        },
        GeocodeError::Unreachable(_) => ApiError::Unavailable {
            code: "geocoding_unavailable",
            message: "The address service did not answer; positions are shown as coordinates. Try again later.",
        },
        GeocodeError::BadAnswer => ApiError::Unavailable {
            code: "geocoding_bad_answer",
            message: "The address service sent an answer Wijklog cannot read; positions are shown as coordinates.",
        },
        GeocodeError::Busy => ApiError::Unavailable {
            code: "busy",
            message: "The server is busy looking up other addresses. Try again in a moment.",
        },
        GeocodeError::RateLimited { retry_after_secs } => ApiError::TooMany {
            code: "geocoding_rate_limited",
            message: "This account looked up many addresses in the last minute. Try again shortly.",
            retry_after_secs,
        },
    }
}

#[derive(Serialize)]
struct ReverseAnswer {
    address: Option<Place>,
}

#[derive(Serialize)]
struct SearchAnswer {
    results: Vec<Place>,
}

fn coordinate(
    name: &'static str,
    v: Option<String>,
    message: &'static str,
) -> Result<f64, ApiError> {
    v.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .ok_or(ApiError::param(name, message))
}

/// `GET /api/v1/geocode/reverse?lat=&lon=`: `{"address": Place | null}`.
#[tracing::instrument(name = "geocode.reverse", skip_all)]
async fn reverse(
    who: Principal,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (mut lat, mut lon) = (None, None);
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "lat" => lat = Some(v),
            "lon" => lon = Some(v),
            _ => return Err(ApiError::unknown_query()),
        }
    }
    let lat = coordinate("lat", lat, "lat must be a latitude between -90 and 90.")?;
    let lon = coordinate("lon", lon, "lon must be a longitude between -180 and 180.")?;
    let at = RoundedPosition::new(lat, lon).ok_or_else(|| {
        if (-90.0..=90.0).contains(&lat) {
            ApiError::param("lon", "lon must be a longitude between -180 and 180.")
        } else {
            ApiError::param("lat", "lat must be a latitude between -90 and 90.")
        }
    })?;
    let address = state
        .geocoder
        .reverse(who.user_id.as_str(), at)
        .await
        .map_err(api_error)?;
    Ok(private_json(&ReverseAnswer { address }))
}

/// `GET /api/v1/geocode/search?q=`: `{"results": [Place]}` (at most 5).
#[tracing::instrument(name = "geocode.search", skip_all)]
async fn search(
    who: Principal,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut q = None;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "q" => q = Some(v),
            _ => return Err(ApiError::unknown_query()),
        }
    }
    let q = q.unwrap_or_default();
    let words = check_search_words(&q).map_err(|m| ApiError::param("q", m))?;
    let results = state
        .geocoder
        .search(who.user_id.as_str(), words)
        .await
        .map_err(api_error)?;
    Ok(private_json(&SearchAnswer { results }))
}

/// JSON that no shared cache keeps (the position is in the URL).
fn private_json(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(body)
}
