//! Account administration for the admin role: list accounts,
//! change name, roles and team, and read the audit log with filters.
//!
//! Creating accounts, passwords, disabling and device revocation go through
//! the [`crate::storage::Store`] (the same code the CLI uses); the queries
//! the store does not offer run here on the review layer's connections
//! ([`crate::review::ReviewDb`]). The audit log is only ever read here:
//! it is append-only in the schema (triggers refuse UPDATE and DELETE) and
//! the API has no route that writes to it other than by auditing an action.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::domain::Role;
use crate::edge::ApiError;
use crate::storage::{decode_roles, encode_roles};

/// An account as admins see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Team.
    pub team: Option<String>,
    /// Disabled.
    pub disabled: bool,
    /// Created (ms).
    pub created_at: i64,
    /// Devices that are neither revoked nor signed out.
    pub active_devices: i64,
    /// Latest login or refresh of any device (ms).
    pub last_seen_at: Option<i64>,
}

const ACCOUNT_SQL: &str = "SELECT u.id, u.username, u.display_name, u.roles, u.team, \
    u.disabled_at IS NOT NULL, u.created_at, \
    (SELECT count(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL \
      AND d.signed_out_at IS NULL), \
    (SELECT max(last_seen_at) FROM devices d WHERE d.user_id = u.id) FROM users u";

fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountView> {
    Ok(AccountView {
        id: r.get(0)?,
        username: r.get(1)?,
        name: r.get(2)?,
        roles: decode_roles(&r.get::<_, String>(3)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        team: r.get(4)?,
        disabled: r.get(5)?,
        created_at: r.get(6)?,
        active_devices: r.get(7)?,
        last_seen_at: r.get(8)?,
    })
}

/// Every account, by username.
pub fn list_accounts(conn: &Connection) -> Result<Vec<AccountView>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!("{ACCOUNT_SQL} ORDER BY u.username"))?;
    let rows = stmt.query_map([], read_account)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One account.
pub fn account(conn: &Connection, id: &str) -> Result<Option<AccountView>, ApiError> {
    Ok(conn
        .query_row(
            &format!("{ACCOUNT_SQL} WHERE u.id = ?1"),
            [id],
            read_account,
        )
        .optional()?)
}

/// Changes name, roles and/or team (`Some(None)` clears the team).
pub fn update_account(
    conn: &Connection,
    id: &str,
    name: Option<&str>,
    roles: Option<&[Role]>,
    team: Option<Option<&str>>,
) -> Result<(), ApiError> {
    let n = conn.execute(
        "UPDATE users SET \
           display_name = coalesce(?2, display_name), \
           roles = coalesce(?3, roles), \
           team = CASE WHEN ?4 THEN ?5 ELSE team END \
         WHERE id = ?1",
        params![
            id,
            name,
            roles.map(encode_roles),
            team.is_some(),
            team.flatten()
        ],
    )?;
    if n == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// Audit log filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Actor user id.
    pub actor: Option<String>,
    /// Action, exact (`admin.user.create`) or a prefix ending in `.` or `*` (`export.`).
    pub action: Option<String>,
    /// Subject id.
    pub subject: Option<String>,
    /// At or after (ms).
    pub from: Option<i64>,
    /// Before (ms).
    pub to: Option<i64>,
    /// Entries with an id below this (paging, newest first).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditView {
    /// Sequence number.
    pub id: i64,
    /// When (ms).
    pub at: i64,
    /// Who (user id; `null` for the command line).
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// On what.
    pub subject: Option<String>,
    /// Details (JSON).
    pub detail: serde_json::Value,
}

/// Audit entries, newest first.
pub fn audit_entries(conn: &Connection, f: &AuditFilter) -> Result<Vec<AuditView>, ApiError> {
    let mut sql =
        String::from("SELECT id, at, actor, action, subject, detail FROM audit_log WHERE 1 = 1");
    use rusqlite::types::Value as V;
    let mut p: Vec<V> = Vec::new();
    let mut push = |clause: &str, v: V, sql: &mut String| {
        sql.push_str(clause);
        p.push(v);
    };
    if let Some(a) = &f.actor {
        push(" AND actor = ?", V::Text(a.clone()), &mut sql);
    }
    if let Some(a) = &f.action {
        if a.ends_with('*') || a.ends_with('.') {
            let prefix = a.trim_end_matches('*').to_owned();
            push(
                " AND length(action) >= ?",
                V::Integer(prefix.len() as i64),
                &mut sql,
            );
            push(
                " AND substr(action, 1, ?",
                V::Integer(prefix.len() as i64),
                &mut sql,
            );
            push(") = ?", V::Text(prefix), &mut sql);
        } else {
            push(" AND action = ?", V::Text(a.clone()), &mut sql);
        }
    }
    if let Some(s) = &f.subject {
        push(" AND subject = ?", V::Text(s.clone()), &mut sql);
    }
    if let Some(t) = f.from {
        push(" AND at >= ?", V::Integer(t), &mut sql);
    }
    if let Some(t) = f.to {
        push(" AND at < ?", V::Integer(t), &mut sql);
    }
    if let Some(b) = f.before {
        push(" AND id < ?", V::Integer(b), &mut sql);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", f.limit));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(p), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at, actor, action, subject, detail) = row?;
        out.push(AuditView {
            id,
            at,
            actor,
            action,
            subject,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(out)
}
