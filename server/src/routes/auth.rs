//! `POST /api/v1/auth/login`, `/refresh`, `/logout` (docs/api.md).
//!
//! Login creates a device (one per login) with its first refresh token;
//! refresh rotates the token (the old one becomes used; presenting a used
//! one again revokes the device: `token_reused`, except a retry of the
//! just-used token within `auth.refresh_reuse_grace_secs` while its
//! successor is still unused: the first answer was lost, and the retry gets
//! the *same* successor again, never a second one); logout revokes the device.

use std::net::IpAddr;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::AuthError;
use crate::auth::rate_limit::Attempt;
use crate::auth::refresh::{self, NewRefreshToken};
use crate::auth::{password, trust};
use crate::domain::now_ms;
use crate::domain::{Principal, UserView};
use crate::edge::ApiError;
use crate::state::{AppState, BlockingError, blocking};
use crate::storage::{AuditEntry, Device, RefreshOutcome, User};

/// Longest username / password / device name accepted.
const MAX_USERNAME: usize = 100;
const MAX_PASSWORD: usize = 1024;
const MAX_DEVICE_NAME: usize = 100;

/// Login body. `Debug` hides the password.
#[derive(Deserialize)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// A name for this device ("telefoon Anna"); optional.
    pub device_name: Option<String>,
    /// The login-trust token an earlier login to this account gave this
    /// client (exempts it from the account-wide lockout; see
    /// `crate::auth::rate_limit`); optional.
    #[serde(default)]
    pub login_trust: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest([redacted])")
    }
}

/// Refresh and logout body.
#[derive(Deserialize)]
pub struct RefreshRequest {
    /// The opaque refresh token.
    pub refresh_token: String,
}

/// The answer of login and refresh.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// JWT access token.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque refresh token (single use).
    pub refresh_token: String,
    /// The user.
    pub user: UserViewOwned,
    /// The device (login) id.
    pub device_id: String,
    /// Login answers only: a login-trust token for this account; the client
    /// keeps it and sends it with its next login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_trust: Option<String>,
}

/// Owned, deserializable copy of [`UserView`] (for clients and tests).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserViewOwned {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Team.
    pub team: Option<String>,
}

impl From<UserView> for UserViewOwned {
    fn from(v: UserView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            roles: v.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            team: v.team,
        }
    }
}

fn internal<E: std::error::Error + Send + Sync + 'static>(e: BlockingError<E>) -> AuthError {
    AuthError::Internal(anyhow::Error::new(e))
}

/// A store step failed: a full disk keeps its own answer (`storage_full`).
fn store_failed(e: BlockingError<crate::storage::StoreError>) -> AuthError {
    match e {
        BlockingError::Inner(e) => e.into(),
        other => internal(other),
    }
}

fn client_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Counts an error sent to a client (`wijklog_errors_total{code}`).
fn counted(state: &AppState, e: impl Into<ApiError>) -> ApiError {
    let e = e.into();
    state.metrics.count_error(e.code());
    e
}

fn principal_for(user: &User, device: &Device) -> Principal {
    Principal {
        user_id: user.id.clone(),
        name: user.display_name.clone(),
        roles: user.roles.clone(),
        team: user.team.clone(),
        device_id: device.id.clone(),
    }
}

fn token_response(
    state: &AppState,
    who: &Principal,
    refresh: NewRefreshToken,
    login_trust: Option<String>,
) -> Result<HttpResponse, AuthError> {
    let keys = state.auth.keys();
    let access = keys.issue(who).map_err(|e| AuthError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: keys.ttl_secs(),
            refresh_token: refresh.token,
            user: who.view().into(),
            device_id: who.device_id.to_string(),
            login_trust,
        }))
}

fn refresh_expiry(state: &AppState) -> i64 {
    let days = i64::try_from(state.config.auth.refresh_ttl_days).unwrap_or(i64::MAX / 86_400_000);
    now_ms().saturating_add(days.saturating_mul(86_400_000))
}

/// Gives a login attempt's counted failure back: it was never evaluated
/// (`succeeded` false) or the password was right. Bookkeeping only: if the
/// counters cannot be reached the attempt stays counted, and the login
/// goes on.
async fn give_back(state: &AppState, attempt: Attempt, succeeded: bool) {
    let limiter = state.login_limiter.clone();
    let done = blocking(move || {
        if succeeded {
            limiter.succeeded(attempt)
        } else {
            limiter.cancel(attempt)
        }
        .map_err(BlockingError::Inner)
    })
    .await;
    if let Err(e) = done {
        tracing::warn!(error = ?e, "could not give a login attempt back to the rate limiter");
    }
}

/// `POST /api/v1/auth/login`.
#[tracing::instrument(name = "auth.login", skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let state = state.into_inner();
    let LoginRequest {
        username,
        password,
        device_name,
        login_trust,
    } = body.into_inner();
    let username = username.trim().to_owned();
    if username.is_empty()
        || username.len() > MAX_USERNAME
        || password.is_empty()
        || password.len() > MAX_PASSWORD
    {
        return Err(counted(
            &state,
            AuthError::InvalidRequest("username and password are required"),
        ));
    }
    let device_name = device_name
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_DEVICE_NAME)
        .collect::<String>();
    let device_name = if device_name.is_empty() {
        "onbekend apparaat".to_owned()
    } else {
        device_name
    };
    let ip = client_ip(&req);
    let trust_id = login_trust
        .as_deref()
        .and_then(|t| trust::verify(state.auth.keys().trust_key(), &username, t));

    // Counted before the password is checked: parallel guesses beyond the
    // budget are refused here and never reach Argon2.
    // On PostgreSQL the counters are in the database, shared by every node.
    let limiter = state.login_limiter.clone();
    let account = username.clone();
    let verdict = blocking(move || {
        limiter
            .begin(&account, ip, trust_id, now_ms())
            .map_err(BlockingError::Inner)
    })
    .await
    .map_err(|e| counted(&state, internal(e)))?;
    let attempt = match verdict {
        Ok(attempt) => attempt,
        Err(retry_after_secs) => {
            state.metrics.login_failures.inc();
            tracing::warn!("login refused by rate limit");
            return Err(counted(&state, AuthError::RateLimited { retry_after_secs }));
        }
    };
    // One Argon2id at a time per core (19 MiB each), a bounded queue, then 503.
    let permit = match state.password_gate.acquire().await {
        Ok(permit) => permit,
        Err(_) => {
            give_back(&state, attempt, false).await;
            tracing::warn!("login refused: password checks queue full");
            return Err(counted(&state, AuthError::Busy));
        }
    };

    let lookup_name = username.clone();
    let checked: Option<User> = state
        .blocking(move |store| {
            let _permit = permit;
            let user = store.user_by_username(&lookup_name)?;
            let hash = user
                .as_ref()
                .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
            let ok = password::verify_password(&password, hash);
            Ok::<_, crate::storage::StoreError>(user.filter(|_| ok))
        })
        .await
        .map_err(|e| counted(&state, internal(e)))?;

    let Some(user) = checked else {
        // The attempt stays counted as a failure.
        drop(attempt);
        state.metrics.login_failures.inc();
        tracing::info!("login failed: invalid credentials");
        return Err(counted(&state, AuthError::InvalidCredentials));
    };
    if user.disabled {
        drop(attempt);
        state.metrics.login_failures.inc();
        tracing::info!(user_id = %user.id, "login refused: account disabled");
        return Err(counted(&state, AuthError::AccountDisabled));
    }
    give_back(&state, attempt, true).await;
    let new_trust = trust::issue(state.auth.keys().trust_key(), &username);

    let token = refresh::generate().map_err(|e| counted(&state, AuthError::Internal(e.into())))?;
    let (hash, expires) = (token.hash, refresh_expiry(&state));
    let user_id = user.id.clone();
    let device = state
        .blocking(move |store| {
            let device = store.create_device(&user_id, &device_name, hash, expires)?;
            store.append_audit(AuditEntry {
                actor: Some(user_id.clone()),
                action: "auth.login".into(),
                subject: Some(device.id.to_string()),
                detail: serde_json::json!({}),
            })?;
            Ok::<_, crate::storage::StoreError>(device)
        })
        .await
        .map_err(|e| counted(&state, store_failed(e)))?;
    tracing::info!(user_id = %user.id, device_id = %device.id, "login");
    token_response(&state, &principal_for(&user, &device), token, new_trust)
        .map_err(|e| counted(&state, e))
}

/// `POST /api/v1/auth/refresh`.
#[tracing::instrument(name = "auth.refresh", skip_all)]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let state = state.into_inner();
    let Some(presented) = refresh::decode_presented(&body.refresh_token) else {
        return Err(counted(&state, AuthError::InvalidRefreshToken));
    };
    let old: [u8; 32] = Sha256::digest(presented).into();
    // Derived, not random: a retry of this refresh gets the same successor.
    let token = refresh::successor(state.auth.keys().successor_key(), &presented);
    let (new_hash, expires) = (token.hash, refresh_expiry(&state));
    let grace_ms = i64::try_from(state.config.auth.refresh_reuse_grace_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let outcome = state
        .blocking(move |store| {
            let outcome = store.rotate_refresh_token(old, new_hash, expires, grace_ms)?;
            if let RefreshOutcome::Reused { device_id } = &outcome {
                store.append_audit(AuditEntry {
                    actor: None,
                    action: "auth.refresh_reuse".into(),
                    subject: Some(device_id.to_string()),
                    detail: serde_json::json!({"effect": "device revoked"}),
                })?;
            }
            Ok::<_, crate::storage::StoreError>(outcome)
        })
        .await
        .map_err(|e| counted(&state, internal(e)))?;
    match outcome {
        RefreshOutcome::Rotated { user, device } => {
            tracing::info!(user_id = %user.id, device_id = %device.id, "refresh");
            token_response(&state, &principal_for(&user, &device), token, None)
                .map_err(|e| counted(&state, e))
        }
        RefreshOutcome::Reused { device_id } => {
            tracing::warn!(%device_id, "refresh token reused: device revoked");
            Err(counted(&state, AuthError::TokenReused))
        }
        RefreshOutcome::Revoked => Err(counted(&state, AuthError::Revoked)),
        RefreshOutcome::SignedOut => Err(counted(&state, AuthError::SessionEnded)),
        RefreshOutcome::Unknown | RefreshOutcome::Expired => {
            Err(counted(&state, AuthError::InvalidRefreshToken))
        }
    }
}

/// `POST /api/v1/auth/logout`: 204; the device is revoked. An unknown token
/// also answers 204 (nothing to revoke, nothing revealed).
#[tracing::instrument(name = "auth.logout", skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let state = state.into_inner();
    let Some(hash) = refresh::hash_presented(&body.refresh_token) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let device = state
        .blocking(move |store| {
            let device = store.revoke_by_refresh_token(hash)?;
            if let Some(id) = &device {
                store.append_audit(AuditEntry {
                    actor: None,
                    action: "auth.logout".into(),
                    subject: Some(id.to_string()),
                    detail: serde_json::json!({}),
                })?;
            }
            Ok::<_, crate::storage::StoreError>(device)
        })
        .await
        .map_err(|e| counted(&state, store_failed(e)))?;
    if let Some(device_id) = device {
        tracing::info!(%device_id, "logout: device revoked");
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/auth/me`: the authenticated user (checks the access token).
#[tracing::instrument(name = "auth.me", skip_all)]
pub async fn me(
    who: Result<Principal, ApiError>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = who.map_err(|e| counted(&state, e))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({"user": UserViewOwned::from(who.view()), "device_id": who.device_id})))
}
