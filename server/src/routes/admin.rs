//! Admin endpoints (role `admin` only; every call is audited):
//! `GET/POST /api/v1/admin/users`, `PATCH /api/v1/admin/users/{id}`,
//! `POST /api/v1/admin/users/{id}/password`,
//! `GET /api/v1/admin/users/{id}/devices`,
//! `POST /api/v1/admin/devices/{id}/revoke` and `GET /api/v1/admin/audit`.
//!
//! Disabling an account or revoking a device revokes its devices: access
//! tokens are checked against the database on every request, and open sync
//! connections re-check every `auth.session_check_secs` and close with 4003
//! `revoked` (the device wipes). Resetting a password and changing roles or
//! team *sign out* the user's devices instead: their refresh and access
//! tokens are refused (`session_ended`) and open sync connections close with
//! 4001, so every device must log in again but keeps its unsent work. A name
//! change reaches the tokens at their next refresh.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::items::{audit, json_ok, query_pairs};
use crate::admin::{self, AuditFilter};
use crate::auth::password::hash_password;
use crate::domain::{DeviceId, Role, UserId};
use crate::edge::{ApiError, PageLimit, RequireAdmin};
use crate::state::{AppState, blocking};
use crate::storage::{NewUser, StoreError};

mod body;

use body::{AccountChange, NewAccount, NewPassword, PasswordBody};

/// The audit log's largest page.
const AUDIT_PAGE: PageLimit = PageLimit::UP_TO_1000;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/admin/users", web::get().to(list_users))
        .route("/api/v1/admin/users", web::post().to(create_user))
        .route("/api/v1/admin/users/{id}", web::patch().to(update_user))
        .route(
            "/api/v1/admin/users/{id}/password",
            web::post().to(set_password),
        )
        .route("/api/v1/admin/users/{id}/devices", web::get().to(devices))
        .route(
            "/api/v1/admin/devices/{id}/revoke",
            web::post().to(revoke_device),
        )
        .route("/api/v1/admin/audit", web::get().to(audit_log));
}

pub use crate::auth::password::MIN_PASSWORD_CHARS;

/// Hashes on the blocking pool, within the global bound on Argon2 work.
async fn hash(state: &AppState, password: NewPassword) -> Result<String, ApiError> {
    let permit = state
        .password_gate
        .acquire()
        .await
        .map_err(|_| ApiError::Auth(crate::auth::AuthError::Busy))?;
    blocking(move || {
        let _permit = permit;
        hash_password(&password.into_inner())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing failed: {e:?}")))
    })
    .await
}

/// `GET /api/v1/admin/users`.
#[tracing::instrument(name = "admin.users.list", skip_all)]
async fn list_users(
    RequireAdmin(who): RequireAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let users = blocking(move || db.with_conn(admin::list_accounts)).await?;
    audit(
        &state,
        &who.user_id,
        "admin.users.list",
        None,
        json!({"count": users.len()}),
    )
    .await?;
    Ok(json_ok(&json!({"users": users})))
}

/// `POST /api/v1/admin/users` `{username, name, password, roles, team?}` → 201.
#[tracing::instrument(name = "admin.users.create", skip_all)]
async fn create_user(
    RequireAdmin(who): RequireAdmin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let NewAccount {
        username,
        name,
        roles,
        team,
        password,
    } = NewAccount::from_body(&body)?;
    check_team(&state, team.as_deref()).await?;
    let password_hash = hash(&state, password).await?;
    let store = state.store.clone();
    let new = NewUser {
        username,
        display_name: name,
        password_hash,
        roles: roles.clone(),
        team: team.clone(),
    };
    let user = blocking(move || match store.create_user(new) {
        Ok(u) => Ok(u),
        Err(StoreError::AlreadyExists(_)) => Err(ApiError::Conflict {
            code: "username_taken",
            message: "This username is already taken.",
        }),
        Err(e) => Err(e.into()),
    })
    .await?;
    audit(
        &state,
        &who.user_id,
        "admin.user.create",
        Some(user.id.to_string()),
        json!({"roles": roles, "team": team}),
    )
    .await?;
    let db = state.review.clone();
    let id = user.id.to_string();
    let view = blocking(move || db.with_conn(|c| admin::account(c, &id)))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// `PATCH /api/v1/admin/users/{id}` `{name?, roles?, team?, disabled?}`.
#[tracing::instrument(name = "admin.users.update", skip_all)]
async fn update_user(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let change = AccountChange::from_body(&body)?;
    let fields = change.fields();
    let AccountChange {
        name,
        roles,
        team,
        disabled,
    } = change;
    if let Some(Some(t)) = &team {
        check_team(&state, Some(t)).await?;
    }
    let myself = who.user_id.as_str() == id;
    // Admins manage accounts, not content: an admin never grants themselves
    // a role that reads content (docs/privacy.md, docs/security.md).
    if myself
        && roles.as_ref().is_some_and(|r| {
            r.iter()
                .any(|role| *role != Role::Admin && !who.roles.contains(role))
        })
    {
        return Err(ApiError::Conflict {
            code: "self_grant",
            message: "You cannot give your own account a role that reads content; another admin must do that.",
        });
    }
    if myself
        && (disabled == Some(true) || roles.as_ref().is_some_and(|r| !r.contains(&Role::Admin)))
    {
        return Err(ApiError::Conflict {
            code: "self_lockout",
            message: "You cannot disable your own account or remove your own admin role.",
        });
    }
    let db = state.review.clone();
    let store = state.store.clone();
    let (uid, n, r, t) = (id.clone(), name.clone(), roles.clone(), team.clone());
    let (view, signed_out) = blocking::<_, ApiError>(move || {
        let current = db
            .with_conn(|c| admin::account(c, &uid))?
            .ok_or(ApiError::NotFound)?;
        // New roles or a new team change what the user may see: their
        // devices must log in again for tokens that say so. Signed out
        // first, so that a failure in between never leaves old tokens
        // valid under new roles.
        let roles_changed = r.as_ref().is_some_and(|r| {
            r.len() != current.roles.len() || r.iter().any(|x| !current.roles.contains(x))
        });
        let team_changed = t.as_ref().is_some_and(|t| *t != current.team);
        let mut signed_out = 0;
        if roles_changed || team_changed {
            let user = UserId::parse(&uid).map_err(|_| ApiError::NotFound)?;
            signed_out = store.end_sessions(&user)?;
        }
        db.with_conn(|c| {
            admin::update_account(
                c,
                &uid,
                n.as_deref(),
                r.as_deref(),
                t.as_ref().map(|t| t.as_deref()),
            )
        })?;
        if let Some(d) = disabled {
            store.set_user_disabled(&current.username, d)?;
        }
        let view = db
            .with_conn(|c| admin::account(c, &uid))?
            .ok_or(ApiError::NotFound)?;
        Ok((view, signed_out))
    })
    .await?;
    let mut detail = json!({ "fields": fields });
    if let Some(r) = &roles {
        detail["roles"] = json!(r);
    }
    if let Some(t) = &team {
        detail["team"] = json!(t);
    }
    if let Some(d) = disabled {
        detail["disabled"] = d.into();
    }
    if signed_out > 0 {
        detail["devices_signed_out"] = signed_out.into();
    }
    audit(&state, &who.user_id, "admin.user.update", Some(id), detail).await?;
    Ok(json_ok(&view))
}

/// `POST /api/v1/admin/users/{id}/password` `{password}` → 204. Every
/// device of the user is signed out (must log in again, keeps its data).
#[tracing::instrument(name = "admin.users.password", skip_all)]
async fn set_password(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = PasswordBody::read(&body)?;
    let store = state.store.clone();
    let uid = UserId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let user = blocking(move || store.user_by_id(&uid).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)?;
    let password = body.check(&[&user.username, &user.display_name])?;
    let phc = hash(&state, password).await?;
    let store = state.store.clone();
    blocking::<_, ApiError>(move || Ok(store.set_password_hash(&user.username, &phc)?)).await?;
    audit(
        &state,
        &who.user_id,
        "admin.user.password",
        Some(id),
        json!({}),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/admin/users/{id}/devices`.
#[tracing::instrument(name = "admin.devices.list", skip_all)]
async fn devices(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let uid = UserId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let store = state.store.clone();
    let list = blocking::<_, ApiError>(move || {
        store.user_by_id(&uid)?.ok_or(ApiError::NotFound)?;
        Ok(store.devices_of(&uid)?)
    })
    .await?;
    let devices: Vec<Value> = list
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "name": d.name,
                "created_at": d.created_at,
                "last_seen_at": d.last_seen_at,
                "revoked_at": d.revoked_at,
                "signed_out_at": d.signed_out_at,
            })
        })
        .collect();
    audit(
        &state,
        &who.user_id,
        "admin.devices.list",
        Some(id),
        json!({}),
    )
    .await?;
    Ok(json_ok(&json!({"devices": devices})))
}

/// `POST /api/v1/admin/devices/{id}/revoke` → 204.
#[tracing::instrument(name = "admin.devices.revoke", skip_all)]
async fn revoke_device(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let did = DeviceId::from_string(id.clone());
    let store = state.store.clone();
    let owner = blocking::<_, ApiError>(move || {
        let device = store.device(&did)?.ok_or(ApiError::NotFound)?;
        store.revoke_device(&did)?;
        Ok(device.user_id)
    })
    .await?;
    audit(
        &state,
        &who.user_id,
        "admin.device.revoke",
        Some(id),
        json!({"user": owner}),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/admin/audit?actor=&action=&subject=&from=&to=&before=&limit=`.
#[tracing::instrument(name = "admin.audit.read", skip_all)]
async fn audit_log(
    RequireAdmin(who): RequireAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut f = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };
    let int = |name: &'static str, v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| ApiError::param(name, "Expected an integer."))
    };
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "actor" => f.actor = Some(v),
            "action" => f.action = Some(v),
            "subject" => f.subject = Some(v),
            "from" => f.from = Some(crate::edge::time_param("from", &v)?),
            "to" => f.to = Some(crate::edge::time_param("to", &v)?),
            "before" => f.before = Some(int("before", &v)?),
            "limit" => f.limit = AUDIT_PAGE.parse(&v)?,
            _ => {
                return Err(ApiError::unknown_query());
            }
        }
    }
    let db = state.review.clone();
    let filter = f.clone();
    let entries = blocking(move || db.with_conn(|c| admin::audit_entries(c, &filter))).await?;
    let next_before = (entries.len() == f.limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    audit(
        &state,
        &who.user_id,
        "admin.audit.read",
        None,
        json!({"actor": f.actor, "action": f.action, "subject": f.subject, "count": entries.len()}),
    )
    .await?;
    Ok(json_ok(
        &json!({"entries": entries, "next_before": next_before}),
    ))
}

/// Once the catalog keeps teams, an account's new team must be one of its
/// active teams: a team typed by hand ("Team Oost" where the others hold
/// `team-oost`) would be a team nobody else is in, and that user would see
/// none of the team's walks. Without teams in the catalog (an installation
/// from before they were kept there) any team is taken as before. An account
/// keeps its team when another field changes (the team is not sent then).
async fn check_team(state: &AppState, team: Option<&str>) -> Result<(), ApiError> {
    let Some(team) = team.map(str::to_owned) else {
        return Ok(());
    };
    let store = state.store.clone();
    let catalog =
        blocking(move || Ok::<_, ApiError>(crate::review::report::load_catalog(&*store))).await?;
    if catalog.teams.is_empty() || catalog.check_team(&team).is_ok() {
        return Ok(());
    }
    Err(ApiError::param(
        "team",
        "The team is not one of the catalog's active teams.",
    ))
}
