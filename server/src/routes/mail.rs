//! Messages to residents and partners (see docs/api.md, "Mail"):
//!
//! - `GET /api/v1/mail/status`: is e-mail on, is SMS on (any signed-in user).
//! - `GET /api/v1/mail/templates`: the feedback templates and placeholders
//!   (coordinators and admins).
//! - `PUT|DELETE /api/v1/admin/mail/templates/{category}`: edit a template
//!   (`default` is the one for every category without its own); admins; audited.
//! - `POST /api/v1/items/{doc}/{id}/feedback-mail`: preview or send feedback
//!   to the resident (coordinators; needs consent and an e-mail address).
//! - `POST /api/v1/items/{doc}/{id}/forward`: preview or send a summary of the
//!   item to a partner; resident contact only when asked with a reason.
//! - `GET /api/v1/items/{doc}/{id}/messages`: the item's messages and their state.
//!
//! A send writes the message to the outbox and its audit entry in one
//! transaction and answers 202 with the queued message; the worker sends it.
//! With mail off every preview and send answers 503 `mail_disabled`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::items::{json_ok, visible_doc};
use crate::domain::Principal;
use crate::domain::{DocKind, now_ms};
use crate::edge::{
    ApiError, RequireAdmin, RequireContentReader, RequireCoordinator, RequireCoordinatorOrAdmin,
    json_body,
};
use crate::mail::outbox::{self, AuditInfo, Kind, NewMessage};
use crate::mail::templates::{self, TemplateError};
use crate::review::report;
use crate::review::sheet::dutch_day;
use crate::state::{AppState, blocking};

/// Registers the mail routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/mail/status", web::get().to(status))
        .route("/api/v1/mail/templates", web::get().to(list_templates))
        .route(
            "/api/v1/admin/mail/templates/{category}",
            web::put().to(put_template),
        )
        .route(
            "/api/v1/admin/mail/templates/{category}",
            web::delete().to(delete_template),
        )
        .route(
            "/api/v1/items/{doc}/{id}/feedback-mail",
            web::post().to(feedback_mail),
        )
        .route("/api/v1/items/{doc}/{id}/forward", web::post().to(forward))
        .route("/api/v1/items/{doc}/{id}/messages", web::get().to(messages))
        .route(
            "/api/v1/admin/users/{id}/mail-address",
            web::get().to(get_address),
        )
        .route(
            "/api/v1/admin/users/{id}/mail-address",
            web::put().to(put_address),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    email: Option<String>,
}

/// Checks that the account `id` exists (the caller is an admin).
async fn account_exists(state: &AppState, id: &str) -> Result<(), ApiError> {
    let user = crate::domain::UserId::parse(id).map_err(|_| ApiError::NotFound)?;
    let store = state.store.clone();
    blocking::<_, ApiError>(move || {
        store.user_by_id(&user)?.ok_or(ApiError::NotFound)?;
        Ok(())
    })
    .await
}

/// `GET /api/v1/admin/users/{id}/mail-address`: the address the daily digest goes to.
async fn get_address(
    _: RequireAdmin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    account_exists(&state, &id).await?;
    let db = state.review.clone();
    let email =
        blocking::<_, ApiError>(
            move || Ok(db.with_conn(|c| crate::mail::digest::address(c, &id))?),
        )
        .await?;
    Ok(json_ok(&json!({"email": email})))
}

/// `PUT /api/v1/admin/users/{id}/mail-address` `{"email": "..." | null}`; audited.
async fn put_address(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    account_exists(&state, &id).await?;
    let b: AddressBody = json_body(&body)?;
    let email = b
        .email
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email
        && (e.chars().count() > 254 || e.parse::<lettre::Address>().is_err())
    {
        return Err(ApiError::param("email", "The e-mail address is not valid."));
    }
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let stored = email.clone();
    blocking::<_, ApiError>(move || {
        Ok(db.with_conn(|c| {
            crate::mail::digest::set_address(c, &id, stored.as_deref(), &by, now_ms())
        })?)
    })
    .await?;
    Ok(json_ok(&json!({"email": email})))
}

fn mail_disabled() -> ApiError {
    ApiError::Unavailable {
        code: "mail_disabled",
        message: "E-mail is not configured on this server ([mail] host is empty).",
    }
}

/// Longest "what was done" text and coordinator note (characters).
pub const MAX_DONE_CHARS: usize = 2000;
/// Longest reason for including resident contact (characters).
pub const MAX_REASON_CHARS: usize = 500;

/// `GET /api/v1/mail/status`.
async fn status(_: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(json_ok(&json!({
        "email": state.mail.enabled(),
        "sms": crate::mail::sms::configured_provider().is_some(),
    })))
}

/// `GET /api/v1/mail/templates`.
async fn list_templates(
    _: RequireCoordinatorOrAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let list = blocking::<_, ApiError>(move || Ok(db.with_conn(templates::list)?)).await?;
    let placeholders: Vec<Value> = templates::PLACEHOLDERS
        .iter()
        .map(|(n, m)| json!({"name": n, "meaning": m}))
        .collect();
    Ok(json_ok(&json!({
        "templates": list,
        "placeholders": placeholders,
    })))
}

fn template_key(path: &str) -> Result<String, ApiError> {
    if path == "default" {
        return Ok(String::new());
    }
    let slug = (1..=64).contains(&path.len())
        && path
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if slug {
        Ok(path.to_owned())
    } else {
        Err(ApiError::param(
            "category",
            "The category must be a catalog category id or 'default'.",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    subject: String,
    body: String,
}

/// `PUT /api/v1/admin/mail/templates/{category}`.
async fn put_template(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let category = template_key(&path)?;
    let b: TemplateBody = json_body(&body)?;
    templates::check(&b.subject, &b.body).map_err(|e| match e {
        TemplateError::Empty => {
            ApiError::param("body", "Subject and text of a template must not be empty.")
        }
        TemplateError::TooLong => ApiError::param(
            "body",
            "The subject may have at most 200 characters, the text at most 10000.",
        ),
        TemplateError::UnknownPlaceholder(_) => ApiError::Conflict {
            code: "unknown_placeholder",
            message: "The template uses a {placeholder} that does not exist (see the list of placeholders).",
        },
    })?;
    let store = state.store.clone();
    if !category.is_empty() {
        let c = category.clone();
        let known = blocking::<_, ApiError>(move || {
            Ok(report::load_catalog(store.as_ref())
                .categories
                .contains_key(&c))
        })
        .await?;
        if !known {
            return Err(ApiError::param(
                "category",
                "There is no category with this id in the catalog.",
            ));
        }
    }
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let t = blocking(move || {
        db.with_conn(|c| {
            templates::put(c, &category, b.subject.trim(), b.body.trim(), &by, now_ms())?;
            templates::get(c, &category)
        })
        .map_err(ApiError::from)
    })
    .await?;
    Ok(json_ok(&json!({"template": t})))
}

/// `DELETE /api/v1/admin/mail/templates/{category}` (not `default`).
async fn delete_template(
    RequireAdmin(who): RequireAdmin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let category = template_key(&path)?;
    if category.is_empty() {
        return Err(ApiError::Conflict {
            code: "default_template",
            message: "The default template cannot be removed; change its text instead.",
        });
    }
    let db = state.review.clone();
    let by = who.user_id.as_str().to_owned();
    let removed = blocking::<_, ApiError>(move || {
        Ok(db.with_conn(|c| templates::delete(c, &category, &by, now_ms()))?)
    })
    .await?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The item (row JSON) and catalog, for a coordinator.
struct Loaded {
    meta: crate::storage::DocMeta,
    row: Value,
    catalog: wijklog_shared::Catalog,
}

async fn load_item(
    state: &AppState,
    who: &crate::domain::Principal,
    doc: String,
    item: String,
) -> Result<Loaded, ApiError> {
    let store = state.store.clone();
    let db = state.review.clone();
    let viewer = who.clone();
    blocking(move || {
        let meta = visible_doc(store.as_ref(), &viewer, &doc, None)?;
        let row = report::item_row(&db, meta.kind, meta.id, &item)?.ok_or(ApiError::NotFound)?;
        let row: Value = serde_json::from_str(&row)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))?;
        if !row["deleted"].is_null() {
            return Err(ApiError::Conflict {
                code: "item_deleted",
                message: "The item was deleted.",
            });
        }
        let catalog = report::load_catalog(store.as_ref());
        Ok(Loaded { meta, row, catalog })
    })
    .await
}

fn label(map_label: Option<Option<String>>, id: &str) -> String {
    map_label.flatten().unwrap_or_else(|| id.to_owned())
}

fn category_label(l: &Loaded) -> String {
    let id = l.row["category"].as_str().unwrap_or("");
    if id.is_empty() {
        return "uw melding".into();
    }
    label(l.catalog.categories.get(id).map(|c| c.label.clone()), id)
}

fn wijk_label(l: &Loaded) -> String {
    let id = l.row["wijk"].as_str().unwrap_or("");
    if id.is_empty() {
        return "uw wijk".into();
    }
    label(l.catalog.wijken.get(id).map(|w| w.label.clone()), id)
}

/// The item's day in Dutch words (`3 december 2026`, in Amsterdam), or
/// "onbekende datum".
fn dutch_date(ms: Option<i64>) -> String {
    ms.map_or_else(|| "onbekende datum".into(), dutch_day)
}

fn bounded_text(
    v: Option<String>,
    param: &'static str,
    max: usize,
    required: bool,
    message: &'static str,
) -> Result<Option<String>, ApiError> {
    let v = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    match &v {
        None if required => Err(ApiError::param(param, message)),
        Some(s)
            if s.chars().count() > max
                || s.chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') =>
        {
            Err(ApiError::param(param, message))
        }
        _ => Ok(v),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// What was done (fills `{wat_gedaan}`).
    done: Option<String>,
    /// Template: a category id or `default`; absent = the item's category.
    #[serde(default)]
    template: Option<String>,
    /// Only fill in and return the message.
    #[serde(default)]
    preview: bool,
}

/// `POST /api/v1/items/{doc}/{id}/feedback-mail`.
#[tracing::instrument(name = "mail.feedback", skip_all)]
async fn feedback_mail(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b: FeedbackBody = json_body(&body)?;
    if !state.mail.enabled() {
        return Err(mail_disabled());
    }
    let done = bounded_text(
        b.done,
        "done",
        MAX_DONE_CHARS,
        true,
        "Write what was done (at most 2000 characters).",
    )?
    .unwrap_or_default();
    let (doc, item) = path.into_inner();
    let l = load_item(&state, &who, doc, item).await?;
    let resident = &l.row["resident"];
    if resident["consent"].as_bool() != Some(true) {
        return Err(ApiError::Conflict {
            code: "no_consent",
            message: "The resident did not consent to being contacted.",
        });
    }
    let Some(to) = resident["email"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return Err(ApiError::Conflict {
            code: "no_email",
            message: "There is no e-mail address of the resident.",
        });
    };
    let category = l.row["category"].as_str().unwrap_or("").to_owned();
    let wanted = match b.template.as_deref() {
        None => None,
        Some(t) => Some(template_key(t)?),
    };
    let db = state.review.clone();
    let lookup = wanted.clone();
    let cat = category.clone();
    let template = blocking(move || {
        db.with_conn(|c| match &lookup {
            Some(key) => templates::get(c, key),
            None => templates::for_category(c, &cat).map(Some),
        })
        .map_err(ApiError::from)
    })
    .await?
    .ok_or(ApiError::param(
        "template",
        "There is no template for this category; use 'default'.",
    ))?;
    let name = resident["name"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("bewoner")
        .to_owned();
    let values = [
        ("naam", name),
        ("categorie", category_label(&l)),
        ("wijk", wijk_label(&l)),
        ("datum", dutch_date(l.row["created_at"].as_i64())),
        ("wat_gedaan", done),
    ];
    let subject = templates::fill(&template.subject, &values).replace(['\r', '\n'], " ");
    let text = templates::fill(&template.body, &values);
    if b.preview {
        return Ok(json_ok(&json!({
            "to": to,
            "subject": subject,
            "body": text,
            "template": if template.category.is_empty() { "default" } else { template.category.as_str() },
        })));
    }
    let item_id = l.row["item_id"].as_str().unwrap_or_default().to_owned();
    let message = NewMessage {
        message_id: crate::mail::new_message_id(&mail_domain(&state)),
        kind: Kind::Feedback,
        doc_id: Some(l.meta.id.to_string()),
        item_id: Some(item_id.clone()),
        partner: None,
        template: Some(template.category.clone()),
        with_contact: false,
        recipient: to,
        subject,
        body: text,
        created_by: Some(who.user_id.as_str().to_owned()),
        mark_feedback: true,
        for_user: None,
    };
    let audit = AuditInfo {
        action: "mail.feedback",
        subject: Some(format!("{}/{}", l.meta.id, item_id)),
        detail: json!({
            "doc": l.meta.id,
            "item": item_id,
            "kind": l.meta.kind,
            "template": if template.category.is_empty() { "default" } else { template.category.as_str() },
        }),
    };
    queue(&state, message, audit).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardBody {
    partner: String,
    /// A note from the coordinator, added to the summary.
    #[serde(default)]
    note: Option<String>,
    /// Include the resident's contact details (needs `reason`).
    #[serde(default)]
    include_contact: bool,
    /// Why the partner needs the resident's contact details (audited).
    #[serde(default)]
    reason: Option<String>,
    /// Only build and return the message.
    #[serde(default)]
    preview: bool,
}

/// `POST /api/v1/items/{doc}/{id}/forward`.
#[tracing::instrument(name = "mail.forward", skip_all)]
async fn forward(
    RequireCoordinator(who): RequireCoordinator,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b: ForwardBody = json_body(&body)?;
    if !state.mail.enabled() {
        return Err(mail_disabled());
    }
    let note = bounded_text(
        b.note,
        "note",
        MAX_DONE_CHARS,
        false,
        "The note may have at most 2000 characters.",
    )?;
    let reason = bounded_text(
        b.reason,
        "reason",
        MAX_REASON_CHARS,
        b.include_contact,
        "Give a reason (at most 500 characters) for sending the resident's contact details.",
    )?;
    let (doc, item) = path.into_inner();
    let l = load_item(&state, &who, doc, item).await?;
    let partner = l
        .catalog
        .partners
        .get(&b.partner)
        .filter(|p| !p.retired)
        .ok_or(ApiError::param(
            "partner",
            "There is no active partner with this id in the catalog.",
        ))?;
    let Some(to) = partner
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return Err(ApiError::Conflict {
            code: "partner_no_email",
            message: "This partner has no e-mail address in the catalog (an admin can add it).",
        });
    };
    let resident = &l.row["resident"];
    let contact_lines: Vec<String> = if b.include_contact {
        if resident["consent"].as_bool() != Some(true) {
            return Err(ApiError::Conflict {
                code: "no_consent",
                message: "The resident did not consent to being contacted.",
            });
        }
        [("Naam", "name"), ("Telefoon", "phone"), ("E-mail", "email")]
            .iter()
            .filter_map(|(label, key)| {
                resident[*key]
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(|v| format!("{label}: {}", v.trim()))
            })
            .collect()
    } else {
        Vec::new()
    };
    if b.include_contact && contact_lines.is_empty() {
        return Err(ApiError::Conflict {
            code: "no_contact",
            message: "There are no contact details of the resident to send.",
        });
    }
    let partner_label = partner.label.clone().unwrap_or_else(|| b.partner.clone());
    let cat = category_label(&l);
    let wijk = wijk_label(&l);
    let subject = format!("Doorgestuurd uit Wijklog: {cat} in {wijk}").replace(['\r', '\n'], " ");
    let text = forward_text(
        &l,
        &who.name,
        &partner_label,
        note.as_deref(),
        &contact_lines,
        reason.as_deref(),
    );
    if b.preview {
        return Ok(json_ok(
            &json!({"to": to, "subject": subject, "body": text}),
        ));
    }
    let item_id = l.row["item_id"].as_str().unwrap_or_default().to_owned();
    let message = NewMessage {
        message_id: crate::mail::new_message_id(&mail_domain(&state)),
        kind: Kind::Forward,
        doc_id: Some(l.meta.id.to_string()),
        item_id: Some(item_id.clone()),
        partner: Some(b.partner.clone()),
        template: None,
        with_contact: b.include_contact,
        recipient: to,
        subject,
        body: text,
        created_by: Some(who.user_id.as_str().to_owned()),
        mark_feedback: false,
        for_user: None,
    };
    let mut detail = json!({
        "doc": l.meta.id,
        "item": item_id,
        "kind": l.meta.kind,
        "partner": b.partner,
        "with_contact": b.include_contact,
    });
    if let (Some(r), Some(o)) = (&reason, detail.as_object_mut())
        && b.include_contact
    {
        o.insert("reason".into(), r.clone().into());
    }
    let audit = AuditInfo {
        action: if b.include_contact {
            "mail.forward_with_contact"
        } else {
            "mail.forward"
        },
        subject: Some(format!("{}/{}", l.meta.id, item_id)),
        detail,
    };
    queue(&state, message, audit).await
}

fn forward_text(
    l: &Loaded,
    sender: &str,
    partner: &str,
    note: Option<&str>,
    contact: &[String],
    reason: Option<&str>,
) -> String {
    let r = &l.row;
    let mut t = String::new();
    t.push_str(&format!(
        "Beste {partner},\n\nVia Wijklog stuurt {sender} u deze melding door.\n\n"
    ));
    let kind = if l.meta.kind == DocKind::Walk {
        "waarneming tijdens een wijkschouw"
    } else {
        "notitie van het spreekuur"
    };
    t.push_str(&format!("Soort: {kind}\n"));
    t.push_str(&format!("Onderwerp: {}\n", category_label(l)));
    if let Some(s) = r["severity"].as_str() {
        let lbl = label(l.catalog.severities.get(s).map(|e| e.label.clone()), s);
        t.push_str(&format!("Ernst: {lbl}\n"));
    }
    t.push_str(&format!("Wijk: {}\n", wijk_label(l)));
    if let Some(p) = r["place"].as_str().filter(|p| !p.trim().is_empty()) {
        t.push_str(&format!("Plek: {}\n", p.trim()));
    }
    if let (Some(lat), Some(lon)) = (r["location"]["lat"].as_f64(), r["location"]["lon"].as_f64()) {
        t.push_str(&format!("Locatie: {lat:.5}, {lon:.5}\n"));
    }
    t.push_str(&format!(
        "Datum: {}\n",
        dutch_date(r["created_at"].as_i64())
    ));
    let text = r["text"].as_str().unwrap_or("").trim();
    t.push_str("\nWat er gezien of verteld is:\n");
    t.push_str(if text.is_empty() {
        "(geen tekst)"
    } else {
        text
    });
    t.push('\n');
    if let Some(n) = note {
        t.push_str("\nToelichting van de coördinator:\n");
        t.push_str(n);
        t.push('\n');
    }
    if contact.is_empty() {
        t.push_str("\nDe contactgegevens van de bewoner zijn niet meegestuurd.\n");
    } else {
        t.push_str("\nContactgegevens van de bewoner (de bewoner gaf toestemming");
        if let Some(reason) = reason {
            t.push_str(&format!("; reden om ze te delen: {reason}"));
        }
        t.push_str("):\n");
        for line in contact {
            t.push_str(line);
            t.push('\n');
        }
        t.push_str("Gebruik deze gegevens alleen voor deze melding.\n");
    }
    t.push_str("\nHeeft u een vraag? Antwoord dan op deze e-mail.\n");
    t
}

fn mail_domain(state: &AppState) -> String {
    state
        .mail
        .mailer
        .as_ref()
        .map(crate::mail::Mailer::domain)
        .unwrap_or_else(|| "wijklog.invalid".into())
}

async fn queue(
    state: &AppState,
    message: NewMessage,
    audit: AuditInfo,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let doc = message.doc_id.clone().unwrap_or_default();
    let item = message.item_id.clone().unwrap_or_default();
    let view = blocking(move || {
        db.with_conn(|c| {
            let id = outbox::enqueue(c, &message, &audit, now_ms())?;
            let all = outbox::for_item(c, &doc, &item)?;
            Ok::<_, rusqlite::Error>(all.into_iter().find(|m| m.id == id))
        })
        .map_err(ApiError::from)
    })
    .await?;
    state.mail.wake();
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({"message": view})))
}

/// `GET /api/v1/items/{doc}/{id}/messages`.
async fn messages(
    RequireContentReader(who): RequireContentReader,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (doc, item) = path.into_inner();
    let store = state.store.clone();
    let db = state.review.clone();
    let list = blocking::<_, ApiError>(move || {
        let meta = visible_doc(store.as_ref(), &who, &doc, None)?;
        Ok(db.with_conn(|c| outbox::for_item(c, &meta.id.to_string(), &item))?)
    })
    .await?;
    Ok(json_ok(&json!({
        "email": state.mail.enabled(),
        "messages": list,
    })))
}
