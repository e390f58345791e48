//! The wijkbericht ("u meldde, wij deden"): what was seen and what was done
//! in one wijk over one period, for its residents (`wijkberichten`,
//! migration 0014; docs/api.md, "Wijkberichten").
//!
//! The draft is written from **structured fields only**: counts of the
//! projection tables per category (deleted items left out), the partners of
//! `item_partners` with how many they finished, how many items had their
//! feedback given, and how many residents' points came in and were picked
//! up — with the catalog's labels. No text, place, name, contact or note
//! of an item or a point is read, so none can end up in it. A coordinator
//! edits the text (optimistic locking on `version`) and publishes it; the
//! residents' wijk page shows the newest published one of the wijk, never a
//! draft. Publishing refuses a text that looks like it holds an e-mail
//! address or a phone number (the coordinator may have typed one).
//!
//! Every function takes a connection to the server's database file (the
//! review layer's pool) and blocks.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use wijklog_shared::Catalog;

use crate::edge::ApiError;

/// The longest text a wijkbericht may have (characters).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// The longest period a draft may cover (days, both ends included).
pub const MAX_PERIOD_DAYS: i64 = 366;

/// A period of whole days in Amsterdam, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: jiff::civil::Date,
    /// The last day.
    pub to: jiff::civil::Date,
    /// 00:00 of `from` in Amsterdam (ms).
    pub from_ms: i64,
    /// 00:00 of the day after `to` in Amsterdam (ms, exclusive).
    pub end_ms: i64,
}

fn day_start(d: jiff::civil::Date) -> Option<i64> {
    d.to_zoned_datetime(super::sheet::amsterdam())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

impl Period {
    /// `from` and `to` as `YYYY-MM-DD`; 400 `invalid_parameter` unless both
    /// are dates, `from` is not after `to` and the period is at most
    /// [`MAX_PERIOD_DAYS`] days.
    pub fn parse(from: &str, to: &str) -> Result<Self, ApiError> {
        let date = |name: &'static str, v: &str| {
            v.trim()
                .parse::<jiff::civil::Date>()
                .ok()
                .filter(|d| (2000..=2100).contains(&d.year()))
                .ok_or(ApiError::param(
                    name,
                    "A date must be written as YYYY-MM-DD (2000 to 2100).",
                ))
        };
        let (f, t) = (date("from", from)?, date("to", to)?);
        if f > t {
            return Err(ApiError::param("from", "from must not be after to."));
        }
        let bad = || ApiError::param("to", "The period does not exist in Amsterdam time.");
        let from_ms = day_start(f).ok_or_else(bad)?;
        let end_ms = t.tomorrow().ok().and_then(day_start).ok_or_else(bad)?;
        // A day is 23 to 25 hours long; count them by their starts.
        if (end_ms - from_ms + super::DAY_MS / 2) / super::DAY_MS > MAX_PERIOD_DAYS {
            return Err(ApiError::param(
                "to",
                "A wijkbericht covers at most 366 days.",
            ));
        }
        Ok(Self {
            from: f,
            to: t,
            from_ms,
            end_ms,
        })
    }
}

/// How often one category was noted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// Catalog id.
    pub id: String,
    /// Catalog label (the id when the catalog does not know it).
    pub label: String,
    /// A positive signal.
    pub positive: bool,
    /// Items.
    pub count: u64,
}

/// What one partner picked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerCount {
    /// Catalog id.
    pub id: String,
    /// Catalog label.
    pub label: String,
    /// Items handed to this partner.
    pub picked_up: u64,
    /// Of those, finished (`afgerond`).
    pub finished: u64,
}

/// The counts a draft is written from: only structured fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Wijk id.
    pub wijk: String,
    /// Wijk label.
    pub wijk_label: String,
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    /// Last day (`YYYY-MM-DD`, included).
    pub to: String,
    /// Walks with at least one item in the period.
    pub walks: u64,
    /// Spreekuren with at least one note in the period.
    pub sessions: u64,
    /// Items in non-positive categories.
    pub problems: u64,
    /// Items in positive categories.
    pub positive: u64,
    /// Per category, most first (then catalog order).
    pub categories: Vec<CategoryCount>,
    /// Per partner, in catalog order.
    pub partners: Vec<PartnerCount>,
    /// Items whose reporter was told what happened.
    pub feedback_given: u64,
    /// Residents' points handed in for the wijk in the period (merged
    /// duplicates not counted).
    pub resident_points: u64,
    /// Of those, picked up by a partner or done.
    pub resident_points_handled: u64,
}

fn catalog_order<T>(m: &BTreeMap<String, T>, order: impl Fn(&T) -> Option<i64>, id: &str) -> i64 {
    m.get(id).and_then(order).unwrap_or(i64::MAX)
}

/// Counts the wijk's items and points in `period`.
pub fn facts(
    conn: &Connection,
    catalog: &Catalog,
    wijk: &str,
    period: &Period,
) -> Result<Facts, ApiError> {
    let p = params![wijk, period.from_ms, period.end_ms];
    let live = "deleted = 0 AND wijk = ?1 AND created_at >= ?2 AND created_at < ?3";
    let mut per_cat: BTreeMap<String, u64> = BTreeMap::new();
    let mut docs = [0u64; 2];
    let mut feedback_given = 0u64;
    let mut per_partner: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (i, table) in ["observations", "notes"].into_iter().enumerate() {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT coalesce(category, ''), count(*) FROM {table} WHERE {live} GROUP BY 1"
        ))?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let n = u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            *per_cat.entry(r.get(0)?).or_default() += n;
        }
        let (d, fb): (i64, i64) = conn.query_row(
            &format!(
                "SELECT count(DISTINCT doc_id), coalesce(sum(fb_given_at IS NOT NULL), 0) \
                 FROM {table} WHERE {live}"
            ),
            p,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        docs[i] = u64::try_from(d).unwrap_or(0);
        feedback_given += u64::try_from(fb).unwrap_or(0);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT p.partner, count(*), coalesce(sum(p.status = 'afgerond'), 0) \
             FROM item_partners p JOIN {table} t ON t.doc_id = p.doc_id AND t.item_id = p.item_id \
             WHERE t.deleted = 0 AND t.wijk = ?1 AND t.created_at >= ?2 AND t.created_at < ?3 \
             GROUP BY 1"
        ))?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let e = per_partner.entry(r.get(0)?).or_default();
            e.0 += u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            e.1 += u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0);
        }
    }
    let (points, handled): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(status IN ('opgepakt', 'afgerond')), 0) FROM resident_points \
         WHERE wijk = ?1 AND created_at >= ?2 AND created_at < ?3 AND merged_into IS NULL",
        p,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;

    let mut categories: Vec<CategoryCount> = per_cat
        .into_iter()
        .map(|(id, count)| {
            let entry = catalog.categories.get(&id);
            CategoryCount {
                label: entry.and_then(|c| c.label.clone()).unwrap_or_else(|| {
                    if id.is_empty() {
                        "Zonder onderwerp".to_owned()
                    } else {
                        id.clone()
                    }
                }),
                positive: entry.is_some_and(|c| c.positive),
                id,
                count,
            }
        })
        .collect();
    categories.sort_by_key(|c| {
        (
            std::cmp::Reverse(c.count),
            catalog_order(&catalog.categories, |e| e.order, &c.id),
            c.id.clone(),
        )
    });
    let mut partners: Vec<PartnerCount> = per_partner
        .into_iter()
        .map(|(id, (picked_up, finished))| PartnerCount {
            label: catalog
                .partners
                .get(&id)
                .and_then(|e| e.label.clone())
                .unwrap_or_else(|| id.clone()),
            id,
            picked_up,
            finished,
        })
        .collect();
    partners.sort_by_key(|c| {
        (
            catalog_order(&catalog.partners, |e| e.order, &c.id),
            c.id.clone(),
        )
    });
    let positive = categories
        .iter()
        .filter(|c| c.positive)
        .map(|c| c.count)
        .sum();
    let problems = categories
        .iter()
        .filter(|c| !c.positive)
        .map(|c| c.count)
        .sum();
    Ok(Facts {
        wijk: wijk.to_owned(),
        wijk_label: catalog
            .wijken
            .get(wijk)
            .and_then(|w| w.label.clone())
            .unwrap_or_else(|| wijk.to_owned()),
        from: period.from.to_string(),
        to: period.to.to_string(),
        walks: docs[0],
        sessions: docs[1],
        problems,
        positive,
        categories,
        partners,
        feedback_given,
        resident_points: u64::try_from(points).unwrap_or(0),
        resident_points_handled: u64::try_from(handled).unwrap_or(0),
    })
}

/// `n` with the singular or plural noun (`1 punt`, `2 punten`).
pub fn count_of(n: u64, one: &str, more: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {more}")
    }
}

/// The period in Dutch words: `1 november 2026 tot en met 30 november 2026`
/// (one day: `8 december 2026`).
pub fn period_words(from: &str, to: &str) -> String {
    let words = |d: &str| {
        d.parse::<jiff::civil::Date>()
            .ok()
            .and_then(day_start)
            .map(super::sheet::dutch_day)
            .unwrap_or_else(|| d.to_owned())
    };
    if from == to {
        words(from)
    } else {
        format!("{} tot en met {}", words(from), words(to))
    }
}

/// The draft: plain text in Dutch (B1), paragraphs separated by an empty
/// line, list lines starting with `- `, and a question alone on its line as
/// a heading (see [`blocks`]). Only `facts` goes in.
pub fn draft_text(f: &Facts) -> String {
    let mut out = Vec::<String>::new();
    let period = period_words(&f.from, &f.to);
    out.push(if f.from == f.to {
        format!("Dit zagen en deden we in {} op {period}.", f.wijk_label)
    } else {
        format!("Dit zagen en deden we in {} van {period}.", f.wijk_label)
    });
    out.push("Wat zagen we?".into());
    let items = f.problems + f.positive;
    if items == 0 {
        out.push("In deze periode noteerden we geen punten in de wijk.".into());
    } else {
        let mut visits = Vec::new();
        if f.walks > 0 {
            visits.push(count_of(f.walks, "wandeling", "wandelingen"));
        }
        if f.sessions > 0 {
            visits.push(count_of(f.sessions, "spreekuur", "spreekuren"));
        }
        out.push(format!(
            "Tijdens {} noteerden we {}.",
            visits.join(" en "),
            count_of(items, "punt", "punten")
        ));
        if f.problems > 0 {
            let lines: Vec<String> = f
                .categories
                .iter()
                .filter(|c| !c.positive)
                .map(|c| format!("- {}: {}", c.label, count_of(c.count, "keer", "keer")))
                .collect();
            out.push(format!("Dit zagen we:\n{}", lines.join("\n")));
        }
    }
    out.push("Wat deden we?".into());
    if f.partners.is_empty() {
        out.push("In deze periode gaven we geen punten door aan een partner.".into());
    } else {
        let lines: Vec<String> = f
            .partners
            .iter()
            .map(|p| {
                let picked = format!("{} opgepakt", count_of(p.picked_up, "punt", "punten"));
                if p.finished > 0 {
                    format!("- {}: {picked}, {} klaar", p.label, p.finished)
                } else {
                    format!("- {}: {picked}", p.label)
                }
            })
            .collect();
        out.push(format!(
            "Deze partners pakten punten op:\n{}",
            lines.join("\n")
        ));
    }
    if f.feedback_given > 0 {
        out.push(format!(
            "Bij {} lieten we de melder weten wat we ermee deden.",
            count_of(f.feedback_given, "punt", "punten")
        ));
    }
    if f.resident_points > 0 {
        let handled = match f.resident_points_handled {
            0 if f.resident_points == 1 => "We bekijken het zo snel mogelijk.".to_owned(),
            0 => "We bekijken ze zo snel mogelijk.".to_owned(),
            1 => "Daarvan is er 1 opgepakt of klaar.".to_owned(),
            n => format!("Daarvan zijn er {n} opgepakt of klaar."),
        };
        out.push(format!(
            "Via de bewonerspagina gaven bewoners {} door. {handled}",
            count_of(f.resident_points, "punt", "punten")
        ));
    }
    out.push("Wat gaat goed?".into());
    if f.positive == 0 {
        out.push(
            "Deze keer noteerden we geen positieve signalen. Ziet u iets dat goed gaat in de wijk? \
             Laat het ons weten."
                .into(),
        );
    } else {
        let kinds: Vec<&CategoryCount> = f.categories.iter().filter(|c| c.positive).collect();
        let head = format!(
            "We zagen {}.",
            count_of(f.positive, "positief signaal", "positieve signalen")
        );
        if kinds.len() > 1 {
            let lines: Vec<String> = kinds
                .iter()
                .map(|c| format!("- {}: {}", c.label, count_of(c.count, "keer", "keer")))
                .collect();
            out.push(format!("{head}\n{}", lines.join("\n")));
        } else {
            out.push(format!("{head} Dank aan iedereen die meehelpt."));
        }
    }
    out.push(
        "Ziet u iets in de wijk? Geef het door op de bewonerspagina van uw wijk, \
         of kom langs op het spreekuur."
            .into(),
    );
    out.join("\n\n")
}

/// One block of a wijkbericht's text, for the pages that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A question or short line alone in its paragraph, ending in `?`.
    Heading(String),
    /// Lines of a paragraph (kept as lines).
    Paragraph(Vec<String>),
    /// Consecutive lines starting with `- `.
    List(Vec<String>),
}

/// Splits `text` into blocks: paragraphs at empty lines; in a paragraph,
/// runs of lines starting with `- ` become a list; a paragraph of one line
/// of at most 80 characters ending in `?` is a heading.
pub fn blocks(text: &str) -> Vec<Block> {
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let lines: Vec<&str> = para
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        if lines.len() == 1 && lines[0].ends_with('?') && lines[0].chars().count() <= 80 {
            out.push(Block::Heading(lines[0].trim().to_owned()));
            continue;
        }
        let mut plain: Vec<String> = Vec::new();
        let mut list: Vec<String> = Vec::new();
        for l in lines {
            if let Some(item) = l.trim_start().strip_prefix("- ") {
                if !plain.is_empty() {
                    out.push(Block::Paragraph(std::mem::take(&mut plain)));
                }
                list.push(item.trim().to_owned());
            } else {
                if !list.is_empty() {
                    out.push(Block::List(std::mem::take(&mut list)));
                }
                plain.push(l.trim().to_owned());
            }
        }
        if !plain.is_empty() {
            out.push(Block::Paragraph(plain));
        }
        if !list.is_empty() {
            out.push(Block::List(list));
        }
    }
    out
}

/// Whether `text` seems to hold an e-mail address (`x@y.z`) or a phone
/// number (9 or more digits with only spaces, dashes, dots, brackets,
/// slashes or a plus between them).
pub fn looks_personal(text: &str) -> bool {
    let email = text
        .split(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c))
        .any(|w| {
            w.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty()
                    && host
                        .trim_end_matches(['.', '!', '?'])
                        .split_once('.')
                        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            })
        });
    if email {
        return true;
    }
    let mut digits = 0;
    let mut seps = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            seps = 0;
            if digits >= 9 {
                return true;
            }
        } else if " -.()/+".contains(c) && digits > 0 && seps < 2 {
            seps += 1;
        } else {
            digits = 0;
            seps = 0;
        }
    }
    false
}

/// 400 unless `text` is 1 to [`MAX_TEXT_CHARS`] characters after trimming,
/// with no control characters but line breaks and tabs. Returns it with
/// `\r\n` as `\n` and trimmed.
pub fn check_text(text: &str) -> Result<String, ApiError> {
    let t = text.replace("\r\n", "\n");
    let t = t.trim();
    if t.is_empty() {
        return Err(ApiError::param("text", "The text must not be empty."));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::param(
            "text",
            "The text is longer than 20,000 characters.",
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::param(
            "text",
            "The text holds control characters (only line breaks and tabs are allowed).",
        ));
    }
    Ok(t.to_owned())
}

/// A stored wijkbericht.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wijkbericht {
    /// Id.
    pub id: i64,
    /// Wijk id.
    pub wijk: String,
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    /// Last day (`YYYY-MM-DD`, included).
    pub to: String,
    /// `concept` or `gepubliceerd`.
    pub status: String,
    /// +1 on every change; a change must name the version it was made on.
    pub version: i64,
    /// The text.
    pub text: String,
    /// The counts the draft was written from.
    pub facts: Facts,
    /// Made (ms) and by (user id).
    pub created_at: i64,
    /// Maker.
    pub created_by: String,
    /// Last change (ms).
    pub updated_at: i64,
    /// Last changed by.
    pub updated_by: String,
    /// Published (ms), while published.
    pub published_at: Option<i64>,
    /// Published by.
    pub published_by: Option<String>,
}

const COLUMNS: &str = "id, wijk, period_from, period_to, status, version, text, facts_json, \
     created_at, created_by, updated_at, updated_by, published_at, published_by";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Wijkbericht> {
    let facts: String = r.get(7)?;
    let facts = serde_json::from_str(&facts).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Wijkbericht {
        id: r.get(0)?,
        wijk: r.get(1)?,
        from: r.get(2)?,
        to: r.get(3)?,
        status: r.get(4)?,
        version: r.get(5)?,
        text: r.get(6)?,
        facts,
        created_at: r.get(8)?,
        created_by: r.get(9)?,
        updated_at: r.get(10)?,
        updated_by: r.get(11)?,
        published_at: r.get(12)?,
        published_by: r.get(13)?,
    })
}

fn audit(
    conn: &Connection,
    at: i64,
    by: &str,
    action: &str,
    w: &Wijkbericht,
) -> rusqlite::Result<()> {
    let detail = serde_json::json!({
        "wijk": w.wijk, "from": w.from, "to": w.to, "version": w.version,
        "chars": w.text.chars().count(),
    });
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            at,
            by,
            action,
            format!("wijkbericht/{}", w.id),
            detail.to_string()
        ],
    )?;
    Ok(())
}

/// Stores a new draft of `facts` (its text written by [`draft_text`]),
/// audited `wijkbericht.create`.
pub fn create(
    conn: &Connection,
    facts: &Facts,
    by: &str,
    now: i64,
) -> Result<Wijkbericht, ApiError> {
    let tx = conn.unchecked_transaction()?;
    let json = serde_json::to_string(facts).map_err(|e| ApiError::Internal(e.into()))?;
    tx.execute(
        "INSERT INTO wijkberichten (wijk, period_from, period_to, facts_json, text, status, version, \
         created_by, created_at, updated_by, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'concept', 1, ?6, ?7, ?6, ?7)",
        params![facts.wijk, facts.from, facts.to, json, draft_text(facts), by, now],
    )?;
    let w = get(&tx, tx.last_insert_rowid())?.ok_or(ApiError::NotFound)?;
    audit(&tx, now, by, "wijkbericht.create", &w)?;
    tx.commit()?;
    Ok(w)
}

/// One wijkbericht.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Wijkbericht>, ApiError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM wijkberichten WHERE id = ?1"),
            [id],
            read,
        )
        .optional()?)
}

/// The newest first (by last change), of one wijk or all.
pub fn list(
    conn: &Connection,
    wijk: Option<&str>,
    limit: u32,
) -> Result<Vec<Wijkbericht>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM wijkberichten WHERE ?1 IS NULL OR wijk = ?1 \
         ORDER BY updated_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![wijk, limit], read)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What may be done to a wijkbericht.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace the text (drafts only).
    Edit(String),
    /// Publish the text as it is at `version`.
    Publish,
    /// Take it off the public page; it is a draft again.
    Withdraw,
}

/// Applies `change` to wijkbericht `id` as it was at `version`: 409
/// `stale_version` when it changed since, 409 `wijkbericht_published` for
/// an edit of a published one, 409 `wijkbericht_not_published` for a
/// withdrawal of a draft, 422 `personal_data` for publishing a text that
/// looks like it holds an e-mail address or phone number. Publishing and
/// withdrawing are audited (`wijkbericht.publish`, `wijkbericht.withdraw`).
pub fn apply(
    conn: &Connection,
    id: i64,
    version: i64,
    change: &Change,
    by: &str,
    now: i64,
) -> Result<Wijkbericht, ApiError> {
    let tx = conn.unchecked_transaction()?;
    let w = get(&tx, id)?.ok_or(ApiError::NotFound)?;
    if w.version != version {
        return Err(ApiError::Conflict {
            code: "stale_version",
            message: "Someone changed this wijkbericht in the meantime; nothing was saved. Load it again.",
        });
    }
    let published = w.status == "gepubliceerd";
    match change {
        Change::Edit(text) => {
            if published {
                return Err(ApiError::Conflict {
                    code: "wijkbericht_published",
                    message: "A published wijkbericht cannot be changed; withdraw it first.",
                });
            }
            tx.execute(
                "UPDATE wijkberichten SET text = ?2, version = version + 1, updated_by = ?3, \
                 updated_at = ?4 WHERE id = ?1",
                params![id, text, by, now],
            )?;
        }
        Change::Publish => {
            if looks_personal(&w.text) {
                return Err(ApiError::Refused {
                    code: "personal_data",
                    message: "The text seems to hold an e-mail address or a phone number; a wijkbericht is public. Remove it and publish again.",
                });
            }
            tx.execute(
                "UPDATE wijkberichten SET status = 'gepubliceerd', version = version + 1, \
                 updated_by = ?2, updated_at = ?3, published_by = ?2, published_at = ?3 WHERE id = ?1",
                params![id, by, now],
            )?;
        }
        Change::Withdraw => {
            if !published {
                return Err(ApiError::Conflict {
                    code: "wijkbericht_not_published",
                    message: "This wijkbericht is not published.",
                });
            }
            tx.execute(
                "UPDATE wijkberichten SET status = 'concept', version = version + 1, \
                 updated_by = ?2, updated_at = ?3, published_by = NULL, published_at = NULL \
                 WHERE id = ?1",
                params![id, by, now],
            )?;
        }
    }
    let w = get(&tx, id)?.ok_or(ApiError::NotFound)?;
    match change {
        Change::Publish => audit(&tx, now, by, "wijkbericht.publish", &w)?,
        Change::Withdraw => audit(&tx, now, by, "wijkbericht.withdraw", &w)?,
        Change::Edit(_) => {}
    }
    tx.commit()?;
    Ok(w)
}

/// What the residents' pages show: the newest published wijkbericht of
/// `wijk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    /// Last day (`YYYY-MM-DD`, included).
    pub to: String,
    /// Published (ms).
    pub published_at: i64,
    /// The approved text.
    pub text: String,
}

/// The newest published wijkbericht of `wijk`, if any.
pub fn published(conn: &Connection, wijk: &str) -> Result<Option<Published>, ApiError> {
    Ok(conn
        .query_row(
            "SELECT period_from, period_to, published_at, text FROM wijkberichten \
             WHERE wijk = ?1 AND status = 'gepubliceerd' \
             ORDER BY published_at DESC, id DESC LIMIT 1",
            [wijk],
            |r| {
                Ok(Published {
                    from: r.get(0)?,
                    to: r.get(1)?,
                    published_at: r.get(2)?,
                    text: r.get(3)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            wijk: "oostermeent".into(),
            wijk_label: "Oostermeent".into(),
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            walks: 2,
            sessions: 1,
            problems: 6,
            positive: 1,
            categories: vec![
                CategoryCount {
                    id: "jeugdoverlast".into(),
                    label: "Jeugdoverlast".into(),
                    positive: false,
                    count: 5,
                },
                CategoryCount {
                    id: "positief_signaal".into(),
                    label: "Positief signaal".into(),
                    positive: true,
                    count: 1,
                },
                CategoryCount {
                    id: "verkeer".into(),
                    label: "Verkeer".into(),
                    positive: false,
                    count: 1,
                },
            ],
            partners: vec![
                PartnerCount {
                    id: "politie".into(),
                    label: "Politie (wijkagent)".into(),
                    picked_up: 3,
                    finished: 2,
                },
                PartnerCount {
                    id: "school".into(),
                    label: "School".into(),
                    picked_up: 1,
                    finished: 0,
                },
            ],
            feedback_given: 1,
            resident_points: 2,
            resident_points_handled: 1,
        }
    }

    #[test]
    fn the_draft_says_counts_in_words_with_dutch_plurals() {
        let t = draft_text(&facts());
        for want in [
            "Dit zagen en deden we in Oostermeent van 1 november 2026 tot en met 30 november 2026.",
            "Tijdens 2 wandelingen en 1 spreekuur noteerden we 7 punten.",
            "- Jeugdoverlast: 5 keer\n- Verkeer: 1 keer",
            "- Politie (wijkagent): 3 punten opgepakt, 2 klaar\n- School: 1 punt opgepakt",
            "Bij 1 punt lieten we de melder weten wat we ermee deden.",
            "gaven bewoners 2 punten door. Daarvan is er 1 opgepakt of klaar.",
            "We zagen 1 positief signaal.",
        ] {
            assert!(t.contains(want), "{want:?} not in:\n{t}");
        }
        assert!(!t.contains("- Positief signaal"), "{t}");

        let empty = Facts {
            walks: 0,
            sessions: 0,
            problems: 0,
            positive: 0,
            categories: vec![],
            partners: vec![],
            feedback_given: 0,
            resident_points: 0,
            resident_points_handled: 0,
            to: "2026-11-01".into(),
            ..facts()
        };
        let t = draft_text(&empty);
        assert!(
            t.starts_with("Dit zagen en deden we in Oostermeent op 1 november 2026.\n\n"),
            "{t}"
        );
        assert!(t.contains("geen punten in de wijk"), "{t}");
        assert!(t.contains("geen punten door aan een partner"), "{t}");
        assert!(t.contains("geen positieve signalen"), "{t}");
        assert!(
            !t.contains("Bij ") && !t.contains("bewonerspagina gaven"),
            "{t}"
        );
        assert!(!looks_personal(&draft_text(&facts())));
    }

    #[test]
    fn blocks_make_headings_lists_and_paragraphs() {
        let b = blocks(
            "Titel\nregel twee\n\nWat zagen we?\n\nDit zagen we:\n- a: 1 keer\n- b: 2 keer\nEinde\r\n\r\n\n\n",
        );
        assert_eq!(
            b,
            vec![
                Block::Paragraph(vec!["Titel".into(), "regel twee".into()]),
                Block::Heading("Wat zagen we?".into()),
                Block::Paragraph(vec!["Dit zagen we:".into()]),
                Block::List(vec!["a: 1 keer".into(), "b: 2 keer".into()]),
                Block::Paragraph(vec!["Einde".into()]),
            ]
        );
    }

    #[test]
    fn e_mail_addresses_and_phone_numbers_are_spotted() {
        for yes in [
            "Mail jan@example.nl voor info",
            "(piet.de.vries@gemeente.nl)",
            "Bel 06-12345678",
            "Bel 06 1234 5678.",
            "+31 6 12 34 56 78",
            "tel. 0321-123456",
        ] {
            assert!(looks_personal(yes), "{yes}");
        }
        for no in [
            "Tijdens 2 wandelingen en 1 spreekuur noteerden we 14 punten.",
            "1 november 2026 tot en met 30 november 2026",
            "Postcode 8251 AB, 12 keer",
            "@gemeente op sociale media",
            "2026-11-30",
        ] {
            assert!(!looks_personal(no), "{no}");
        }
    }

    #[test]
    fn periods_are_whole_amsterdam_days_and_bounded() {
        let p = Period::parse("2026-03-29", "2026-03-29").expect("period");
        // The day clocks go forward is 23 hours long.
        assert_eq!(p.end_ms - p.from_ms, 23 * 3_600_000);
        // 2026-01-01 00:00 in Amsterdam is 23:00 UTC the day before.
        let p = Period::parse("2026-01-01", "2026-01-31").expect("period");
        assert_eq!(p.from_ms, 1_767_225_600_000 - 3_600_000);
        assert!(Period::parse("2026-01-01", "2026-12-31").is_ok());
        assert!(
            Period::parse("2024-01-01", "2024-12-31").is_ok(),
            "a leap year is 366 days"
        );
        for (f, t) in [
            ("2026-02-01", "2026-01-31"),
            ("2026-01-01", "2027-01-02"),
            ("2026-13-01", "2026-12-31"),
            ("1999-01-01", "1999-01-02"),
            ("gisteren", "2026-01-01"),
        ] {
            assert!(Period::parse(f, t).is_err(), "{f}..{t}");
        }
    }

    #[test]
    fn texts_are_checked() {
        assert_eq!(check_text(" a\r\nb \n").expect("ok"), "a\nb");
        assert!(check_text("  \n").is_err());
        assert!(check_text("a\u{7}b").is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(check_text(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
    }
}
