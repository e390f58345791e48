//! The daily digest: once a day, after `[mail] digest_hour_utc`, every
//! active account with an e-mail address (set by an admin, table
//! `user_mail`) whose work is not empty gets one e-mail:
//!
//! - its open **call backs**, late ones first: those assigned to it and,
//!   for spreekuur staff, those of its team that nobody in particular has
//!   ([`review::callbacks::for_person`](crate::review::callbacks::for_person));
//! - for coordinators, the items that still **wait for feedback** to the
//!   resident (needed and not given), oldest first.
//!
//! It names category, wijk, kind, due date or age of each item and where to
//! find it in Wijklog — never item texts or resident details.

use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::{self, AuditInfo, Kind, NewMessage};
use crate::review::{DAY_MS, Scope, callbacks, report};
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
    review: &crate::review::ReviewDb,
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
        "SELECT u.id, m.email, u.roles, u.team FROM user_mail m JOIN users u ON u.id = m.user_id \
         WHERE u.disabled_at IS NULL AND NOT EXISTS (SELECT 1 FROM mail_outbox o \
         WHERE o.kind = 'digest' AND o.for_user = u.id AND o.created_at >= ?1) ORDER BY u.id",
    )?;
    type Person = (String, String, String, Option<String>);
    let people: Vec<Person> = stmt
        .query_map(params![since], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut queued = 0;
    let catalog = report::load_catalog(store);
    let label =
        |map: Option<Option<String>>, id: &str| map.flatten().unwrap_or_else(|| id.to_owned());
    let place = |item: &serde_json::Value| {
        let cat = item["category"].as_str().unwrap_or("");
        let wijk = item["wijk"].as_str().unwrap_or("");
        format!(
            "{} in {}",
            label(catalog.categories.get(cat).map(|c| c.label.clone()), cat),
            label(catalog.wijken.get(wijk).map(|w| w.label.clone()), wijk),
        )
    };
    for (user, email, roles, team) in people {
        let roles = serde_json::from_str::<Vec<String>>(&roles).unwrap_or_default();
        let coordinator = roles.iter().any(|x| x == "coordinator");
        let spreekuur = roles.iter().any(|x| x == "spreekuur");
        // Call backs: assigned to this person; a team's unassigned ones go
        // to its spreekuur staff.
        let team_calls = if spreekuur { team.as_deref() } else { None };
        let calls = callbacks::for_person(conn, &user, team_calls, now, 10_000)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let items = if coordinator {
            report::open_feedback(review, &Scope::all(), now, 10_000)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        } else {
            Vec::new()
        };
        if items.is_empty() && calls.is_empty() {
            continue;
        }
        let mut body = String::from("Goedemorgen,\n\n");
        if !calls.is_empty() {
            let late = calls.iter().filter(|c| c.overdue).count();
            body.push_str(&format!(
                "U hebt {} open {}{}. De eerste eerst:\n\n",
                calls.len(),
                if calls.len() == 1 {
                    "terugbelverzoek"
                } else {
                    "terugbelverzoeken"
                },
                if late > 0 {
                    format!(", waarvan {late} te laat")
                } else {
                    String::new()
                }
            ));
            for c in calls.iter().take(MAX_LISTED as usize) {
                let due = match c.due_at {
                    Some(d) if c.overdue => {
                        let days = (now - d).div_euclid(DAY_MS).max(0);
                        format!(
                            "TE LAAT, {days} {} over de termijn",
                            if days == 1 { "dag" } else { "dagen" }
                        )
                    }
                    Some(d) => format!("uiterlijk {}", dutch_date(d)),
                    None => "geen termijn".to_owned(),
                };
                body.push_str(&format!("- {} (spreekuur), {due}\n", place(&c.item)));
            }
            if calls.len() > MAX_LISTED as usize {
                body.push_str(&format!(
                    "- en nog {} meer\n",
                    calls.len() - MAX_LISTED as usize
                ));
            }
            body.push_str("\nU vindt ze in Wijklog onder Terugbellen en terugkoppeling.\n\n");
        }
        if !items.is_empty() {
            body.push_str(&format!(
                "Bij {} {} moet de bewoner nog horen wat er gebeurd is. De oudste eerst:\n\n",
                items.len(),
                if items.len() == 1 {
                    "melding"
                } else {
                    "meldingen"
                }
            ));
            for e in items.iter().take(MAX_LISTED as usize) {
                let kind = if e.kind == "walk" {
                    "wandeling"
                } else {
                    "spreekuur"
                };
                body.push_str(&format!(
                    "- {} ({kind}), {} {} oud\n",
                    place(&e.item),
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
                "\nU vindt ze in Wijklog onder Coördinatie → Terugbellen en terugkoppeling.\n\n",
            );
        }
        body.push_str(
            "Dit is een automatisch bericht van Wijklog; u krijgt het één keer per dag zolang er iets openstaat.\n",
        );
        let subject = match (calls.len(), items.len()) {
            (c, 0) => format!(
                "Wijklog: {c} {} open",
                if c == 1 {
                    "terugbelverzoek"
                } else {
                    "terugbelverzoeken"
                }
            ),
            (0, i) => format!(
                "Wijklog: {i} {} op terugkoppeling",
                if i == 1 {
                    "melding wacht"
                } else {
                    "meldingen wachten"
                }
            ),
            (c, i) => format!(
                "Wijklog: {c} {} open, {i} {} op terugkoppeling",
                if c == 1 {
                    "terugbelverzoek"
                } else {
                    "terugbelverzoeken"
                },
                if i == 1 {
                    "melding wacht"
                } else {
                    "meldingen wachten"
                }
            ),
        };
        let message = NewMessage {
            message_id: super::new_message_id(domain),
            kind: Kind::Digest,
            doc_id: None,
            item_id: None,
            partner: None,
            template: None,
            with_contact: false,
            recipient: email,
            subject,
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
                detail: serde_json::json!({"user": user, "items": items.len(), "callbacks": calls.len()}),
            },
            now,
        )?;
        queued += 1;
    }
    Ok(queued)
}

/// `dd-mm-jjjj` of `ms` in Europe/Amsterdam.
fn dutch_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(crate::review::sheet::amsterdam())
                .strftime("%d-%m-%Y")
                .to_string()
        })
        .unwrap_or_default()
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
