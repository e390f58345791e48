//! The overview: counts per wijk, category and severity for a period and
//! for the previous period of equal length, with positive signals (catalog
//! categories marked `positive`, e.g. `positief_signaal`) counted apart
//! from the problems. Deleted items are not counted.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::Value;
use serde::Serialize;

use super::ReviewDb;
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
    /// Length of one step of [`Stats::series`] (ms): a day for periods up
    /// to 31 days, a week up to 182 days, else 30 days (longer when that
    /// would make more than [`MAX_STEPS`] steps).
    pub step_ms: i64,
    /// The period in steps from `from` (the last one may be shorter), each
    /// with the counts of the same step of the previous period.
    pub series: Vec<Step>,
}

/// Most steps [`Stats::series`] has.
pub const MAX_STEPS: i64 = 60;

/// One step of the period and the same step of the previous period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Start (ms) in this period.
    pub start: i64,
    /// Problems in this step of this period and of the previous one.
    pub problems: Trend,
    /// Positive signals likewise.
    pub positive: Trend,
}

/// The step length for a period of `len` ms.
pub fn step_ms(len: i64) -> i64 {
    let day = super::DAY_MS;
    let base = if len <= 31 * day {
        day
    } else if len <= 182 * day {
        7 * day
    } else {
        30 * day
    };
    let steps = (len + base - 1) / base;
    if steps > MAX_STEPS {
        (len + MAX_STEPS - 1) / MAX_STEPS
    } else {
        base
    }
}

/// What [`Stats::series`] counts: every item, or those of one wijk and/or
/// one category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesFilter {
    /// Only items of this wijk.
    pub wijk: Option<String>,
    /// Only items of this category.
    pub category: Option<String>,
}

/// Counts for `scope` in `from..to` and the period before it.
/// `positive` holds the ids of the positive categories.
pub fn stats(
    db: &ReviewDb,
    scope: &Scope,
    from: i64,
    to: i64,
    positive: &BTreeSet<String>,
) -> Result<Stats, ApiError> {
    stats_with(db, scope, from, to, positive, &SeriesFilter::default())
}

/// [`stats`] with the series limited by `filter` (the other counts are
/// always of every item).
pub fn stats_with(
    db: &ReviewDb,
    scope: &Scope,
    from: i64,
    to: i64,
    positive: &BTreeSet<String>,
    filter: &SeriesFilter,
) -> Result<Stats, ApiError> {
    let previous_from = from - (to - from);
    let step = step_ms(to - from);
    let steps = usize::try_from((to - from + step - 1) / step).unwrap_or(0);
    let mut out = Stats {
        from,
        to,
        previous_from,
        step_ms: step,
        series: (0..steps)
            .map(|i| Step {
                start: from + step * i as i64,
                ..Step::default()
            })
            .collect(),
        ..Stats::default()
    };
    let dialect = db.require_dialect()?;
    for (table, part) in [("observations", &scope.walks), ("notes", &scope.notes)] {
        let Some(team) = part else { continue };
        let mut sql = format!(
            "SELECT coalesce(wijk, ''), coalesce(category, ''), coalesce(severity, ''), \
             created_at >= ?1, count(*) FROM {table} \
             WHERE {} AND created_at >= ?2 AND created_at < ?3",
            dialect.is_false("deleted")
        );
        let mut params = vec![
            Value::Integer(from),
            Value::Integer(previous_from),
            Value::Integer(to),
        ];
        if let Some(t) = team {
            sql.push_str(" AND team = ?4");
            params.push(Value::Text(t.clone()));
        }
        sql.push_str(" GROUP BY 1, 2, 3, 4");
        db.each_row(&sql, &params, |r| {
            let wijk = r.text(0)?;
            let category = r.text(1)?;
            let severity = r.text(2)?;
            let current = r.boolean(3)?;
            let n = u64::try_from(r.int(4)?).unwrap_or(0);
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
            Ok(())
        })?;
    }
    // The series: per step of either period, problems and positive signals.
    for (table, part) in [("observations", &scope.walks), ("notes", &scope.notes)] {
        let Some(team) = part else { continue };
        let mut sql = format!(
            "SELECT created_at >= ?1, \
             (created_at - CASE WHEN created_at >= ?1 THEN ?1 ELSE ?2 END) / ?3, \
             coalesce(category, ''), count(*) FROM {table} \
             WHERE {} AND created_at >= ?2 AND created_at < ?4",
            dialect.is_false("deleted")
        );
        let mut params = vec![
            Value::Integer(from),
            Value::Integer(previous_from),
            Value::Integer(step),
            Value::Integer(to),
        ];
        for (column, value) in [
            ("team", team.as_ref()),
            ("wijk", filter.wijk.as_ref()),
            ("category", filter.category.as_ref()),
        ] {
            if let Some(v) = value {
                params.push(Value::Text(v.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", params.len()));
            }
        }
        sql.push_str(" GROUP BY 1, 2, 3");
        db.each_row(&sql, &params, |r| {
            let current = r.boolean(0)?;
            let i = usize::try_from(r.int(1)?).unwrap_or(usize::MAX);
            let category = r.text(2)?;
            let n = u64::try_from(r.int(3)?).unwrap_or(0);
            let Some(s) = out.series.get_mut(i) else {
                return Ok(());
            };
            let t = if positive.contains(&category) {
                &mut s.positive
            } else {
                &mut s.problems
            };
            if current {
                t.current += n;
            } else {
                t.previous += n;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::DAY_MS as DAY;

    #[test]
    fn steps_are_days_weeks_or_months_and_at_most_sixty() {
        assert_eq!(step_ms(DAY), DAY);
        assert_eq!(step_ms(30 * DAY), DAY);
        assert_eq!(step_ms(31 * DAY), DAY);
        assert_eq!(step_ms(32 * DAY), 7 * DAY);
        assert_eq!(step_ms(90 * DAY), 7 * DAY);
        assert_eq!(step_ms(366 * DAY), 30 * DAY);
        let long = 20 * 365 * DAY;
        assert!((long + step_ms(long) - 1) / step_ms(long) <= MAX_STEPS);
    }
}
