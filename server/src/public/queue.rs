//! The coordinators' queue of residents' points per wijk (docs/api.md,
//! "Residents' points"): list, read, and the changes a coordinator makes —
//! onto a walk's agenda, looked at, picked up by a partner, done, declined
//! with a reason, merged into another point. Each change is one transaction
//! with its audit entry and, for a resident who gave an e-mail address and
//! consent, the status mail in the outbox. Every function blocks.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::points::{DECLINE_REASONS, decline_sentence};
use super::receipt::Receipt;
use crate::mail::outbox::{AuditInfo, Kind, NewMessage, enqueue_in};
use crate::review::sheet::dutch_day;

/// Most points one list returns.
pub const MAX_LIST: u32 = 500;

/// A point as coordinators see it in the queue (no contact details).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePoint {
    /// Id.
    pub id: i64,
    /// Receipt code (shown with dashes).
    pub receipt: String,
    /// Wijk id.
    pub wijk: String,
    /// The resident's text.
    pub text: String,
    /// Category id.
    pub category: Option<String>,
    /// Street and number.
    pub place: Option<String>,
    /// `{lat, lon}`.
    pub location: Option<serde_json::Value>,
    /// Whether contact details (with consent) came with it.
    pub has_contact: bool,
    /// Status.
    pub status: String,
    /// The walk whose agenda holds it.
    pub walk: Option<String>,
    /// That walk's planned start (ms).
    pub walk_date: Option<i64>,
    /// The observation it led to.
    pub observation: Option<String>,
    /// Picked up by (partner id).
    pub partner: Option<String>,
    /// Decline reason code.
    pub decline_reason: Option<String>,
    /// The point it was merged into.
    pub merged_into: Option<i64>,
    /// Points merged into this one.
    pub duplicates: i64,
    /// Handed in (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

const COLUMNS: &str = "p.id, p.receipt, p.wijk, p.text, p.category, p.place, p.lat, p.lon, \
    (p.contact_email IS NOT NULL OR p.contact_phone IS NOT NULL), p.status, p.walk_doc, p.walk_date, \
    p.observation, p.partner, p.decline_reason, p.merged_into, \
    (SELECT count(*) FROM resident_points d WHERE d.merged_into = p.id), p.created_at, p.updated_at";

fn read_point(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueuePoint> {
    let lat: Option<f64> = r.get(6)?;
    let lon: Option<f64> = r.get(7)?;
    let walk: Option<Vec<u8>> = r.get(10)?;
    let receipt: String = r.get(1)?;
    Ok(QueuePoint {
        id: r.get(0)?,
        receipt: Receipt::parse(&receipt).map_or(receipt, |r| r.display()),
        wijk: r.get(2)?,
        text: r.get(3)?,
        category: r.get(4)?,
        place: r.get(5)?,
        location: lat
            .zip(lon)
            .map(|(lat, lon)| serde_json::json!({"lat": lat, "lon": lon})),
        has_contact: r.get(8)?,
        status: r.get(9)?,
        walk: walk
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .map(|b| crate::domain::DocId::from_bytes(b).to_string()),
        walk_date: r.get(11)?,
        observation: r.get(12)?,
        partner: r.get(13)?,
        decline_reason: r.get(14)?,
        merged_into: r.get(15)?,
        duplicates: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
    })
}

/// The queue: points of `wijk` (all wijken when `None`) with `status` (all
/// open ones when `None`: not afgerond, afgewezen or merged), oldest first.
pub fn list(
    conn: &Connection,
    wijk: Option<&str>,
    status: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<QueuePoint>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM resident_points p WHERE (?1 IS NULL OR p.wijk = ?1) AND \
         (CASE WHEN ?2 IS NULL THEN p.merged_into IS NULL AND p.status NOT IN ('afgerond', 'afgewezen') \
          ELSE p.status = ?2 END) ORDER BY p.created_at, p.id LIMIT ?3"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![wijk, status, limit.min(MAX_LIST)], read_point)?;
    rows.collect()
}

/// One point with its contact details (`name`, `email`, `phone`).
pub fn get(
    conn: &Connection,
    id: i64,
) -> rusqlite::Result<Option<(QueuePoint, Option<serde_json::Value>)>> {
    let sql = format!(
        "SELECT {COLUMNS}, p.contact_name, p.contact_email, p.contact_phone FROM resident_points p WHERE p.id = ?1"
    );
    conn.query_row(&sql, params![id], |r| {
        let p = read_point(r)?;
        let name: Option<String> = r.get(19)?;
        let email: Option<String> = r.get(20)?;
        let phone: Option<String> = r.get(21)?;
        let contact = (name.is_some() || email.is_some() || phone.is_some())
            .then(|| serde_json::json!({"name": name, "email": email, "phone": phone}));
        Ok((p, contact))
    })
    .optional()
}

/// What a coordinator does with a point.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Onto the agenda of a planned walk (doc id bytes, its planned start).
    Agenda {
        /// The walk.
        walk: [u8; 16],
        /// Its planned start (ms).
        walk_date: i64,
        /// Its wijk (must be the point's).
        wijk: String,
    },
    /// Looked at (on the walk), optionally linked to the observation it led to.
    LookedAt {
        /// The observation's item id.
        observation: Option<String>,
    },
    /// Picked up by a partner (catalog id).
    PickedUp {
        /// Partner id.
        partner: String,
    },
    /// Done.
    Done,
    /// Declined with a reason code.
    Decline {
        /// One of [`DECLINE_REASONS`].
        reason: String,
    },
    /// Merged into another point (a duplicate).
    Merge {
        /// The point it duplicates.
        into: i64,
    },
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Agenda { .. } => "agenda",
            Action::LookedAt { .. } => "looked_at",
            Action::PickedUp { .. } => "picked_up",
            Action::Done => "done",
            Action::Decline { .. } => "decline",
            Action::Merge { .. } => "merge",
        }
    }

    /// The statuses this action may start from.
    fn from(&self) -> &'static [&'static str] {
        match self {
            Action::Agenda { .. } => &["ontvangen", "op_agenda"],
            Action::LookedAt { .. } => &["ontvangen", "op_agenda", "bekeken"],
            Action::PickedUp { .. } => &["ontvangen", "op_agenda", "bekeken", "opgepakt"],
            Action::Done => &["ontvangen", "op_agenda", "bekeken", "opgepakt"],
            Action::Decline { .. } => &["ontvangen", "op_agenda", "bekeken"],
            Action::Merge { .. } => &["ontvangen", "op_agenda", "bekeken", "opgepakt"],
        }
    }
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such point.
    #[error("not found")]
    NotFound,
    /// The point's status does not allow this change.
    #[error("status {0} does not allow this")]
    WrongStatus(String),
    /// The point was merged into another; change that one.
    #[error("merged")]
    Merged,
    /// Merge target invalid (itself, another wijk, merged, closed).
    #[error("bad merge target")]
    BadTarget,
    /// The walk is in another wijk.
    #[error("walk in another wijk")]
    WrongWijk,
    /// An unknown decline reason.
    #[error("unknown reason")]
    UnknownReason,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

/// A status mail to queue with a change: the mail domain and the sender's id.
#[derive(Debug, Clone)]
pub struct MailContext {
    /// `new_message_id` domain; `None` when mail is off (nothing is queued).
    pub domain: Option<String>,
}

/// Applies `action` to point `id` by `by`; returns the point afterwards and
/// how many status mails were queued.
pub fn apply(
    conn: &Connection,
    id: i64,
    action: &Action,
    by: &str,
    mail: &MailContext,
    now: i64,
) -> Result<(QueuePoint, usize), QueueError> {
    // IMMEDIATE: the transaction reads before it writes; a deferred one
    // could not upgrade after another writer (the mail worker) committed.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let (status, merged, wijk): (String, Option<i64>, String) = tx
        .query_row(
            "SELECT status, merged_into, wijk FROM resident_points WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or(QueueError::NotFound)?;
    if merged.is_some() {
        return Err(QueueError::Merged);
    }
    if !action.from().contains(&status.as_str()) {
        return Err(QueueError::WrongStatus(status));
    }
    let mut detail = serde_json::json!({"point": id, "from": status});
    match action {
        Action::Agenda {
            walk,
            walk_date,
            wijk: walk_wijk,
        } => {
            if *walk_wijk != wijk {
                return Err(QueueError::WrongWijk);
            }
            tx.execute(
                "UPDATE resident_points SET status = 'op_agenda', walk_doc = ?2, walk_date = ?3, \
                 handled_by = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, walk.as_slice(), walk_date, by, now],
            )?;
            detail["walk"] = crate::domain::DocId::from_bytes(*walk).to_string().into();
        }
        Action::LookedAt { observation } => {
            tx.execute(
                "UPDATE resident_points SET status = 'bekeken', observation = coalesce(?2, observation), \
                 handled_by = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, observation, by, now],
            )?;
            detail["observation"] = observation.clone().into();
        }
        Action::PickedUp { partner } => {
            tx.execute(
                "UPDATE resident_points SET status = 'opgepakt', partner = ?2, handled_by = ?3, \
                 updated_at = ?4 WHERE id = ?1",
                params![id, partner, by, now],
            )?;
            detail["partner"] = partner.clone().into();
        }
        Action::Done => {
            tx.execute(
                "UPDATE resident_points SET status = 'afgerond', handled_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, by, now],
            )?;
        }
        Action::Decline { reason } => {
            if !DECLINE_REASONS.iter().any(|(c, _)| c == reason) {
                return Err(QueueError::UnknownReason);
            }
            tx.execute(
                "UPDATE resident_points SET status = 'afgewezen', decline_reason = ?2, handled_by = ?3, \
                 updated_at = ?4 WHERE id = ?1",
                params![id, reason, by, now],
            )?;
            detail["reason"] = reason.clone().into();
        }
        Action::Merge { into } => {
            let target: Option<(String, Option<i64>, String)> = tx
                .query_row(
                    "SELECT status, merged_into, wijk FROM resident_points WHERE id = ?1",
                    params![into],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match target {
                Some((s, None, w))
                    if *into != id && w == wijk && s != "afgerond" && s != "afgewezen" => {}
                _ => return Err(QueueError::BadTarget),
            }
            // The point and its own duplicates now follow the target.
            tx.execute(
                "UPDATE resident_points SET merged_into = ?2, handled_by = ?3, updated_at = ?4 \
                 WHERE id = ?1 OR merged_into = ?1",
                params![id, into, by, now],
            )?;
            detail["into"] = (*into).into();
        }
    }
    crate::mail::outbox::audit(
        &tx,
        now,
        Some(by),
        &format!("resident_point.{}", action.name()),
        Some(&format!("point/{id}")),
        &detail,
    )?;
    // Status mails: the point (or, after a merge, the target) and every
    // point that follows it, to residents with an e-mail address and consent.
    let head = match action {
        Action::Merge { into } => *into,
        _ => id,
    };
    let mut queued = 0;
    if let Some(domain) = &mail.domain
        && !matches!(action, Action::Merge { .. })
    {
        queued = status_mails(&tx, head, by, domain, now)?;
    }
    let point = tx.query_row(
        &format!("SELECT {COLUMNS} FROM resident_points p WHERE p.id = ?1"),
        params![id],
        read_point,
    )?;
    tx.commit()?;
    Ok((point, queued))
}

/// The status of `head` in the words of the status page (B1).
pub fn status_sentence(
    status: &str,
    walk_date: Option<&str>,
    partner: Option<&str>,
    reason: Option<&str>,
) -> String {
    match status {
        "ontvangen" => "We hebben uw punt ontvangen.".into(),
        "op_agenda" => match walk_date {
            Some(d) => format!("Uw punt staat op de agenda van de wandeling van {d}."),
            None => "Uw punt staat op de agenda van een wandeling.".into(),
        },
        "bekeken" => "Uw punt is bekeken tijdens de wandeling.".into(),
        "opgepakt" => format!(
            "Uw punt is opgepakt door {}.",
            partner.unwrap_or("een partner")
        ),
        "afgerond" => "Uw punt is afgerond.".into(),
        "afgewezen" => format!(
            "We pakken uw punt niet op. {}",
            reason.map_or("We pakken dit niet op.", decline_sentence)
        ),
        _ => "Uw punt is in behandeling.".into(),
    }
}

fn status_mails(
    tx: &Connection,
    head: i64,
    by: &str,
    domain: &str,
    now: i64,
) -> rusqlite::Result<usize> {
    let (status, walk_date, partner, reason): (
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
    ) = tx.query_row(
        "SELECT status, walk_date, partner, decline_reason FROM resident_points WHERE id = ?1",
        params![head],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut stmt = tx.prepare(
        "SELECT id, receipt, contact_email, created_at FROM resident_points \
         WHERE (id = ?1 OR merged_into = ?1) AND contact_consent = 1 AND contact_email IS NOT NULL",
    )?;
    let to: Vec<(i64, String, String, i64)> = stmt
        .query_map(params![head], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let walk_day = walk_date.map(dutch_day);
    let sentence = status_sentence(
        &status,
        walk_day.as_deref(),
        partner.as_deref(),
        reason.as_deref(),
    );
    for (point, receipt, email, created_at) in &to {
        let code = Receipt::parse(receipt).map_or_else(|| receipt.clone(), |r| r.display());
        let body = format!(
            "Beste bewoner,\n\n{sentence}\n\nHet gaat om het punt dat u op {} aan ons gaf. \
             Uw ontvangstcode is {code}. Met die code ziet u de stand van zaken ook op de \
             bewonerspagina van uw wijk.\n\nMet vriendelijke groet,\nHet wijkteam van de gemeente",
            dutch_day(*created_at)
        );
        let m = NewMessage {
            message_id: crate::mail::new_message_id(domain),
            kind: Kind::Resident,
            doc_id: None,
            item_id: Some(format!("point/{point}")),
            partner: None,
            template: None,
            with_contact: false,
            recipient: email.clone(),
            subject: "Nieuws over uw punt voor de wijk".into(),
            body,
            created_by: Some(by.to_owned()),
            mark_feedback: false,
            for_user: None,
        };
        enqueue_in(
            tx,
            &m,
            &AuditInfo {
                action: "mail.resident_status",
                subject: Some(format!("point/{point}")),
                detail: serde_json::json!({"point": point, "status": status}),
            },
            now,
        )?;
    }
    Ok(to.len())
}
