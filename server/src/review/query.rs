//! The filtered item list: [`Filters`] parsed from query parameters, the
//! caller's [`Scope`], SQL built from both (values always bound as
//! parameters), FTS5 search with prefixes, and an opaque keyset cursor.
//!
//! Order: newest first (`created_at` desc) or most severe first
//! (`severity` desc, then newest). Ties are broken by `(doc_id, item_id)`,
//! so the order is total and the cursor — the sort key of the last row
//! returned — continues exactly after it: items that arrive between two
//! pages never cause a duplicate or a skipped row (a newer item sorts before
//! the cursor and is simply not part of the pages still to come).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use crate::domain::Principal;
use crate::domain::Role;
use crate::edge::{ApiError, PageLimit};
use crate::storage::{fts_query, search_words};

use super::{Dialect, ReviewDb};

/// The item list's largest page: 500.
pub const PAGE: PageLimit = PageLimit::UP_TO_500;
/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// The list's sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first.
    #[default]
    CreatedAt,
    /// Most severe first, then newest.
    Severity,
}

/// Which documents the caller may see, as SQL per projection table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Walk observations: `None` = none, `Some(None)` = all, `Some(Some(t))` = team `t`.
    pub walks: Option<Option<String>>,
    /// Spreekuur notes, the same way.
    pub notes: Option<Option<String>>,
}

impl Scope {
    /// The scope of a caller (see the module docs of [`crate::review`]).
    pub fn of(who: &Principal) -> Self {
        let part = |role: Role| {
            if who.is_coordinator() {
                Some(None)
            } else if who.has_role(role) {
                who.team.clone().map(Some)
            } else {
                None
            }
        };
        Scope {
            walks: part(Role::Boa),
            notes: part(Role::Spreekuur),
        }
    }

    /// Everything (coordinators, the benchmark).
    pub fn all() -> Self {
        Scope {
            walks: Some(None),
            notes: Some(None),
        }
    }
}

/// Item kind filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Walk observations.
    Walk,
    /// Spreekuur notes.
    Spreekuur,
}

/// The list filters (every one optional; lists are comma-separated, any of).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filters {
    /// Wijk ids.
    pub wijk: Vec<String>,
    /// Category ids.
    pub category: Vec<String>,
    /// Severities.
    pub severity: Vec<String>,
    /// Created at or after (ms).
    pub from: Option<i64>,
    /// Created before (ms).
    pub to: Option<i64>,
    /// Teams.
    pub team: Vec<String>,
    /// Creator user ids.
    pub author: Vec<String>,
    /// Follow-up statuses (an item matches when one of its partners has one of them).
    pub status: Vec<String>,
    /// Partner ids (an item matches when it has a follow-up entry for one of them;
    /// with `status`, that entry must have one of the statuses).
    pub partner: Vec<String>,
    /// `true`: feedback needed and not given; `false`: the others.
    pub feedback_outstanding: Option<bool>,
    /// Walk observations or spreekuur notes only.
    pub kind: Option<Kind>,
    /// Full-text query as typed by the user.
    pub q: Option<String>,
    /// Only items with a GPS location (GeoJSON export).
    pub with_location: bool,
}

const SEVERITIES: &[&str] = &["informatief", "aandacht", "zorgelijk", "urgent"];
const STATUSES: &[&str] = &["open", "in_behandeling", "afgerond"];

/// A query parameter's comma-separated values, trimmed, empty ones dropped.
pub(super) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bool_param(name: &'static str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::param(name, "Expected true or false.")),
    }
}

/// Parsed list request: filters, sort, page size, cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest {
    /// Filters.
    pub filters: Filters,
    /// Order.
    pub sort: Sort,
    /// Page size (1..=500).
    pub limit: u32,
    /// Continue after this position.
    pub cursor: Option<Cursor>,
}

impl Filters {
    /// Parses the filter parameters out of `params`; unknown names are
    /// left for the caller (see [`ListRequest::parse`]).
    pub fn parse(params: &[(String, String)]) -> Result<Self, ApiError> {
        let mut f = Filters::default();
        for (k, v) in params {
            match k.as_str() {
                "wijk" => f.wijk.extend(list(v)),
                "category" => f.category.extend(list(v)),
                "severity" => {
                    let s = list(v);
                    if s.iter().any(|s| !SEVERITIES.contains(&s.as_str())) {
                        return Err(ApiError::param(
                            "severity",
                            "severity must be informatief, aandacht, zorgelijk or urgent.",
                        ));
                    }
                    f.severity.extend(s);
                }
                "from" => f.from = Some(crate::edge::time_param("from", v)?),
                "to" => f.to = Some(crate::edge::time_param("to", v)?),
                "team" => f.team.extend(list(v)),
                "author" => f.author.extend(list(v)),
                "status" => {
                    let s = list(v);
                    if s.iter().any(|s| !STATUSES.contains(&s.as_str())) {
                        return Err(ApiError::param(
                            "status",
                            "status must be open, in_behandeling or afgerond.",
                        ));
                    }
                    f.status.extend(s);
                }
                "partner" => f.partner.extend(list(v)),
                "feedback_outstanding" => {
                    f.feedback_outstanding = Some(bool_param("feedback_outstanding", v)?)
                }
                "kind" => {
                    f.kind = Some(match v.as_str() {
                        "walk" => Kind::Walk,
                        "spreekuur" => Kind::Spreekuur,
                        _ => {
                            return Err(ApiError::param("kind", "kind must be walk or spreekuur."));
                        }
                    })
                }
                "q" => {
                    if v.len() > 500 {
                        return Err(ApiError::param("q", "The search text is too long."));
                    }
                    f.q = Some(v.clone())
                }
                _ => {}
            }
        }
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a > b
        {
            return Err(ApiError::param("from", "from must not be after to."));
        }
        Ok(f)
    }
}

/// Names accepted by [`ListRequest::parse`] besides the filters.
const FILTER_NAMES: &[&str] = &[
    "wijk",
    "category",
    "severity",
    "from",
    "to",
    "team",
    "author",
    "status",
    "partner",
    "feedback_outstanding",
    "kind",
    "q",
];

/// Rejects parameters that are neither filters nor in `extra`: a typo must
/// not silently widen a query (or an export).
pub fn check_names(params: &[(String, String)], extra: &[&str]) -> Result<(), ApiError> {
    match params
        .iter()
        .find(|(k, _)| !FILTER_NAMES.contains(&k.as_str()) && !extra.contains(&k.as_str()))
    {
        Some(_) => Err(ApiError::unknown_query()),
        None => Ok(()),
    }
}

impl ListRequest {
    /// Parses `GET /api/v1/items` parameters.
    pub fn parse(params: &[(String, String)]) -> Result<Self, ApiError> {
        check_names(params, &["sort", "limit", "cursor"])?;
        let filters = Filters::parse(params)?;
        let mut req = ListRequest {
            filters,
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        for (k, v) in params {
            match k.as_str() {
                "sort" => {
                    req.sort = match v.as_str() {
                        "created_at" => Sort::CreatedAt,
                        "severity" => Sort::Severity,
                        _ => {
                            return Err(ApiError::param(
                                "sort",
                                "sort must be created_at or severity.",
                            ));
                        }
                    }
                }
                "limit" => req.limit = PAGE.parse(v)?,
                "cursor" => req.cursor = Some(Cursor::decode(v)?),
                _ => {}
            }
        }
        if let Some(c) = &req.cursor
            && c.sort != req.sort
        {
            return Err(ApiError::param(
                "cursor",
                "The cursor belongs to another sort order.",
            ));
        }
        Ok(req)
    }
}

/// The position after which a page continues (opaque to clients:
/// base64url of this JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The order the cursor belongs to.
    #[serde(rename = "s")]
    pub sort: Sort,
    /// Severity rank of the last row (severity order only).
    #[serde(rename = "r")]
    pub sev_rank: i64,
    /// `created_at` of the last row (0 when it had none).
    #[serde(rename = "t")]
    pub sort_at: i64,
    /// Document id (hex of the 16 bytes).
    #[serde(rename = "d")]
    pub doc: String,
    /// Item id.
    #[serde(rename = "i")]
    pub item: String,
}

impl Cursor {
    /// Opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses the opaque text form.
    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::param("cursor", "The cursor is not valid.");
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let doc = hex::decode(&c.doc).map_err(|_| bad())?;
        if doc.len() != 16 {
            return Err(bad());
        }
        Ok(c)
    }
}

/// One selected projection row.
#[derive(Debug, Clone, PartialEq)]
pub struct RawItem {
    /// `walk` or `spreekuur`.
    pub kind: &'static str,
    /// Document id bytes.
    pub doc_id: Vec<u8>,
    /// Item id.
    pub item_id: String,
    /// Sort key parts.
    pub sort_at: i64,
    /// Severity rank.
    pub sev_rank: i64,
    /// The projection row JSON.
    pub row_json: String,
}

impl RawItem {
    fn cursor(&self, sort: Sort) -> Cursor {
        Cursor {
            sort,
            sev_rank: self.sev_rank,
            sort_at: self.sort_at,
            doc: hex::encode(&self.doc_id),
            item: self.item_id.clone(),
        }
    }
}

/// Appends ` AND col IN (?,…)` for `values` (nothing when empty).
pub(super) fn in_list(col: &str, values: &[String], sql: &mut String, params: &mut Vec<Value>) {
    if values.is_empty() {
        return;
    }
    sql.push_str(&format!(" AND {col} IN ("));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('?');
        params.push(Value::Text(v.clone()));
    }
    sql.push(')');
}

/// The SELECT over one projection table, or `None` when the scope or the
/// kind filter excludes the table.
#[allow(clippy::too_many_arguments)]
fn table_select(
    dialect: Dialect,
    table: &'static str,
    kind: Kind,
    scope: &Option<Option<String>>,
    f: &Filters,
    fts: Option<&str>,
    after: Option<&Cursor>,
    params: &mut Vec<Value>,
) -> Option<String> {
    let team = scope.as_ref()?;
    if f.kind.is_some_and(|k| k != kind) {
        return None;
    }
    let label = match kind {
        Kind::Walk => "walk",
        Kind::Spreekuur => "spreekuur",
    };
    // With a selective driver (full text, partners) the unary `+` keeps the
    // planner from scanning the `deleted` index instead of seeking the
    // driver's rowids.
    let driven = fts.is_some() || !f.status.is_empty() || !f.partner.is_empty();
    let deleted = match dialect {
        Dialect::Sqlite if driven => "+t.deleted = 0",
        Dialect::Sqlite => "t.deleted = 0",
        Dialect::Postgres => "NOT t.deleted",
    };
    let mut sql = format!(
        "SELECT '{label}' AS kind, t.doc_id AS doc_id, t.item_id AS item_id, t.sort_at AS sort_at, \
         t.sev_rank AS sev_rank, t.row_json AS row_json FROM {table} t WHERE {deleted}"
    );
    if let Some(team) = team {
        sql.push_str(" AND t.team = ?");
        params.push(Value::Text(team.clone()));
    }
    in_list("t.wijk", &f.wijk, &mut sql, params);
    in_list("t.category", &f.category, &mut sql, params);
    in_list("t.severity", &f.severity, &mut sql, params);
    in_list("t.team", &f.team, &mut sql, params);
    in_list("t.created_by", &f.author, &mut sql, params);
    if let Some(from) = f.from {
        sql.push_str(" AND t.created_at >= ?");
        params.push(Value::Integer(from));
    }
    if let Some(to) = f.to {
        sql.push_str(" AND t.created_at < ?");
        params.push(Value::Integer(to));
    }
    if !f.status.is_empty() || !f.partner.is_empty() {
        match dialect {
            // Driven by item_partners' (partner, status) index: the candidate
            // items are looked up by their (doc_id, item_id) key.
            Dialect::Sqlite => sql.push_str(&format!(
                " AND t.rowid IN (SELECT o.rowid FROM item_partners p JOIN {table} o \
                 ON o.doc_id = p.doc_id AND o.item_id = p.item_id WHERE 1 = 1"
            )),
            Dialect::Postgres => sql.push_str(
                " AND EXISTS (SELECT 1 FROM item_partners p \
                 WHERE p.doc_id = t.doc_id AND p.item_id = t.item_id",
            ),
        }
        in_list("p.partner", &f.partner, &mut sql, params);
        in_list("p.status", &f.status, &mut sql, params);
        sql.push(')');
    }
    let outstanding = format!(
        "{} AND t.fb_given_at IS NULL",
        dialect.is_true("t.fb_needed")
    );
    match f.feedback_outstanding {
        Some(true) => sql.push_str(&format!(" AND {outstanding}")),
        Some(false) => sql.push_str(&format!(" AND NOT ({outstanding})")),
        None => {}
    }
    if f.with_location {
        sql.push_str(" AND t.lat IS NOT NULL AND t.lon IS NOT NULL");
    }
    if let Some(fts) = fts {
        match dialect {
            Dialect::Sqlite => sql.push_str(&format!(
                " AND t.rowid IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?)"
            )),
            // Every word a prefix, stemmed or not, diacritics folded
            // (PostgreSQL migration 0001); the words are space-separated.
            Dialect::Postgres => {
                sql.push_str(" AND t.fts @@ wijklog_prefix_query(string_to_array(?, ' '))")
            }
        }
        params.push(Value::Text(fts.to_owned()));
    }
    if let Some(c) = after {
        let doc = hex::decode(&c.doc).unwrap_or_default();
        match c.sort {
            Sort::CreatedAt => {
                sql.push_str(" AND (t.sort_at, t.doc_id, t.item_id) < (?, ?, ?)");
            }
            Sort::Severity => {
                sql.push_str(" AND (t.sev_rank, t.sort_at, t.doc_id, t.item_id) < (?, ?, ?, ?)");
                params.push(Value::Integer(c.sev_rank));
            }
        }
        params.push(Value::Integer(c.sort_at));
        params.push(Value::Blob(doc));
        params.push(Value::Text(c.item.clone()));
    }
    Some(sql)
}

/// Builds the whole statement: both tables, ordered, optionally limited.
/// `None` when the scope leaves nothing to select.
fn build(
    dialect: Dialect,
    scope: &Scope,
    f: &Filters,
    sort: Sort,
    after: Option<&Cursor>,
    limit: Option<u32>,
) -> Option<(String, Vec<Value>)> {
    // The search as the dialect takes it: an FTS5 query, or the words
    // separated by one space (`search_words` splits on white space).
    let fts = match &f.q {
        None => None,
        Some(q) if q.trim().is_empty() => None,
        Some(q) => {
            let words = match dialect {
                Dialect::Sqlite => fts_query(q),
                Dialect::Postgres => Some(search_words(q).join(" ")).filter(|w| !w.is_empty()),
            };
            // Only punctuation: nothing can match.
            Some(words?)
        }
    };
    let mut params = Vec::new();
    let parts: Vec<String> = [
        table_select(
            dialect,
            "observations",
            Kind::Walk,
            &scope.walks,
            f,
            fts.as_deref(),
            after,
            &mut params,
        ),
        table_select(
            dialect,
            "notes",
            Kind::Spreekuur,
            &scope.notes,
            f,
            fts.as_deref(),
            after,
            &mut params,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        return None;
    }
    let order = match sort {
        Sort::CreatedAt => "sort_at DESC, doc_id DESC, item_id DESC",
        Sort::Severity => "sev_rank DESC, sort_at DESC, doc_id DESC, item_id DESC",
    };
    let mut sql = format!("{} ORDER BY {order}", parts.join(" UNION ALL "));
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Some((sql, params))
}

/// Runs the query and calls `each` for every row, in order.
pub fn for_each_item(
    db: &ReviewDb,
    scope: &Scope,
    f: &Filters,
    sort: Sort,
    after: Option<&Cursor>,
    limit: Option<u32>,
    mut each: impl FnMut(RawItem) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let Some((sql, params)) = build(db.require_dialect()?, scope, f, sort, after, limit) else {
        return Ok(());
    };
    db.each_row(&sql, &params, |r| {
        let kind = r.text(0)?;
        each(RawItem {
            kind: if kind == "walk" { "walk" } else { "spreekuur" },
            doc_id: r.blob(1)?,
            item_id: r.text(2)?,
            sort_at: r.int(3)?,
            sev_rank: r.int(4)?,
            row_json: r.text(5)?,
        })
    })
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemPage {
    /// The rows (projection JSON without resident contact details, plus
    /// `has_resident_contact`).
    pub items: Vec<serde_json::Value>,
    /// Cursor for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Parses a stored row and replaces the resident's contact details by a
/// flag (lists never carry personal data; reading one item does, audited).
pub fn list_view(row_json: &str) -> Result<serde_json::Value, ApiError> {
    let mut v: serde_json::Value = serde_json::from_str(row_json)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))?;
    let has = has_resident_contact(&v);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("resident");
        obj.insert("has_resident_contact".into(), has.into());
    }
    Ok(v)
}

/// Whether a row carries a resident's name, phone or e-mail.
pub fn has_resident_contact(row: &serde_json::Value) -> bool {
    ["name", "phone", "email"]
        .iter()
        .any(|k| row["resident"][k].as_str().is_some_and(|s| !s.is_empty()))
}

/// One page of the list for `scope`.
pub fn list_items(db: &ReviewDb, scope: &Scope, req: &ListRequest) -> Result<ItemPage, ApiError> {
    let mut raws = Vec::with_capacity(req.limit as usize + 1);
    for_each_item(
        db,
        scope,
        &req.filters,
        req.sort,
        req.cursor.as_ref(),
        Some(req.limit + 1),
        |r| {
            raws.push(r);
            Ok(())
        },
    )?;
    let more = raws.len() > req.limit as usize;
    raws.truncate(req.limit as usize);
    let next_cursor = if more {
        raws.last().map(|r| r.cursor(req.sort).encode())
    } else {
        None
    };
    let items = raws
        .iter()
        .map(|r| list_view(&r.row_json))
        .collect::<Result<_, _>>()?;
    Ok(ItemPage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            sort: Sort::Severity,
            sev_rank: 3,
            sort_at: 1_700_000_000_000,
            doc: "00112233445566778899aabbccddeeff".into(),
            item: "i-1".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).expect("decodes"), c);
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{\"s\":\"severity\"}")).is_err());
    }

    #[test]
    fn list_request_rejects_bad_values_and_unknown_names() {
        assert_eq!(
            ListRequest::parse(&p(&[("limit", "0")]))
                .unwrap_err()
                .code(),
            "invalid_parameter"
        );
        assert!(ListRequest::parse(&p(&[("severity", "hoog")])).is_err());
        assert!(ListRequest::parse(&p(&[("from", "gisteren")])).is_err());
        assert!(ListRequest::parse(&p(&[("wijkk", "noord")])).is_err());
        assert!(ListRequest::parse(&p(&[("from", "10"), ("to", "5")])).is_err());
        let ok = ListRequest::parse(&p(&[("wijk", "noord,zuid"), ("limit", "10")])).expect("ok");
        assert_eq!(ok.filters.wijk, vec!["noord", "zuid"]);
        assert_eq!(ok.limit, 10);
    }

    #[test]
    fn scope_follows_the_role_rules() {
        use crate::domain::{DeviceId, UserId};
        let who = |roles: &[Role], team: Option<&str>| Principal {
            user_id: UserId::parse("u").expect("id"),
            name: String::new(),
            roles: roles.to_vec(),
            team: team.map(str::to_owned),
            device_id: DeviceId::from_string("d".into()),
        };
        assert_eq!(Scope::of(&who(&[Role::Coordinator], None)), Scope::all());
        assert_eq!(
            Scope::of(&who(&[Role::Boa], Some("noord"))),
            Scope {
                walks: Some(Some("noord".into())),
                notes: None
            }
        );
        assert_eq!(
            Scope::of(&who(&[Role::Admin], Some("noord"))),
            Scope {
                walks: None,
                notes: None
            }
        );
        assert_eq!(
            Scope::of(&who(&[Role::Boa], None)),
            Scope {
                walks: None,
                notes: None
            }
        );
    }
}
