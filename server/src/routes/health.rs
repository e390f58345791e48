//! `GET /healthz` (process up), `GET /readyz` (database writable and
//! migrated), `GET /metrics` (Prometheus text format).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::edge::ErrorBody;
use crate::state::AppState;

/// 200 `{"status":"ok","version"}` while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// 200 `{"status":"ready"}` if a write transaction commits on a current
/// schema; 503 `{"status":"not_ready"}` otherwise (cause in the log);
/// 503 `{"status":"shutting_down"}` once a graceful shutdown started.
#[tracing::instrument(skip(state))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.shutdown.is_triggered() {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "shutting_down"}));
    }
    match state.blocking(|store| store.check_ready()).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => {
            crate::telemetry::log_error_chain_at(&e, true);
            HttpResponse::ServiceUnavailable().json(json!({"status": "not_ready"}))
        }
    }
}

/// The metrics in the Prometheus text format, for requests bearing
/// `http.metrics_token`; without a configured token the endpoint does not
/// exist (404), a wrong or missing token is 401.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(expected) = &state.config.http.metrics_token else {
        return HttpResponse::NotFound().json(ErrorBody {
            code: "not_found".into(),
            message: "Not found.".into(),
        });
    };
    let given = crate::edge::bearer_token(&req).unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
        return HttpResponse::Unauthorized().json(ErrorBody {
            code: "unauthenticated".into(),
            message: "GET /metrics needs the configured metrics token.".into(),
        });
    }
    match state.metrics.encode() {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// Byte-wise comparison whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
