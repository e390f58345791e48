//! The overview: counts per wijk, category and severity for a period and
//! for the previous period of equal length, with positive signals (catalog
//! categories marked `positive`, e.g. `positief_signaal`) counted apart
//! from the problems. Deleted items are not counted.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use serde::Serialize;

use super::query::Scope;
use crate::edge::ApiError;

/// Current and previous count of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// In `from..to`.
    pub current: u64,
    /// In the previous period of equal length.
    pub previous: u64,
}

/// The answer of `GET /api/v1/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Start (ms, inclusive).
    pub from: i64,
    /// End (ms, exclusive).
    pub to: i64,
    /// Start of the previous period (`from - (to - from)`).
    pub previous_from: i64,
    /// Problems (items in non-positive categories).
    pub problems: Trend,
    /// Positive signals.
    pub positive: Trend,
    /// Problems per wijk id (`""` = no wijk).
    pub by_wijk: BTreeMap<String, Trend>,
    /// Every item per category id (positive categories included).
    pub by_category: BTreeMap<String, Trend>,
    /// Problems per severity.
    pub by_severity: BTreeMap<String, Trend>,
    /// Positive signals per wijk id.
    pub positive_by_wijk: BTreeMap<String, Trend>,
}

/// Counts for `scope` in `from..to` and the period before it.
/// `positive` holds the ids of the positive categories.
pub fn stats(
    conn: &Connection,
    scope: &Scope,
    from: i64,
    to: i64,
    positive: &BTreeSet<String>,
) -> Result<Stats, ApiError> {
    let previous_from = from - (to - from);
    let mut out = Stats {
        from,
        to,
        previous_from,
        ..Stats::default()
    };
    for (table, part) in [("observations", &scope.walks), ("notes", &scope.notes)] {
        let Some(team) = part else { continue };
        let mut sql = format!(
            "SELECT coalesce(wijk, ''), coalesce(category, ''), coalesce(severity, ''), \
             created_at >= ?1, count(*) FROM {table} \
             WHERE deleted = 0 AND created_at >= ?2 AND created_at < ?3"
        );
        if team.is_some() {
            sql.push_str(" AND team = ?4");
        }
        sql.push_str(" GROUP BY 1, 2, 3, 4");
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = match team {
            Some(t) => stmt.query(rusqlite::params![from, previous_from, to, t])?,
            None => stmt.query(rusqlite::params![from, previous_from, to])?,
        };
        while let Some(r) = rows.next()? {
            let wijk: String = r.get(0)?;
            let category: String = r.get(1)?;
            let severity: String = r.get(2)?;
            let current: bool = r.get(3)?;
            let n = u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0);
            let bump = |t: &mut Trend| {
                if current {
                    t.current += n
                } else {
                    t.previous += n
                }
            };
            bump(out.by_category.entry(category.clone()).or_default());
            if positive.contains(&category) {
                bump(&mut out.positive);
                bump(out.positive_by_wijk.entry(wijk).or_default());
            } else {
                bump(&mut out.problems);
                bump(out.by_wijk.entry(wijk).or_default());
                bump(out.by_severity.entry(severity).or_default());
            }
        }
    }
    Ok(out)
}
