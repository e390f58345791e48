//! `GET /api/v1/access-changes` (coordinators): the account changes admins
//! made that can open content to someone — accounts created, roles or team
//! changed, passwords reset — newest first, with who did it to whom. Admins
//! cannot read content with their own accounts, but they manage the accounts
//! that can; this makes every such step visible to the people responsible for
//! the content (docs/privacy.md, docs/security.md). Taken from the
//! append-only audit log; names are today's display names.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::items::{json_ok, query_pairs};
use crate::edge::{ApiError, PageLimit, RequireCoordinator};
use crate::state::{AppState, blocking};

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/access-changes", web::get().to(access_changes));
}

/// Default page.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
const PAGE: PageLimit = PageLimit::UP_TO_500;

#[derive(Debug, Serialize)]
struct Who {
    id: String,
    name: Option<String>,
}

#[derive(Debug, Serialize)]
struct Change {
    at: i64,
    /// `admin.user.create`, `admin.user.update` (roles or team) or `admin.user.password`.
    action: String,
    /// The admin (null: the server's command line).
    actor: Option<Who>,
    /// The account.
    subject: Option<Who>,
    /// The new roles, when they were set.
    roles: Option<serde_json::Value>,
    /// The new team, when it was set (`null` inside: cleared).
    team: Option<serde_json::Value>,
}

/// The rows, newest first.
fn changes(conn: &rusqlite::Connection, limit: u32) -> Result<Vec<Change>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.at, a.action, a.actor, ua.display_name, a.subject, us.display_name, a.detail \
         FROM audit_log a \
         LEFT JOIN users ua ON ua.id = a.actor \
         LEFT JOIN users us ON us.id = a.subject \
         WHERE a.action IN ('admin.user.create', 'admin.user.password') \
            OR (a.action = 'admin.user.update' \
                AND (json_type(a.detail, '$.roles') IS NOT NULL \
                     OR json_type(a.detail, '$.team') IS NOT NULL)) \
         ORDER BY a.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::from(limit)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (at, action, actor, actor_name, subject, subject_name, detail) = row?;
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        out.push(Change {
            at,
            action,
            actor: actor.map(|id| Who {
                id,
                name: actor_name,
            }),
            subject: subject.map(|id| Who {
                id,
                name: subject_name,
            }),
            roles: detail.get("roles").cloned(),
            team: detail.get("team").cloned(),
        });
    }
    Ok(out)
}

/// `GET /api/v1/access-changes?limit=` → `{"changes": [...]}`.
#[tracing::instrument(name = "access_changes", skip_all)]
async fn access_changes(
    _: RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "limit" => limit = PAGE.parse(&v)?,
            _ => {
                return Err(ApiError::unknown_query());
            }
        }
    }
    let db = state.review.clone();
    let changes = blocking(move || db.with_conn(|c| changes(c, limit))).await?;
    Ok(json_ok(&serde_json::json!({ "changes": changes })))
}
