//! Residents' points in the database (`resident_points`, migration 0012).
//! Every function takes a connection to the server's database file (the
//! review layer's pool) and blocks.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::receipt::Receipt;

/// A checked submission, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoint {
    /// Catalog wijk id.
    pub wijk: String,
    /// What should be looked at.
    pub text: String,
    /// Catalog category id.
    pub category: Option<String>,
    /// Street and number, as typed.
    pub place: Option<String>,
    /// A point on the map (lat, lon).
    pub location: Option<(f64, f64)>,
    /// Contact details, only with consent.
    pub contact: Option<Contact>,
}

/// A resident's contact details (personal data).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// Name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number, as typed.
    pub phone: Option<String>,
}

/// Stores `p` under a fresh receipt code (a new one is drawn in the
/// impossible case that it is taken) and audits the submission (ids only).
pub fn insert(conn: &Connection, p: &NewPoint, now: i64) -> rusqlite::Result<(i64, Receipt)> {
    let tx = conn.unchecked_transaction()?;
    let contact = p.contact.clone().unwrap_or_default();
    let mut tries = 0;
    let (id, receipt) = loop {
        tries += 1;
        let receipt = Receipt::random().ok_or(rusqlite::Error::InvalidQuery)?;
        let res = tx.execute(
            "INSERT INTO resident_points (receipt, wijk, text, category, place, lat, lon, \
             contact_name, contact_email, contact_phone, contact_consent, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'ontvangen', ?12, ?12)",
            params![
                receipt.as_str(),
                p.wijk,
                p.text,
                p.category,
                p.place,
                p.location.map(|l| l.0),
                p.location.map(|l| l.1),
                contact.name,
                contact.email,
                contact.phone,
                p.contact.is_some(),
                now,
            ],
        );
        match res {
            Ok(_) => break (tx.last_insert_rowid(), receipt),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation && tries < 4 =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    };
    crate::mail::outbox::audit(
        &tx,
        now,
        None,
        "resident_point.submitted",
        Some(&format!("point/{id}")),
        &serde_json::json!({"wijk": p.wijk, "with_contact": p.contact.is_some()}),
    )?;
    tx.commit()?;
    Ok((id, receipt))
}

/// What the public may know about a point: its status and dates, never the
/// text or the contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicStatus {
    /// `ontvangen`, `op_agenda`, `bekeken`, `opgepakt`, `afgerond` or `afgewezen`.
    pub status: String,
    /// Last change (ms).
    pub updated_at: i64,
    /// The planned start of the walk whose agenda holds it (ms).
    pub walk_date: Option<i64>,
    /// `opgepakt`: the partner's catalog id.
    pub partner: Option<String>,
    /// `afgewezen`: the reason code.
    pub decline_reason: Option<String>,
}

/// How many merges are followed to the point that holds the status.
const MAX_MERGE_HOPS: usize = 8;

/// The public status of the point with `receipt`; a point merged into
/// another shows that one's status (never its text or receipt).
pub fn public_status(
    conn: &Connection,
    receipt: &Receipt,
) -> rusqlite::Result<Option<PublicStatus>> {
    let mut row = conn
        .query_row(
            "SELECT merged_into, status, updated_at, walk_date, partner, decline_reason \
             FROM resident_points WHERE receipt = ?1",
            params![receipt.as_str()],
            read_status,
        )
        .optional()?;
    for _ in 0..MAX_MERGE_HOPS {
        let Some((Some(into), own)) = row.clone() else {
            break;
        };
        let next = conn
            .query_row(
                "SELECT merged_into, status, updated_at, walk_date, partner, decline_reason \
                 FROM resident_points WHERE id = ?1",
                params![into],
                read_status,
            )
            .optional()?;
        row = match next {
            Some((m, mut s)) => {
                s.updated_at = s.updated_at.max(own.updated_at);
                Some((m, s))
            }
            None => Some((None, own)),
        };
    }
    Ok(row.map(|(_, s)| s))
}

fn read_status(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Option<i64>, PublicStatus)> {
    Ok((
        r.get(0)?,
        PublicStatus {
            status: r.get(1)?,
            updated_at: r.get(2)?,
            walk_date: r.get(3)?,
            partner: r.get(4)?,
            decline_reason: r.get(5)?,
        },
    ))
}

/// The reasons a coordinator can give for declining a point, as the
/// resident reads them (general words, B1): `(code, sentence)`.
pub const DECLINE_REASONS: &[(&str, &str)] = &[
    (
        "andere_instantie",
        "Dit hoort bij een andere organisatie. Die kan u beter helpen.",
    ),
    ("al_bekend", "Dit is al bekend. Er wordt al aan gewerkt."),
    (
        "te_weinig_informatie",
        "Er stond te weinig in om er iets mee te doen.",
    ),
    ("buiten_de_wijk", "Dit is buiten de wijk."),
    (
        "direct_melden",
        "Dit kunt u beter meteen melden bij de gemeente of de politie.",
    ),
];

/// The sentence of a decline reason (a general one for an unknown code).
pub fn decline_sentence(code: &str) -> &'static str {
    DECLINE_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("We pakken dit niet op.", |(_, s)| s)
}
