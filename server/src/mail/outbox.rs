//! The durable outbox (`mail_outbox`, migration 0007). Every function takes
//! a connection to the server's database file (the review layer's pool) and
//! blocks.
//!
//! Life of a message: [`enqueue`] writes it with status `queued` and its
//! audit entry in one transaction. The worker takes [`due`] messages, sends
//! each, then [`mark_sent`] (erasing recipient and body), [`mark_retry`]
//! (attempts + 1, next try after the backoff) or [`mark_failed`] (after the
//! last try, or at once when the server refused for good). Nothing is marked
//! sent before the SMTP server accepted the message; a crash in between
//! leaves it `queued`, and it is sent again with the same Message-ID.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Writes an audit entry on `conn` (inside the caller's transaction).
pub fn audit(
    conn: &Connection,
    at: i64,
    actor: Option<&str>,
    action: &str,
    subject: Option<&str>,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, actor, action, subject, detail.to_string()],
    )?;
    Ok(())
}

/// Kinds of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Feedback to a resident.
    Feedback,
    /// An item forwarded to a partner.
    Forward,
    /// The daily digest to a staff member.
    Digest,
    /// A status change of a point a resident handed in.
    Resident,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Feedback => "feedback",
            Kind::Forward => "forward",
            Kind::Digest => "digest",
            Kind::Resident => "resident",
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// `<...@...>`.
    pub message_id: String,
    /// Kind.
    pub kind: Kind,
    /// The item's document and id (not for digests).
    pub doc_id: Option<String>,
    /// The item id.
    pub item_id: Option<String>,
    /// Forward: the partner id.
    pub partner: Option<String>,
    /// Feedback: the template used (`""` = the default).
    pub template: Option<String>,
    /// Forward: resident contact included.
    pub with_contact: bool,
    /// Recipient address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// The user who caused it.
    pub created_by: Option<String>,
    /// Feedback: write "feedback given by e-mail" into the document once sent.
    pub mark_feedback: bool,
    /// Digest: the staff member it is for (user id).
    pub for_user: Option<String>,
}

/// The audit entry that goes with a queued message.
#[derive(Debug, Clone)]
pub struct AuditInfo {
    /// Action, e.g. `mail.feedback`.
    pub action: &'static str,
    /// Subject (`doc/item`).
    pub subject: Option<String>,
    /// Details (ids only, never personal data).
    pub detail: serde_json::Value,
}

/// Queues a message and writes its audit entry in one transaction; returns
/// the outbox id. The audit detail gets the outbox id and Message-ID added.
pub fn enqueue(
    conn: &Connection,
    m: &NewMessage,
    audit_info: &AuditInfo,
    now: i64,
) -> rusqlite::Result<i64> {
    let tx = conn.unchecked_transaction()?;
    let id = enqueue_in(&tx, m, audit_info, now)?;
    tx.commit()?;
    Ok(id)
}

/// [`enqueue`] inside the caller's transaction on `tx` (the message is
/// queued if and only if the caller's other writes commit).
pub fn enqueue_in(
    tx: &Connection,
    m: &NewMessage,
    audit_info: &AuditInfo,
    now: i64,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO mail_outbox (message_id, kind, doc_id, item_id, partner, template, with_contact, \
         recipient, subject, body, created_by, created_at, status, attempts, next_attempt_at, doc_edit_pending, for_user) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'queued', 0, ?12, 0, ?13)",
        params![
            m.message_id,
            m.kind.as_str(),
            m.doc_id,
            m.item_id,
            m.partner,
            m.template,
            m.with_contact,
            m.recipient,
            m.subject,
            m.body,
            m.created_by,
            now,
            m.for_user,
        ],
    )?;
    let id = tx.last_insert_rowid();
    if m.mark_feedback {
        // Recorded as a separate flag so that it is set only once the
        // message is sent (see mark_sent).
        tx.execute(
            "UPDATE mail_outbox SET doc_edit_pending = -1 WHERE id = ?1",
            params![id],
        )?;
    }
    let mut detail = audit_info.detail.clone();
    if let Some(o) = detail.as_object_mut() {
        o.insert("outbox_id".into(), id.into());
        o.insert("message_id".into(), m.message_id.clone().into());
    }
    audit(
        tx,
        now,
        m.created_by.as_deref(),
        audit_info.action,
        audit_info.subject.as_deref(),
        &detail,
    )?;
    Ok(id)
}

/// A message the worker must send.
#[derive(Debug, Clone)]
pub struct Due {
    /// Outbox id.
    pub id: i64,
    /// Message-ID.
    pub message_id: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Tries so far.
    pub attempts: u32,
}

/// Up to `limit` queued messages whose next try is due, oldest first.
pub fn due(conn: &Connection, now: i64, limit: u32) -> rusqlite::Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, recipient, subject, body, attempts FROM mail_outbox \
         WHERE status = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(Due {
            id: r.get(0)?,
            message_id: r.get(1)?,
            recipient: r.get(2)?,
            subject: r.get(3)?,
            body: r.get(4)?,
            attempts: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// When the next queued message is due (ms), if any.
pub fn next_due_at(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE status = 'queued'",
        [],
        |r| r.get(0),
    )
}

/// The SMTP server accepted message `id`: mark it sent, erase recipient and
/// body, and arm the document edit of a feedback message.
pub fn mark_sent(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, \
         last_error = NULL, recipient = '', body = '', \
         doc_edit_pending = CASE WHEN doc_edit_pending = -1 THEN 1 ELSE 0 END \
         WHERE id = ?1 AND status = 'queued'",
        params![id, now],
    )?;
    Ok(())
}

/// A try failed; the next one is at `next_at`.
pub fn mark_retry(conn: &Connection, id: i64, next_at: i64, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 \
         WHERE id = ?1 AND status = 'queued'",
        params![id, next_at, reason],
    )?;
    Ok(())
}

/// The last try failed (or the server refused for good): failed, with the
/// reason. The body is erased; the recipient stays so a coordinator can see
/// where it should have gone.
pub fn mark_failed(conn: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2, body = '', \
         doc_edit_pending = 0 WHERE id = ?1 AND status = 'queued'",
        params![id, reason],
    )?;
    Ok(())
}

/// A sent feedback message whose document edit is still to be written.
#[derive(Debug, Clone)]
pub struct PendingEdit {
    /// Outbox id.
    pub id: i64,
    /// Document.
    pub doc_id: String,
    /// Item.
    pub item_id: String,
    /// The coordinator who sent it.
    pub created_by: String,
    /// When the server accepted it (ms).
    pub sent_at: i64,
}

/// Sent feedback messages whose "given by e-mail" is not in the document yet.
pub fn pending_edits(conn: &Connection) -> rusqlite::Result<Vec<PendingEdit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, doc_id, item_id, created_by, sent_at FROM mail_outbox \
         WHERE status = 'sent' AND doc_edit_pending = 1 ORDER BY id LIMIT 100",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PendingEdit {
            id: r.get(0)?,
            doc_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            item_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            created_by: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            sent_at: r.get::<_, Option<i64>>(4)?.unwrap_or_default(),
        })
    })?;
    rows.collect()
}

/// The document edit of message `id` is written (or can never be).
pub fn edit_done(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET doc_edit_pending = 0 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// One message as the coordinator sees it (no body, no recipient address).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// Outbox id.
    pub id: i64,
    /// `feedback`, `forward` or `digest`.
    pub kind: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Subject.
    pub subject: String,
    /// Forward: partner id.
    pub partner: Option<String>,
    /// Feedback: template (`""` = default).
    pub template: Option<String>,
    /// Forward: resident contact was included.
    pub with_contact: bool,
    /// Who queued it.
    pub created_by: Option<String>,
    /// When it was queued (ms).
    pub created_at: i64,
    /// Tries so far.
    pub attempts: u32,
    /// The next try (ms; queued only).
    pub next_attempt_at: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// When the SMTP server accepted it (ms).
    pub sent_at: Option<i64>,
    /// The Message-ID.
    pub message_id: String,
}

/// Every message about one item, newest first.
pub fn for_item(conn: &Connection, doc: &str, item: &str) -> rusqlite::Result<Vec<MessageView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, status, subject, partner, template, with_contact, created_by, created_at, \
         attempts, next_attempt_at, last_error, sent_at, message_id FROM mail_outbox \
         WHERE doc_id = ?1 AND item_id = ?2 ORDER BY id DESC LIMIT 200",
    )?;
    let rows = stmt.query_map(params![doc, item], |r| {
        let status: String = r.get(2)?;
        Ok(MessageView {
            id: r.get(0)?,
            kind: r.get(1)?,
            next_attempt_at: if status == "queued" {
                Some(r.get(10)?)
            } else {
                None
            },
            status,
            subject: r.get(3)?,
            partner: r.get(4)?,
            template: r.get(5)?,
            with_contact: r.get(6)?,
            created_by: r.get(7)?,
            created_at: r.get(8)?,
            attempts: r.get(9)?,
            last_error: r.get(11)?,
            sent_at: r.get(12)?,
            message_id: r.get(13)?,
        })
    })?;
    rows.collect()
}

/// The status of one message.
pub fn status(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT status FROM mail_outbox WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()
}
