//! Feedback templates: stored in the server table `mail_templates` (one per
//! category, `''` the default), edited by admins through the API, filled in
//! by the server when a coordinator previews or sends.
//!
//! Placeholders are `{name}` from [`PLACEHOLDERS`]; a template with any
//! other `{...}` is refused when saved, so a typo never reaches a resident.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The placeholders a template may use, with what they stand for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "naam",
        "de naam van de bewoner (of \"bewoner\" als die niet bekend is)",
    ),
    ("categorie", "het onderwerp (categorie) van de melding"),
    ("wijk", "de wijk"),
    ("datum", "de dag waarop de melding binnenkwam"),
    ("wat_gedaan", "wat de coördinator invult: wat er gedaan is"),
];

/// Longest subject (characters).
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest body (characters).
pub const MAX_BODY_CHARS: usize = 10_000;

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// Category id; `""` is the default.
    pub category: String,
    /// Subject with placeholders.
    pub subject: String,
    /// Body with placeholders.
    pub body: String,
    /// Who changed it last (user id; `null` = as installed).
    pub updated_by: Option<String>,
    /// When (ms; 0 = as installed).
    pub updated_at: i64,
}

/// Why a template text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Empty subject or body.
    Empty,
    /// Too long.
    TooLong,
    /// A `{...}` that is not a known placeholder, or an unclosed `{`.
    UnknownPlaceholder(String),
}

/// Checks subject and body (see [`PLACEHOLDERS`]).
pub fn check(subject: &str, body: &str) -> Result<(), TemplateError> {
    if subject.trim().is_empty() || body.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS || body.chars().count() > MAX_BODY_CHARS {
        return Err(TemplateError::TooLong);
    }
    for text in [subject, body] {
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                return Err(TemplateError::UnknownPlaceholder(
                    after.chars().take(20).collect(),
                ));
            };
            let name = &after[..end];
            if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
                return Err(TemplateError::UnknownPlaceholder(
                    name.chars().take(40).collect(),
                ));
            }
            rest = &after[end + 1..];
        }
    }
    Ok(())
}

/// Replaces every `{name}` by its value (`values` as name/value pairs).
/// Values are inserted as they are: never scanned for placeholders again.
pub fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}').and_then(|end| {
            values
                .iter()
                .find(|(n, _)| *n == &after[..end])
                .map(|(_, v)| (end, v))
        }) {
            Some((end, v)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The template for `category`: its own, else the default.
pub fn for_category(conn: &Connection, category: &str) -> rusqlite::Result<Template> {
    let own = get(conn, category)?;
    match own {
        Some(t) => Ok(t),
        None => get(conn, "")?.ok_or(rusqlite::Error::QueryReturnedNoRows),
    }
}

/// One stored template.
pub fn get(conn: &Connection, category: &str) -> rusqlite::Result<Option<Template>> {
    conn.query_row(
        "SELECT category, subject, body, updated_by, updated_at FROM mail_templates WHERE category = ?1",
        params![category],
        row,
    )
    .optional()
}

/// Every stored template, the default first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Template>> {
    let mut stmt = conn.prepare(
        "SELECT category, subject, body, updated_by, updated_at FROM mail_templates ORDER BY category",
    )?;
    let rows = stmt.query_map([], row)?;
    rows.collect()
}

/// Stores a template and its audit entry in one transaction.
pub fn put(
    conn: &Connection,
    category: &str,
    subject: &str,
    body: &str,
    by: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO mail_templates (category, subject, body, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (category) DO UPDATE SET subject = ?2, body = ?3, updated_by = ?4, updated_at = ?5",
        params![category, subject, body, by, now],
    )?;
    super::outbox::audit(
        &tx,
        now,
        Some(by),
        "mail.template.update",
        Some(if category.is_empty() {
            "default"
        } else {
            category
        }),
        &serde_json::json!({"category": category}),
    )?;
    tx.commit()
}

/// Removes a category's own template (the default stays); audited.
pub fn delete(conn: &Connection, category: &str, by: &str, now: i64) -> rusqlite::Result<bool> {
    let tx = conn.unchecked_transaction()?;
    let n = tx.execute(
        "DELETE FROM mail_templates WHERE category = ?1 AND category <> ''",
        params![category],
    )?;
    if n > 0 {
        super::outbox::audit(
            &tx,
            now,
            Some(by),
            "mail.template.delete",
            Some(category),
            &serde_json::json!({"category": category}),
        )?;
    }
    tx.commit()?;
    Ok(n > 0)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Template> {
    Ok(Template {
        category: r.get(0)?,
        subject: r.get(1)?,
        body: r.get(2)?,
        updated_by: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_placeholders_and_never_rescans_values() {
        let out = fill(
            "Beste {naam}, over {categorie}: {wat_gedaan} {onbekend}",
            &[
                ("naam", "Jan {categorie}".into()),
                ("categorie", "afval".into()),
                ("wat_gedaan", "opgeruimd".into()),
            ],
        );
        assert_eq!(
            out,
            "Beste Jan {categorie}, over afval: opgeruimd {onbekend}"
        );
    }

    #[test]
    fn check_refuses_unknown_and_unclosed_placeholders() {
        assert_eq!(check("Over {categorie}", "Beste {naam}"), Ok(()));
        assert_eq!(
            check("Over {categori}", "x"),
            Err(TemplateError::UnknownPlaceholder("categori".into()))
        );
        assert!(matches!(
            check("x", "Beste {naam"),
            Err(TemplateError::UnknownPlaceholder(_))
        ));
        assert_eq!(check(" ", "x"), Err(TemplateError::Empty));
        assert_eq!(
            check("x", &"a".repeat(MAX_BODY_CHARS + 1)),
            Err(TemplateError::TooLong)
        );
    }
}
