//! [`ApiError`]: the one error type of every REST endpoint, answered as
//! `{"code","message"}` ([`ErrorBody`]) with a stable code and status; the
//! cause goes to the log only. The codes and sentences are listed in
//! docs/api.md.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::auth::AuthError;
use crate::blobs::BlobError;
use crate::blobs::sniff::SniffError;
use crate::storage::StoreError;

/// The JSON error body of every REST endpoint: `{"code","message"}`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable code.
    pub code: String,
    /// Human sentence.
    pub message: String,
}

/// Errors of the REST endpoints (auth, items, review, exports, admin, stats,
/// mail, access changes, client config, photos).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Login, tokens, and a request without a valid session.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Photos: upload, download, thumbnails.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The caller's roles do not allow this endpoint.
    #[error("forbidden")]
    Forbidden,
    /// Unknown, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// A query parameter or body field is invalid.
    #[error("invalid parameter {param}")]
    InvalidParam {
        /// The parameter's name.
        param: &'static str,
        /// The sentence for the client.
        message: &'static str,
    },
    /// The request conflicts with the current state (e.g. a taken username).
    #[error("conflict: {code}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Sentence for the client.
        message: &'static str,
    },
    /// The document holds more operations than a review read may load.
    #[error("document too large")]
    DocumentTooLarge,
    /// Well-formed but refused by a rule (e.g. a guessable password): 422.
    #[error("refused: {code}")]
    Refused {
        /// Stable code.
        code: &'static str,
        /// Sentence for the client.
        message: &'static str,
    },
    /// A feature that is switched off on this server (e.g. mail without SMTP).
    #[error("unavailable: {code}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// Sentence for the client.
        message: &'static str,
    },
    /// Too many requests from this address or in all: 429 with `Retry-After`.
    #[error("too many requests: {code}")]
    TooMany {
        /// Stable code.
        code: &'static str,
        /// Sentence for the client.
        message: &'static str,
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The request body is larger than the endpoint takes: 413.
    #[error("too large: {code}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// Sentence for the client.
        message: &'static str,
    },
    /// Database, blocking pool, stored data that does not load.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        if crate::storage::SqliteOnly::is(&e) {
            return crate::storage::SqliteOnly.into();
        }
        ApiError::Internal(e.into())
    }
}

impl From<crate::storage::SqliteOnly> for ApiError {
    fn from(_: crate::storage::SqliteOnly) -> Self {
        ApiError::Unavailable {
            code: "sqlite_only",
            message: "This part of Wijklog is not available yet on an installation that runs on PostgreSQL.",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Sqlite(e) if crate::storage::SqliteOnly::is(&e) => {
                crate::storage::SqliteOnly.into()
            }
            // A step the PostgreSQL backend does not have yet (the history
            // rewrite of an erasure): the same stable answer as the layers
            // that read the SQLite file.
            StoreError::Unsupported(_) => crate::storage::SqliteOnly.into(),
            e if e.is_storage_full() => ApiError::Unavailable {
                code: "storage_full",
                message: "The server's disk is full: nothing was saved. Try again later.",
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(e.into())
    }
}

/// The sentence for a request body that is not JSON of the endpoint's shape
/// (not JSON, not an object, a field of the wrong type or missing), the same
/// on every endpoint that takes a JSON body.
pub const BAD_BODY: &str = "The request body is not a JSON object of the expected shape.";

/// The JSON request body of an endpoint as `T`, or 400 `invalid_parameter`
/// with [`BAD_BODY`]. The body text never reaches the log (it may hold a
/// password or a resident's details).
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_body())
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidParam`].
    pub fn param(param: &'static str, message: &'static str) -> Self {
        ApiError::InvalidParam { param, message }
    }

    /// 400 `invalid_parameter` (`body`) with [`BAD_BODY`].
    pub fn bad_body() -> Self {
        ApiError::param("body", BAD_BODY)
    }

    /// 400 `invalid_parameter` (`query`): a query parameter the endpoint
    /// does not take, with the same sentence on every endpoint.
    pub fn unknown_query() -> Self {
        ApiError::param(
            "query",
            "The request has a query parameter this endpoint does not know.",
        )
    }

    /// The stable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Auth(e) => e.code(),
            ApiError::Blob(e) => e.code(),
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::InvalidParam { .. } => "invalid_parameter",
            ApiError::Conflict { code, .. } => code,
            ApiError::DocumentTooLarge => "document_too_large",
            ApiError::Refused { code, .. } => code,
            ApiError::Unavailable { code, .. } => code,
            ApiError::TooMany { code, .. } => code,
            ApiError::TooLarge { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }

    /// The sentence sent to clients (never internal details).
    pub fn message(&self) -> &'static str {
        match self {
            ApiError::Auth(e) => e.message(),
            ApiError::Blob(e) => e.message(),
            ApiError::Forbidden => "Your role does not allow this.",
            ApiError::NotFound => "Not found.",
            ApiError::InvalidParam { message, .. } => message,
            ApiError::Conflict { message, .. } => message,
            ApiError::DocumentTooLarge => {
                "This document has more operations than the server reads at once."
            }
            ApiError::Refused { message, .. } => message,
            ApiError::Unavailable { message, .. } => message,
            ApiError::TooMany { message, .. } => message,
            ApiError::TooLarge { message, .. } => message,
            ApiError::Internal(_) => "Something went wrong on the server.",
        }
    }

    /// Seconds a client should wait before retrying, where the answer says.
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::Auth(AuthError::RateLimited { retry_after_secs }) => Some(*retry_after_secs),
            ApiError::Auth(AuthError::Busy) | ApiError::Blob(BlobError::Busy) => Some(2),
            ApiError::Auth(AuthError::StorageFull) => Some(60),
            ApiError::Blob(e) if e.is_storage_full() => Some(60),
            ApiError::TooMany {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Unavailable { code: "busy", .. } => Some(2),
            ApiError::Unavailable {
                code: "storage_full",
                ..
            } => Some(60),
            _ => None,
        }
    }
}

fn auth_status(e: &AuthError) -> StatusCode {
    match e {
        AuthError::Unauthenticated(_)
        | AuthError::Revoked
        | AuthError::SessionEnded
        | AuthError::InvalidCredentials
        | AuthError::InvalidRefreshToken
        | AuthError::TokenReused => StatusCode::UNAUTHORIZED,
        AuthError::AccountDisabled => StatusCode::FORBIDDEN,
        AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AuthError::Busy | AuthError::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
        AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn blob_status(e: &BlobError) -> StatusCode {
    if e.is_storage_full() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match e {
        BlobError::InvalidHash(_) | BlobError::Incomplete => StatusCode::BAD_REQUEST,
        BlobError::HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        BlobError::UnsupportedType(SniffError::TooManyPixels { .. }) => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        BlobError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        BlobError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        BlobError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        BlobError::NotFound => StatusCode::NOT_FOUND,
        BlobError::Forbidden => StatusCode::FORBIDDEN,
        BlobError::Db(_)
        | BlobError::Store(_)
        | BlobError::Io(_)
        | BlobError::Thumbnail(_)
        | BlobError::Join(_)
        | BlobError::Audit(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Auth(e) => auth_status(e),
            ApiError::Blob(e) => blob_status(e),
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::InvalidParam { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let internal = status == StatusCode::INTERNAL_SERVER_ERROR;
        match self {
            // Photo refusals are worth a line at info level (which code);
            // the details never carry personal data.
            ApiError::Blob(e) if !internal => {
                tracing::info!(code = e.code(), error = %e, "blob request refused")
            }
            // The inner error, so that the log shows its cause chain.
            ApiError::Auth(e) => crate::telemetry::log_error_chain_at(e, internal),
            ApiError::Blob(e) => crate::telemetry::log_error_chain_at(e, internal),
            other => crate::telemetry::log_error_chain_at(other, internal),
        }
        let mut res = HttpResponse::build(status);
        if let Some(secs) = self.retry_after_secs() {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(ErrorBody {
            code: self.code().into(),
            message: self.message().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_the_backend_lacks_is_503_sqlite_only_not_internal() {
        let e = ApiError::from(StoreError::Unsupported("history rewrite"));
        assert_eq!(e.code(), "sqlite_only");
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
