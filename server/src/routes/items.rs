//! `GET /api/v1/items` (filtered, searched, cursor-paged list),
//! `GET /api/v1/items/{doc}/{id}` (one item in full with its document's
//! context; reading resident contact details is audited),
//! `GET /api/v1/items/{doc}/{id}/history`, `GET /api/v1/feedback/open`
//! (the feedback work list) and `GET /api/v1/callbacks` (call backs and
//! feedback due, with the residents' contacts: audited). Also the helpers the other review and admin
//! routes share: query parsing, visibility and audit entries.
//!
//! Roles: coordinators, `boa` and `spreekuur` staff, each limited to what
//! they may see ([`crate::review::Scope`]); admins get 403. An item the
//! caller may not see is 404, exactly like one that does not exist.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::domain::Principal;
use crate::domain::{DocId, DocKind, UserId, now_ms};
use crate::edge::{ApiError, PageLimit, RequireContentReader};
use crate::review::callbacks::{WorkFilters, work_list as query_work_list};
use crate::review::query::{ListRequest, has_resident_contact, list_items};
use crate::review::{Scope, history, report};
use crate::state::{AppState, blocking};
use crate::storage::{AuditEntry, DocMeta, Store};

/// Registers the item routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/items", web::get().to(list))
        .route("/api/v1/items/{doc}/{id}", web::get().to(item))
        .route(
            "/api/v1/items/{doc}/{id}/history",
            web::get().to(item_history),
        )
        .route("/api/v1/feedback/open", web::get().to(feedback_open))
        .route("/api/v1/callbacks", web::get().to(work_list));
}

/// The query string as name/value pairs (repeated names allowed). A value
/// or name with a control character (a NUL byte, a line break) is refused
/// here, for every endpoint, before it reaches a query or a log line.
pub(crate) fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| ApiError::param("query", "The query string cannot be read."))?;
    if pairs
        .iter()
        .any(|(k, v)| k.chars().chain(v.chars()).any(char::is_control))
    {
        return Err(ApiError::param(
            "query",
            "The query string holds a control character (such as a NUL byte).",
        ));
    }
    Ok(pairs)
}

/// Appends an audit entry (blocking pool).
pub(crate) async fn audit(
    state: &AppState,
    actor: &UserId,
    action: &str,
    subject: Option<String>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let store = state.store.clone();
    let entry = AuditEntry {
        actor: Some(actor.clone()),
        action: action.to_owned(),
        subject,
        detail,
    };
    blocking(move || Ok(store.append_audit(entry)?)).await
}

fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// A JSON answer that must not be cached (it is personal to the caller).
pub(crate) fn json_ok(body: &impl serde::Serialize) -> HttpResponse {
    no_store(HttpResponse::Ok().json(body))
}

/// The document `doc` if `who` may see it (else `NotFound`), with `kind`
/// when given.
pub(crate) fn visible_doc(
    store: &dyn Store,
    who: &Principal,
    doc: &str,
    kind: Option<DocKind>,
) -> Result<DocMeta, ApiError> {
    let id = DocId::parse(doc).map_err(|_| ApiError::NotFound)?;
    let meta = store.doc_meta(id)?.ok_or(ApiError::NotFound)?;
    if meta.kind == DocKind::Catalog
        || kind.is_some_and(|k| k != meta.kind)
        || !who.may_see(meta.kind, meta.team.as_deref())
    {
        return Err(ApiError::NotFound);
    }
    Ok(meta)
}

/// `GET /api/v1/items`.
#[tracing::instrument(name = "items.list", skip_all)]
async fn list(
    RequireContentReader(who): RequireContentReader,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = ListRequest::parse(&query_pairs(&req)?)?;
    let scope = Scope::of(&who);
    let db = state.review.clone();
    let page = blocking(move || list_items(&db, &scope, &request)).await?;
    Ok(json_ok(&page))
}

/// `GET /api/v1/items/{doc}/{id}`.
#[tracing::instrument(name = "items.get", skip_all)]
async fn item(
    RequireContentReader(who): RequireContentReader,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (doc, item) = path.into_inner();
    let store = state.store.clone();
    let max_ops = state.config.limits.max_ops_per_document;
    let db = state.review.clone();
    let viewer = who.clone();
    let (meta, row, context) = blocking::<_, ApiError>(move || {
        let meta = visible_doc(store.as_ref(), &viewer, &doc, None)?;
        let row = report::item_row(&db, meta.kind, meta.id, &item)?.ok_or(ApiError::NotFound)?;
        let row: serde_json::Value = serde_json::from_str(&row)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))?;
        let am = report::load_automerge_bounded(store.as_ref(), meta.id, max_ops)?;
        let context = report::context(meta.kind, &am)?;
        Ok((meta, row, context))
    })
    .await?;
    let item_id = row["item_id"].as_str().unwrap_or_default().to_owned();
    if has_resident_contact(&row) {
        audit(
            &state,
            &who.user_id,
            "item.read_personal",
            Some(format!("{}/{}", meta.id, item_id)),
            json!({"doc": meta.id, "item": item_id, "kind": meta.kind}),
        )
        .await?;
    }
    Ok(json_ok(&json!({"item": row, "context": context})))
}

/// The process-wide permits for item histories (sized by the first caller's
/// configuration: one server per process).
fn history_permits(n: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
    static PERMITS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(n.max(1))))
        .clone()
}

/// `GET /api/v1/items/{doc}/{id}/history`.
#[tracing::instrument(name = "items.history", skip_all)]
async fn item_history(
    RequireContentReader(who): RequireContentReader,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (doc, item) = path.into_inner();
    let store = state.store.clone();
    let max_ops = state.config.limits.max_ops_per_document;
    let db = state.review.clone();
    // A global bound on histories computed at once (each loads and walks a
    // whole document); more requests wait for a permit.
    let permit = history_permits(state.config.limits.max_concurrent_history)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let body = blocking::<_, ApiError>(move || {
        let meta = visible_doc(store.as_ref(), &who, &doc, None)?;
        report::item_row(&db, meta.kind, meta.id, &item)?.ok_or(ApiError::NotFound)?;
        let am = report::load_automerge_bounded(store.as_ref(), meta.id, max_ops)?;
        let key = if meta.kind == DocKind::Walk {
            "observations"
        } else {
            "notes"
        };
        let entries = history::item_history(&db, meta.id, &am, key, &item)?;
        drop(permit);
        Ok(json!({"doc_id": meta.id, "item_id": item, "entries": entries}))
    })
    .await?;
    Ok(json_ok(&body))
}

/// The open-feedback list's largest page.
const FEEDBACK_OPEN_PAGE: PageLimit = PageLimit::UP_TO_1000;

/// `GET /api/v1/feedback/open?limit=`.
#[tracing::instrument(name = "feedback.open", skip_all)]
async fn feedback_open(
    RequireContentReader(who): RequireContentReader,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut limit = 200;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "limit" => limit = FEEDBACK_OPEN_PAGE.parse(&v)?,
            _ => {
                return Err(ApiError::unknown_query());
            }
        }
    }
    let scope = Scope::of(&who);
    let db = state.review.clone();
    let items = blocking(move || report::open_feedback(&db, &scope, now_ms(), limit)).await?;
    Ok(json_ok(&json!({"items": items})))
}

/// `GET /api/v1/callbacks?assignee=&wijk=&team=&overdue=&task=&limit=&contacts=`:
/// open call backs and feedback due, due date first, with the resident's
/// contact (`tel:` / `mailto:`) unless `contacts=false`. Returning contacts
/// writes one audit entry (`callbacks.read_personal`) naming the items.
#[tracing::instrument(name = "callbacks.list", skip_all)]
async fn work_list(
    RequireContentReader(who): RequireContentReader,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut pairs = query_pairs(&req)?;
    let mut contacts = true;
    if let Some(i) = pairs.iter().position(|(k, _)| k == "contacts") {
        contacts = match pairs.remove(i).1.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(ApiError::param("contacts", "Expected true or false.")),
        };
    }
    let filters = WorkFilters::parse(&pairs)?;
    let scope = Scope::of(&who);
    let db = state.review.clone();
    let now = now_ms();
    let items = blocking(move || query_work_list(&db, &scope, &filters, now, contacts)).await?;
    let read: Vec<String> = items
        .iter()
        .filter(|e| e.contact.is_some())
        .map(|e| {
            format!(
                "{}/{}",
                e.item["doc_id"].as_str().unwrap_or_default(),
                e.item["item_id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    if !read.is_empty() {
        audit(
            &state,
            &who.user_id,
            "callbacks.read_personal",
            None,
            json!({"items": read, "count": read.len()}),
        )
        .await?;
    }
    Ok(json_ok(&json!({"now": now, "items": items})))
}
