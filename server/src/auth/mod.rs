//! Authentication and authorisation: Argon2id passwords ([`password`]),
//! HS256 access tokens ([`jwt`]), opaque rotating refresh tokens
//! ([`refresh`]) and login rate limiting ([`rate_limit`]). The caller and
//! the role rules are the domain's [`Principal`].
//!
//! The sync layer uses [`Authenticator::verify_access`] for the auth frame
//! and [`Authenticator::session_state`] to poll open connections
//! (every `config.auth.session_check_secs`).

pub mod jwt;
pub mod mac;
pub mod password;
pub mod rate_limit;
pub mod refresh;
pub mod secret;
pub mod trust;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use jwt::JwtKeys;

use crate::domain::{DeviceId, Principal, now_ms};
use crate::storage::{SessionState, Store, StoreError};

/// How often at most a device's contact is written to `devices.last_seen_at`.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Authentication failures, each with a stable code for clients.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No, malformed, expired or otherwise invalid access token.
    #[error("authentication required")]
    Unauthenticated(#[source] Option<jwt::TokenError>),
    /// The token is valid but the user is disabled or the device revoked.
    #[error("session revoked")]
    Revoked,
    /// The device's session was ended (password reset, role or team change):
    /// log in again; unlike [`AuthError::Revoked`] the device keeps its data.
    #[error("session ended")]
    SessionEnded,
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Right password, disabled account.
    #[error("account disabled")]
    AccountDisabled,
    /// Too many failed logins.
    #[error("too many failed logins")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// Unknown or expired refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A used refresh token was presented again: the device is revoked.
    #[error("refresh token reused")]
    TokenReused,
    /// Too many password checks queued (each costs 19 MiB and a core).
    #[error("server busy")]
    Busy,
    /// The request body is unusable.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The database's disk is full: nothing was stored (503 `storage_full`).
    #[error("storage full")]
    StorageFull,
    /// Anything else (database, blocking pool); details go to the log only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        if e.is_storage_full() {
            AuthError::StorageFull
        } else {
            AuthError::Internal(e.into())
        }
    }
}

impl AuthError {
    /// The stable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated(_) => "unauthenticated",
            AuthError::Revoked => "revoked",
            AuthError::SessionEnded => "session_ended",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::AccountDisabled => "account_disabled",
            AuthError::RateLimited { .. } => "rate_limited",
            AuthError::Busy => "busy",
            AuthError::InvalidRefreshToken => "invalid_refresh_token",
            AuthError::TokenReused => "token_reused",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::StorageFull => "storage_full",
            AuthError::Internal(_) => "internal",
        }
    }

    /// The sentence sent to clients (never internal details).
    pub fn message(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated(_) => "A valid access token is required.",
            AuthError::Revoked => "This device was signed out or the account was disabled.",
            AuthError::SessionEnded => {
                "Your password or roles were changed by an administrator; log in again."
            }
            AuthError::InvalidCredentials => "Unknown username or wrong password.",
            AuthError::AccountDisabled => "This account is disabled.",
            AuthError::RateLimited { .. } => "Too many failed logins; try again later.",
            AuthError::Busy => "The server is busy checking other logins; try again in a moment.",
            AuthError::InvalidRefreshToken => {
                "The refresh token is unknown or expired; log in again."
            }
            AuthError::TokenReused => {
                "This refresh token was already used; the device was signed out."
            }
            AuthError::InvalidRequest(_) => "The request body is not valid.",
            AuthError::StorageFull => {
                "The server's disk is full: nothing was saved. Try again later."
            }
            AuthError::Internal(_) => "Something went wrong on the server.",
        }
    }
}

/// Verifies access tokens against the keys and the database, and records
/// each device's last contact (at most once per [`TOUCH_EVERY`]).
#[derive(Debug, Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    keys: Arc<JwtKeys>,
    touched: Arc<Mutex<HashMap<DeviceId, Instant>>>,
}

impl Authenticator {
    /// Builds one from the store and the keys.
    pub fn new(store: Arc<dyn Store>, keys: Arc<JwtKeys>) -> Self {
        Self {
            store,
            keys,
            touched: Arc::default(),
        }
    }

    /// The signing keys.
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// Full check of an access token: signature, algorithm, claims (no DB),
    /// then that the user is enabled and the device neither revoked nor
    /// signed out (DB, on the blocking pool). Safe to call from async code.
    pub async fn verify_access(&self, token: &str) -> Result<Principal, AuthError> {
        let principal = self
            .keys
            .verify(token)
            .map_err(|e| AuthError::Unauthenticated(Some(e)))?;
        match self.session_state(&principal).await? {
            SessionState::Active => Ok(principal),
            SessionState::SignedOut => Err(AuthError::SessionEnded),
            SessionState::Revoked => Err(AuthError::Revoked),
        }
    }

    /// Whether the principal's session may continue (user enabled, device
    /// not revoked). Only tests ask this way; the server itself reads
    /// [`Authenticator::session_state`].
    #[cfg(any(test, feature = "testing"))]
    pub async fn session_valid(&self, who: &Principal) -> Result<bool, AuthError> {
        Ok(self.session_state(who).await? == SessionState::Active)
    }

    /// The principal's session state (see [`SessionState`]). Runs the query
    /// on the blocking pool; call it periodically for open connections.
    /// An active session counts as contact from the device: its
    /// `last_seen_at` is brought up to date (at most once a minute), so
    /// admins see when a phone last synced, not only when it last logged in.
    pub async fn session_state(&self, who: &Principal) -> Result<SessionState, AuthError> {
        let store = self.store.clone();
        let user = who.user_id.clone();
        let device = who.device_id.clone();
        let touched = self.touched.clone();
        tokio::task::spawn_blocking(move || {
            let state = store.session_state(&user, &device)?;
            if state == SessionState::Active && touch_due(&touched, &device) {
                // Bookkeeping only: a failed write never refuses the session.
                if let Err(e) = store.touch_device(&device, now_ms()) {
                    tracing::warn!(error = ?e, device_id = %device, "could not record device contact");
                }
            }
            Ok::<_, StoreError>(state)
        })
        .await
        .map_err(|e| AuthError::Internal(e.into()))?
        .map_err(AuthError::from)
    }
}

/// Whether the device's contact should be written now (and note that it is).
fn touch_due(touched: &Mutex<HashMap<DeviceId, Instant>>, device: &DeviceId) -> bool {
    let Ok(mut map) = touched.lock() else {
        return false;
    };
    let now = Instant::now();
    match map.get(device) {
        Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
        _ => {
            map.insert(device.clone(), now);
            true
        }
    }
}
