//! The "Terugbellen en terugkoppeling" work list: open call-back
//! tasks of spreekuur notes and feedback that is due, over the generated
//! columns of migration 0009, due date first (so overdue work leads).
//!
//! - A **call back** is open when a note's `callback` was requested and not
//!   closed; its due date and assignee come from the document
//!   (`request_callback`, `set_callback_due`, `assign_callback`).
//! - **Feedback** is due when an item's `feedback.needed` is set and no
//!   feedback was given; it is due 10 working days after the item was created
//!   (`fb_due_at`), it has no personal assignee (the team).
//!
//! Visibility is the caller's [`Scope`]: call backs live on spreekuur notes
//! (spreekuur staff of the team, coordinators), feedback on notes and walk
//! observations. [`for_person`] is the query behind a daily reminder: one
//! person's open call backs, overdue first.

use rusqlite::Connection;
use rusqlite::types::Value;
use serde::Serialize;

use super::query::{Scope, in_list, list, list_view};
use super::{Dialect, ReviewDb};
use crate::edge::{ApiError, PageLimit};

/// The work list's largest page: 500.
pub const PAGE: PageLimit = PageLimit::UP_TO_500;
/// Default page of the work list.
pub const DEFAULT_LIMIT: u32 = 200;

/// Which tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A requested call back.
    Callback,
    /// Feedback to the resident that is due.
    Feedback,
}

/// The filters of `GET /api/v1/callbacks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkFilters {
    /// Assignee user ids; `team` stands for "not assigned to a person"
    /// (call backs without assignee, and every feedback task).
    pub assignee: Vec<String>,
    /// Wijk ids.
    pub wijk: Vec<String>,
    /// Teams.
    pub team: Vec<String>,
    /// `Some(true)`: overdue only; `Some(false)`: not yet overdue only.
    pub overdue: Option<bool>,
    /// One kind of task only.
    pub task: Option<Task>,
    /// Page size.
    pub limit: u32,
}

impl WorkFilters {
    /// Parses the query parameters; unknown names are refused.
    pub fn parse(params: &[(String, String)]) -> Result<Self, ApiError> {
        let mut f = WorkFilters {
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        for (k, v) in params {
            match k.as_str() {
                "assignee" => f.assignee.extend(list(v)),
                "wijk" => f.wijk.extend(list(v)),
                "team" => f.team.extend(list(v)),
                "overdue" => {
                    f.overdue = Some(match v.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(ApiError::param("overdue", "Expected true or false.")),
                    })
                }
                "task" => {
                    f.task = Some(match v.as_str() {
                        "callback" => Task::Callback,
                        "feedback" => Task::Feedback,
                        _ => {
                            return Err(ApiError::param(
                                "task",
                                "task must be callback or feedback.",
                            ));
                        }
                    })
                }
                "limit" => f.limit = PAGE.parse(v)?,
                _ => {
                    return Err(ApiError::unknown_query());
                }
            }
        }
        if f.assignee.len() + f.wijk.len() + f.team.len() > 200 {
            return Err(ApiError::param("query", "Too many filter values."));
        }
        Ok(f)
    }
}

/// One entry of the work list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkItem {
    /// `callback` or `feedback`.
    pub task: Task,
    /// `walk` or `spreekuur`.
    pub kind: &'static str,
    /// When the task is due (ms); `null` for a call back without due date
    /// (written by an older client).
    pub due_at: Option<i64>,
    /// Due before now.
    pub overdue: bool,
    /// The assignee's user id (call backs); `null`: the team.
    pub assignee: Option<String>,
    /// The row as in the item list: without resident contact details, with
    /// `has_resident_contact`.
    pub item: serde_json::Value,
    /// The resident's contact (name, phone, e-mail, `tel:` and `mailto:`
    /// links) when the caller asked for contacts and the note has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// A resident's contact details, with links (personal data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    /// Name.
    pub name: Option<String>,
    /// The phone number as typed.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// `tel:` link of the (first) phone number: its E.164 form when the
    /// model derived one, else its digits as typed; `null` when none can be made.
    pub tel: Option<String>,
    /// `mailto:` link.
    pub mailto: Option<String>,
}

/// A `tel:` URI for a phone number as people type it: the first number
/// (before `/`, `,`, `;` or ` of `), its digits and a leading `+`, the rest
/// (remarks such as "(na 17u)") dropped. `None` when fewer than 6 digits remain.
pub fn tel_link(phone: &str) -> Option<String> {
    let first = phone
        .split(['/', ',', ';'])
        .next()
        .unwrap_or_default()
        .split(" of ")
        .next()
        .unwrap_or_default();
    let mut out = String::new();
    for c in first.trim().chars() {
        match c {
            '+' if out.is_empty() => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            // A remark starts: the number is over.
            _ => break,
        }
    }
    let digits = out.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits).then(|| format!("tel:{out}"))
}

/// The contact of a stored row, if it has one.
pub fn contact_of(row: &serde_json::Value) -> Option<Contact> {
    let r = &row["resident"];
    let s = |k: &str| {
        r[k].as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (name, phone, email) = (s("name"), s("phone"), s("email"));
    if name.is_none() && phone.is_none() && email.is_none() {
        return None;
    }
    // The model's E.164 form of the first number when it could derive one,
    // else the digits of the first number as typed.
    let e164 = r["phone_e164"]
        .as_str()
        .and_then(|v| v.split_whitespace().next())
        .filter(|v| v.starts_with('+') && v[1..].chars().all(|c| c.is_ascii_digit()))
        .map(|v| format!("tel:{v}"));
    let tel = e164.or_else(|| phone.as_deref().and_then(tel_link));
    // The address is percent-encoded only where a URI needs it.
    let mailto = email.as_deref().map(|e| {
        let enc: String = e
            .chars()
            .map(|c| match c {
                '%' | '?' | '#' | '&' | ' ' | '"' | '<' | '>' => format!("%{:02X}", c as u32),
                c => c.to_string(),
            })
            .collect();
        format!("mailto:{enc}")
    });
    Some(Contact {
        name,
        phone,
        email,
        tel,
        mailto,
    })
}

/// The SELECTs of the work list for `scope` and `f` (columns: task, kind,
/// due, assignee, doc_id, item_id, row_json).
fn selects(
    dialect: Dialect,
    scope: &Scope,
    f: &WorkFilters,
    now: i64,
    params: &mut Vec<Value>,
) -> Vec<String> {
    let mut parts = Vec::new();
    let common = |sql: &mut String, team: &Option<String>, due: &str, params: &mut Vec<Value>| {
        if let Some(t) = team {
            sql.push_str(" AND team = ?");
            params.push(Value::Text(t.clone()));
        }
        in_list("wijk", &f.wijk, sql, params);
        in_list("team", &f.team, sql, params);
        match f.overdue {
            Some(true) => {
                sql.push_str(&format!(" AND {due} < ?"));
                params.push(Value::Integer(now));
            }
            Some(false) => {
                sql.push_str(&format!(" AND ({due} IS NULL OR {due} >= ?)"));
                params.push(Value::Integer(now));
            }
            None => {}
        }
    };
    let people: Vec<String> = f
        .assignee
        .iter()
        .filter(|a| a.as_str() != "team")
        .cloned()
        .collect();
    let with_team = f.assignee.is_empty() || f.assignee.iter().any(|a| a == "team");
    if f.task != Some(Task::Feedback)
        && let Some(team) = &scope.notes
    {
        let mut sql = format!(
            "SELECT 'callback' AS task, 'spreekuur' AS kind, cb_due_at AS due, \
             cb_assignee AS assignee, doc_id, item_id, row_json FROM notes \
             WHERE {} AND {}",
            dialect.is_true("cb_open"),
            dialect.is_false("deleted")
        );
        common(&mut sql, team, "cb_due_at", params);
        if !f.assignee.is_empty() {
            sql.push_str(" AND (1 = 0");
            if !people.is_empty() {
                sql.push_str(" OR cb_assignee IN (");
                for (i, p) in people.iter().enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push('?');
                    params.push(Value::Text(p.clone()));
                }
                sql.push(')');
            }
            if with_team {
                sql.push_str(" OR cb_assignee IS NULL");
            }
            sql.push(')');
        }
        parts.push(sql);
    }
    if f.task != Some(Task::Callback) && with_team {
        for (table, kind, part) in [
            ("observations", "walk", &scope.walks),
            ("notes", "spreekuur", &scope.notes),
        ] {
            let Some(team) = part else { continue };
            let mut sql = format!(
                "SELECT 'feedback' AS task, '{kind}' AS kind, fb_due_at AS due, NULL AS assignee, \
                 doc_id, item_id, row_json FROM {table} \
                 WHERE {} AND fb_given_at IS NULL AND {}",
                dialect.is_true("fb_needed"),
                dialect.is_false("deleted")
            );
            common(&mut sql, team, "fb_due_at", params);
            parts.push(sql);
        }
    }
    parts
}

/// The work list: due date first (no due date last), then document, item
/// and task; at most `f.limit` entries. `contacts` adds the resident's
/// contact to each entry that has one (the caller audits that read).
pub fn work_list(
    db: &ReviewDb,
    scope: &Scope,
    f: &WorkFilters,
    now: i64,
    contacts: bool,
) -> Result<Vec<WorkItem>, ApiError> {
    let mut params = Vec::new();
    let parts = selects(db.require_dialect()?, scope, f, now, &mut params);
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT task, kind, due, assignee, doc_id, item_id, row_json FROM ({}) AS w \
         ORDER BY due IS NULL, due ASC, doc_id ASC, item_id ASC, task ASC LIMIT {}",
        parts.join(" UNION ALL "),
        f.limit
    );
    db.rows(&sql, &params, |r| {
        let task = r.text(0)?;
        let kind = r.text(1)?;
        let due_at = r.opt_int(2)?;
        let assignee = r.opt_text(3)?;
        let json = r.text(6)?;
        let task = if task == "callback" {
            Task::Callback
        } else {
            Task::Feedback
        };
        let contact = if contacts {
            let full: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
                ApiError::Internal(anyhow::Error::new(e).context("stored row_json"))
            })?;
            contact_of(&full)
        } else {
            None
        };
        Ok(WorkItem {
            task,
            kind: if kind == "walk" { "walk" } else { "spreekuur" },
            due_at,
            overdue: due_at.is_some_and(|d| d < now),
            assignee,
            item: list_view(&json)?,
            contact,
        })
    })
}

/// One open call back as the call-back export reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCallback {
    /// When it is due (ms); `None` for one without a due date.
    pub due_at: Option<i64>,
    /// The assignee's user id; `None`: the team.
    pub assignee: Option<String>,
    /// The note's id.
    pub item_id: String,
    /// The stored row, contact details included (the caller writes only
    /// the name and phone and audits that).
    pub row: serde_json::Value,
}

/// Every open call back of the work list's filters `f` (its `task` and
/// `limit` are ignored), due date first, one at a time: memory stays one
/// row however many match.
pub fn for_each_callback(
    db: &ReviewDb,
    scope: &Scope,
    f: &WorkFilters,
    now: i64,
    mut each: impl FnMut(OpenCallback) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let f = WorkFilters {
        task: Some(Task::Callback),
        ..f.clone()
    };
    let mut params = Vec::new();
    let parts = selects(db.require_dialect()?, scope, &f, now, &mut params);
    if parts.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT due, assignee, item_id, row_json FROM ({}) AS w \
         ORDER BY due IS NULL, due ASC, doc_id ASC, item_id ASC",
        parts.join(" UNION ALL ")
    );
    db.each_row(&sql, &params, |r| {
        let json = r.text(3)?;
        let row = serde_json::from_str(&json)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))?;
        each(OpenCallback {
            due_at: r.opt_int(0)?,
            assignee: r.opt_text(1)?,
            item_id: r.text(2)?,
            row,
        })
    })
}

/// Counts of the work list for the overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkCounts {
    /// Open call backs.
    pub callbacks_open: u64,
    /// Of which overdue.
    pub callbacks_overdue: u64,
    /// Feedback due (needed, not given).
    pub feedback_open: u64,
    /// Of which overdue.
    pub feedback_overdue: u64,
}

/// The work-list counts for `scope` at `now`.
pub fn counts(db: &ReviewDb, scope: &Scope, now: i64) -> Result<WorkCounts, ApiError> {
    let dialect = db.require_dialect()?;
    let mut out = WorkCounts::default();
    let count = |sql: &str, team: &Option<String>| -> Result<(u64, u64), ApiError> {
        let mut sql = sql.to_owned();
        let mut params = vec![Value::Integer(now)];
        if let Some(t) = team {
            sql.push_str(" AND team = ?2");
            params.push(Value::Text(t.clone()));
        }
        let (open, overdue) = db
            .first_row(&sql, &params, |r| Ok((r.int(0)?, r.int(1)?)))?
            .unwrap_or_default();
        Ok((
            u64::try_from(open).unwrap_or(0),
            u64::try_from(overdue).unwrap_or(0),
        ))
    };
    if let Some(team) = &scope.notes {
        let (o, d) = count(
            &format!(
                "SELECT count(*), {} FROM notes WHERE {} AND {}",
                dialect.count_where("cb_due_at < ?1"),
                dialect.is_true("cb_open"),
                dialect.is_false("deleted")
            ),
            team,
        )?;
        out.callbacks_open += o;
        out.callbacks_overdue += d;
    }
    for (table, part) in [("observations", &scope.walks), ("notes", &scope.notes)] {
        let Some(team) = part else { continue };
        let (o, d) = count(
            &format!(
                "SELECT count(*), {} FROM {table} \
                 WHERE {} AND fb_given_at IS NULL AND {}",
                dialect.count_where("fb_due_at < ?1"),
                dialect.is_true("fb_needed"),
                dialect.is_false("deleted")
            ),
            team,
        )?;
        out.feedback_open += o;
        out.feedback_overdue += d;
    }
    Ok(out)
}

/// One person's open call backs, due date first (overdue ones lead): those
/// assigned to `user`, and — when `team` is given — those of that team's
/// sessions assigned to nobody in particular. At most `limit`. This is the
/// query behind the daily reminder e-mail; entries carry no contact details.
pub fn for_person(
    conn: &Connection,
    user: &str,
    team: Option<&str>,
    now: i64,
    limit: u32,
) -> Result<Vec<WorkItem>, ApiError> {
    let mut sql = "SELECT 'callback', 'spreekuur', cb_due_at, cb_assignee, doc_id, item_id, \
                   row_json FROM notes WHERE cb_open = 1 AND deleted = 0 AND (cb_assignee = ?1"
        .to_owned();
    let mut params = vec![Value::Text(user.to_owned())];
    if let Some(t) = team {
        sql.push_str(" OR (cb_assignee IS NULL AND team = ?2)");
        params.push(Value::Text(t.to_owned()));
    }
    sql.push_str(&format!(
        ") ORDER BY cb_due_at IS NULL, cb_due_at ASC, doc_id ASC, item_id ASC LIMIT {}",
        limit.min(PAGE.max())
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let due_at: Option<i64> = r.get(2)?;
        let json: String = r.get(6)?;
        out.push(WorkItem {
            task: Task::Callback,
            kind: "spreekuur",
            due_at,
            overdue: due_at.is_some_and(|d| d < now),
            assignee: r.get(3)?,
            item: list_view(&json)?,
            contact: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tel_links_take_the_first_number_and_drop_remarks() {
        assert_eq!(tel_link("06 1234 5678").as_deref(), Some("tel:0612345678"));
        assert_eq!(
            tel_link("06.12.34.56.78").as_deref(),
            Some("tel:0612345678")
        );
        assert_eq!(
            tel_link("06 1234 5678 (na 17u)").as_deref(),
            Some("tel:0612345678")
        );
        assert_eq!(
            tel_link("035-5251234 / 06-12345678").as_deref(),
            Some("tel:0355251234")
        );
        assert_eq!(
            tel_link("+31 (0)6 1234 5678").as_deref(),
            Some("tel:+310612345678")
        );
        assert_eq!(tel_link("bel na vijven"), None);
        assert_eq!(tel_link("12345"), None);
    }

    #[test]
    fn work_filters_refuse_bad_values_and_unknown_names() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(WorkFilters::parse(&p(&[("overdue", "ja")])).is_err());
        assert!(WorkFilters::parse(&p(&[("task", "bellen")])).is_err());
        assert!(WorkFilters::parse(&p(&[("limit", "0")])).is_err());
        assert!(WorkFilters::parse(&p(&[("limit", "501")])).is_err());
        assert!(WorkFilters::parse(&p(&[("asignee", "x")])).is_err());
        let f = WorkFilters::parse(&p(&[("assignee", "u1,team"), ("overdue", "true")]))
            .expect("parses");
        assert_eq!(f.assignee, vec!["u1", "team"]);
        assert_eq!(f.overdue, Some(true));
        assert_eq!(f.limit, DEFAULT_LIMIT);
    }

    /// The feedback due date column of migration 0009 (`fb_due_at`) is the
    /// shared crate's `add_working_days(created_at, 10)`, for every weekday
    /// and time of day: rows inserted into the migrated schema.
    #[test]
    fn the_sql_feedback_due_date_matches_the_model() {
        let mut conn = Connection::open_in_memory().expect("db");
        crate::storage::migrations::migrate_to(&mut conn, u32::MAX).expect("migrates");
        conn.execute(
            "INSERT INTO documents (id, kind, owner, team, created_at) VALUES (?1, 'walk', 'u', 't', 0)",
            [vec![7u8; 16]],
        )
        .expect("document");
        // 2026-01-01T00:00:00Z, then every 5 hours for three weeks.
        let start = 1_767_225_600_000_i64;
        for i in 0..(21 * 24 / 5) {
            let created = start + i * 5 * 3_600_000 + 123;
            conn.execute(
                "INSERT INTO observations (doc_id, item_id, created_at, row_json) VALUES (?1, ?2, ?3, '{}')",
                rusqlite::params![vec![7u8; 16], format!("i{i}"), created],
            )
            .expect("row");
            let sql: i64 = conn
                .query_row(
                    "SELECT fb_due_at FROM observations WHERE item_id = ?1",
                    [format!("i{i}")],
                    |r| r.get(0),
                )
                .expect("query");
            let model = wijklog_shared::add_working_days(
                wijklog_shared::Timestamp::from_millis(created),
                10,
            )
            .as_millis();
            assert_eq!(sql, model, "created_at {created}");
        }
    }
}
