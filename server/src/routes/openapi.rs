//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the REST API
//! (`server/openapi.json`, compiled in). `server/tests/review_openapi.rs`
//! keeps it in step with the registered routes, both ways.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The document, as shipped.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/openapi.json", web::get().to(openapi));
}

/// `GET /api/v1/openapi.json` (public: it describes, it does not reveal).
#[tracing::instrument(name = "openapi.get", skip_all)]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(OPENAPI_JSON)
}
