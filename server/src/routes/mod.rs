//! HTTP routes, split by feature. Versioned API under `/api/v1`.

pub mod access;
pub mod admin;
pub mod auth;
pub mod bewoners;
pub mod blobs;
pub mod client_config;
pub mod documents;
pub mod erase;
pub mod export;
pub mod geocode;
pub mod health;
pub mod items;
pub mod mail;
pub mod openapi;
pub mod public;
pub mod reports;
pub mod resident_points;
pub mod static_files;
pub mod stats;
pub mod wijkberichten;

use actix_web::{HttpResponse, web};

use crate::edge::{BAD_BODY, ErrorBody};

/// Registers the REST routes (not the static files, which go last).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(health::metrics)))
        .service(
            web::scope("/api/v1/auth")
                .app_data(json_config())
                .route("/login", web::post().to(auth::login))
                .route("/refresh", web::post().to(auth::refresh))
                .route("/logout", web::post().to(auth::logout))
                .route("/me", web::get().to(auth::me)),
        );
    blobs::configure(cfg);
    client_config::configure(cfg);
    geocode::configure(cfg);
    items::configure(cfg);
    documents::configure(cfg);
    erase::configure(cfg);
    mail::configure(cfg);
    stats::configure(cfg);
    export::configure(cfg);
    reports::configure(cfg);
    admin::configure(cfg);
    access::configure(cfg);
    openapi::configure(cfg);
    public::configure(cfg);
    bewoners::configure(cfg);
    resident_points::configure(cfg);
    wijkberichten::configure(cfg);
}

/// JSON bodies of the auth endpoints: small, and malformed ones answered
/// with the usual `{"code","message"}` body.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(16 * 1024)
        .error_handler(|err, _req| {
            // The error text may quote the body (a password), so it is not logged.
            tracing::info!("malformed JSON body");
            // The auth endpoints' own code (docs/api.md), the sentence of
            // every endpoint's bad body.
            let body = ErrorBody {
                code: "invalid_request".into(),
                message: BAD_BODY.into(),
            };
            actix_web::error::InternalError::from_response(
                err,
                HttpResponse::BadRequest().json(body),
            )
            .into()
        })
}
