//! The caller of a REST request: the one place that reads the bearer token
//! and checks the session ([`Principal`] as an actix extractor), and the
//! role guards built on it ([`RequireCoordinator`], [`RequireAdmin`],
//! [`RequireContentReader`], [`RequireCoordinatorOrAdmin`]).
//!
//! A handler names what it needs in its arguments and never reads the
//! `Authorization` header itself:
//!
//! ```ignore
//! async fn people(who: RequireCoordinator, state: web::Data<AppState>) -> Result<HttpResponse, ApiError>
//! ```
//!
//! A missing or malformed header fails at the first poll, before any other
//! argument (a body) is looked at; a refused token answers 401 with the
//! code of [`AuthError`], a role that does not fit 403 `forbidden`.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::error::ApiError;
use crate::auth::{AuthError, Authenticator};
use crate::domain::Principal;

/// The token of an `Authorization` header value with the Bearer scheme: the
/// one parser. The scheme is case-insensitive (RFC 9110 11.1: `bearer`,
/// `BEARER` work); an empty token is none.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bearer token of a request (`Authorization: Bearer <token>`), if any.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    parse_bearer(req.headers().get(AUTHORIZATION)?.to_str().ok()?)
}

/// Authenticates a request by its bearer access token: signature, claims,
/// and that the user is enabled and the device neither revoked nor signed
/// out.
async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let token = bearer_token(req).ok_or(AuthError::Unauthenticated(None))?;
    // The application's one Authenticator (registered beside the state in
    // `crate::startup`), so the edge needs nothing of the state's other parts.
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no authenticator")))?;
    auth.verify_access(token).await.map_err(|e| {
        // The reason (expired, bad signature, ...) never includes the token.
        tracing::info!(error = %e, reason = ?std::error::Error::source(&e).map(ToString::to_string), "access token refused");
        ApiError::Auth(e)
    })
}

/// The authenticated caller, with any role.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

/// Defines a guard: an extractor that yields the caller when `rule` allows
/// them, else 403 `forbidden`.
macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let who = authenticate(&req).await?;
                    let rule: fn(&Principal) -> bool = $rule;
                    if rule(&who) { Ok($name(who)) } else { Err(ApiError::Forbidden) }
                })
            }
        }

        impl std::ops::Deref for $name {
            type Target = Principal;
            fn deref(&self) -> &Principal {
                &self.0
            }
        }
    };
}

role_guard!(
    /// A coordinator ([`Principal::is_coordinator`]).
    RequireCoordinator,
    Principal::is_coordinator
);
role_guard!(
    /// An admin ([`Principal::is_admin`]).
    RequireAdmin,
    Principal::is_admin
);
role_guard!(
    /// Someone who may read content: lists, items, history, walk reports
    /// ([`Principal::may_read_content`]).
    RequireContentReader,
    Principal::may_read_content
);
role_guard!(
    /// A coordinator or an admin (the mail templates).
    RequireCoordinatorOrAdmin,
    |who| who.is_coordinator() || who.is_admin()
);

#[cfg(test)]
mod tests {
    use super::parse_bearer;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_must_not_be_empty() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("BEARER  abc "), Some("abc"));
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearerabc"), None);
        assert_eq!(parse_bearer(""), None);
    }
}
