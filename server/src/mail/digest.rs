//! The daily digest: once a day, after `[mail] digest_hour_utc`, every
//! coordinator with an e-mail address (set by an admin, table `user_mail`)
//! whose work list is not empty gets one e-mail listing what waits for
//! feedback to the resident (needed and not given), oldest first.
//!
//! The digest is built from the feedback work list only: call-back tasks
//! with an assignee are not part of this build (see docs/operations.md).
//! It names category, wijk, kind, date and age of each item and how to find
//! it in Wijklog — never item texts or resident details.

use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::{self, AuditInfo, Kind, NewMessage};
use crate::review::{DAY_MS, Scope, report};
use crate::storage::Store;

/// Most items listed in one digest (the count covers all).
pub const MAX_LISTED: u32 = 50;

/// A staff member's digest address.
pub fn address(conn: &Connection, user: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT email FROM user_mail WHERE user_id = ?1",
        params![user],
        |r| r.get(0),
    )
    .optional()
}

/// Sets (or with `None` removes) a staff member's digest address; audited.
pub fn set_address(
    conn: &Connection,
    user: &str,
    email: Option<&str>,
    by: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    match email {
        Some(e) => tx.execute(
            "INSERT INTO user_mail (user_id, email, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id) DO UPDATE SET email = ?2, updated_at = ?3",
            params![user, e, now],
        )?,
        None => tx.execute("DELETE FROM user_mail WHERE user_id = ?1", params![user])?,
    };
    outbox::audit(
        &tx,
        now,
        Some(by),
        "admin.user.mail_address",
        Some(user),
        &serde_json::json!({"set": email.is_some()}),
    )?;
    tx.commit()
}

/// When today's digest is due (ms): today 00:00 UTC plus `hour` hours.
pub fn due_at(now: i64, hour: u8) -> i64 {
    now - now.rem_euclid(DAY_MS) + i64::from(hour) * 3_600_000
}

/// Queues today's digests that are due and not queued yet; returns how many.
pub fn queue_due(
    conn: &Connection,
    store: &dyn Store,
    domain: &str,
    hour: u8,
    now: i64,
) -> anyhow::Result<usize> {
    let since = due_at(now, hour);
    if now < since {
        return Ok(0);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, m.email, u.roles FROM user_mail m JOIN users u ON u.id = m.user_id \
         WHERE u.disabled_at IS NULL AND NOT EXISTS (SELECT 1 FROM mail_outbox o \
         WHERE o.kind = 'digest' AND o.for_user = u.id AND o.created_at >= ?1) ORDER BY u.id",
    )?;
    let people: Vec<(String, String, String)> = stmt
        .query_map(params![since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut queued = 0;
    for (user, email, roles) in people {
        let coordinator = serde_json::from_str::<Vec<String>>(&roles)
            .map(|r| r.iter().any(|x| x == "coordinator"))
            .unwrap_or(false);
        if !coordinator {
            continue;
        }
        let items = report::open_feedback(conn, &Scope::all(), now, 10_000)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if items.is_empty() {
            continue;
        }
        let catalog = report::load_catalog(store);
        let label =
            |map: Option<Option<String>>, id: &str| map.flatten().unwrap_or_else(|| id.to_owned());
        let mut body = format!(
            "Goedemorgen,\n\nBij {} {} moet de bewoner nog horen wat er gebeurd is. De oudste eerst:\n\n",
            items.len(),
            if items.len() == 1 {
                "melding"
            } else {
                "meldingen"
            }
        );
        for e in items.iter().take(MAX_LISTED as usize) {
            let cat = e.item["category"].as_str().unwrap_or("");
            let wijk = e.item["wijk"].as_str().unwrap_or("");
            let kind = if e.kind == "walk" {
                "wandeling"
            } else {
                "spreekuur"
            };
            body.push_str(&format!(
                "- {} in {} ({kind}), {} {} oud\n",
                label(catalog.categories.get(cat).map(|c| c.label.clone()), cat),
                label(catalog.wijken.get(wijk).map(|w| w.label.clone()), wijk),
                e.age_days,
                if e.age_days == 1 { "dag" } else { "dagen" },
            ));
        }
        if items.len() > MAX_LISTED as usize {
            body.push_str(&format!(
                "- en nog {} meer\n",
                items.len() - MAX_LISTED as usize
            ));
        }
        body.push_str(
            "\nU vindt ze in Wijklog onder Coördinatie → Terugkoppeling.\n\n\
             Dit is een automatisch bericht van Wijklog; u krijgt het één keer per dag zolang er iets openstaat.\n",
        );
        let message = NewMessage {
            message_id: super::new_message_id(domain),
            kind: Kind::Digest,
            doc_id: None,
            item_id: None,
            partner: None,
            template: None,
            with_contact: false,
            recipient: email,
            subject: format!(
                "Wijklog: {} {} wachten op terugkoppeling",
                items.len(),
                if items.len() == 1 {
                    "melding"
                } else {
                    "meldingen"
                }
            ),
            body,
            created_by: None,
            mark_feedback: false,
            for_user: Some(user.clone()),
        };
        outbox::enqueue(
            conn,
            &message,
            &AuditInfo {
                action: "mail.digest",
                subject: Some(user.clone()),
                detail: serde_json::json!({"user": user, "items": items.len()}),
            },
            now,
        )?;
        queued += 1;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_due_from_the_configured_hour_of_the_utc_day() {
        // 2026-01-01T05:59:59Z and 06:00:00Z (1767225600 = 00:00).
        let midnight = 1_767_225_600_000;
        assert_eq!(
            due_at(midnight + 5 * 3_600_000 + 59_999, 6),
            midnight + 6 * 3_600_000
        );
        assert_eq!(due_at(midnight + 23 * 3_600_000, 0), midnight);
    }
}
