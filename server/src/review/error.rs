//! [`ReviewError`]: the errors of the review and admin endpoints, answered
//! as `{"code","message"}` with a stable code; causes go to the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::auth::{AuthError, ErrorBody};
use crate::storage::StoreError;

/// Errors of the review (`/items`, `/stats`, `/export.*`, `/walks`,
/// `/feedback`) and admin (`/admin/...`) endpoints.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No or invalid access token, revoked session.
    #[error(transparent)]
    Auth(#[from] AuthError),
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
    /// Database, blocking pool, stored data that does not load.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<rusqlite::Error> for ReviewError {
    fn from(e: rusqlite::Error) -> Self {
        ReviewError::Internal(e.into())
    }
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => ReviewError::NotFound,
            other => ReviewError::Internal(other.into()),
        }
    }
}

impl From<tokio::task::JoinError> for ReviewError {
    fn from(e: tokio::task::JoinError) -> Self {
        ReviewError::Internal(e.into())
    }
}

impl ReviewError {
    /// Shorthand for [`ReviewError::InvalidParam`].
    pub fn param(param: &'static str, message: &'static str) -> Self {
        ReviewError::InvalidParam { param, message }
    }

    /// The stable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::Auth(e) => e.code(),
            ReviewError::Forbidden => "forbidden",
            ReviewError::NotFound => "not_found",
            ReviewError::InvalidParam { .. } => "invalid_parameter",
            ReviewError::Conflict { code, .. } => code,
            ReviewError::DocumentTooLarge => "document_too_large",
            ReviewError::Refused { code, .. } => code,
            ReviewError::Unavailable { code, .. } => code,
            ReviewError::Internal(_) => "internal",
        }
    }

    /// The sentence sent to clients.
    pub fn message(&self) -> &'static str {
        match self {
            ReviewError::Auth(e) => e.message(),
            ReviewError::Forbidden => "Your role does not allow this.",
            ReviewError::NotFound => "Not found.",
            ReviewError::InvalidParam { message, .. } => message,
            ReviewError::Conflict { message, .. } => message,
            ReviewError::DocumentTooLarge => {
                "This document has more operations than the server reads at once."
            }
            ReviewError::Refused { message, .. } => message,
            ReviewError::Unavailable { message, .. } => message,
            ReviewError::Internal(_) => "Something went wrong on the server.",
        }
    }
}

impl ResponseError for ReviewError {
    fn status_code(&self) -> StatusCode {
        match self {
            ReviewError::Auth(e) => e.status_code(),
            ReviewError::Forbidden => StatusCode::FORBIDDEN,
            ReviewError::NotFound => StatusCode::NOT_FOUND,
            ReviewError::InvalidParam { .. } => StatusCode::BAD_REQUEST,
            ReviewError::Conflict { .. } => StatusCode::CONFLICT,
            ReviewError::DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ReviewError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ReviewError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ReviewError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ReviewError::Auth(e) = self {
            return e.error_response();
        }
        crate::telemetry::log_error_chain_at(self, matches!(self, ReviewError::Internal(_)));
        HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code().into(),
            message: self.message().into(),
        })
    }
}
