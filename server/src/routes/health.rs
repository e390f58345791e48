//! `GET /healthz` (process up), `GET /readyz` (database writable and
//! migrated), `GET /metrics` (Prometheus text format).

use actix_web::{HttpResponse, web};
use serde_json::json;

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

/// The metrics in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match state.metrics.encode() {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
