//! The HTTP edge: what bounds a hostile client before any handler runs.
//!
//! - [`gate::WorkGate`]: global bounds on expensive work (Argon2id, image
//!   decoding) with a bounded queue; beyond it, 503 `busy`.
//! - [`http`]: the middleware every request passes: at most
//!   `http.max_requests_per_address` requests in flight per client address
//!   (429 `too_many_requests`), request bodies that must keep arriving
//!   (408 `body_timeout`), and the security headers (CSP, nosniff,
//!   frame-ancestors, Referrer-Policy).
//! - the listener settings (header timeout, keep-alive, connection cap) are
//!   applied in [`crate::startup`] from [`crate::config::HttpConfig`].
//! - [`caller`]: who is calling ([`crate::domain::Principal`] as an extractor,
//!   the one bearer-token parser) and the role guards handlers name in
//!   their arguments.
//! - [`error`]: [`ApiError`], the one error type of the REST endpoints, and
//!   its `{"code","message"}` body; [`json_body`], the one reader of a JSON
//!   request body (one answer for a body of the wrong shape).
//! - [`PageLimit`]: the one rule and sentence for a list's `limit`.
//! - [`time_param`]: the one rule and sentence for a time in a query.
//!
//! See docs/security.md and docs/operations.md.

mod blocking;
pub mod caller;
pub mod error;
pub mod gate;
pub mod http;
mod limit;
mod time;

pub use blocking::blocking;
pub use caller::{
    RequireAdmin, RequireContentReader, RequireCoordinator, RequireCoordinatorOrAdmin,
    bearer_token, parse_bearer,
};
pub use error::{ApiError, BAD_BODY, ErrorBody, json_body};
pub use limit::PageLimit;
pub use time::{MAX_TIME_MS, TIME_SENTENCE, time_param};
