//! The residents' public JSON endpoints (docs/api.md, "Residents"); no
//! account. Every answer is `no-store`; every request counts against the
//! public read limits of its address (and of all addresses), submissions
//! also against the submission limits.
//!
//! - `GET /api/v1/public/wijken`: the wijken (id, label).
//! - `GET /api/v1/public/wijken/{wijk}`: a wijk's page data: label,
//!   categories in plain words, the coming walks and spreekuren (kind, date,
//!   time, and for a spreekuur its place), the newest published wijkbericht.
//! - `GET /api/v1/public/form-token`: a form token for one submission.
//! - `POST /api/v1/public/points`: hand in a point → 201 `{"receipt","status_url"}`.
//! - `GET /api/v1/public/points/{receipt}`: its status and dates only.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::items::json_ok;
use crate::domain::{DocKind, now_ms};
use crate::edge::{ApiError, json_body};
use crate::public::points;
use crate::public::receipt::Receipt;
use crate::public::submit::{self, MAX_BODY_BYTES, Submission, busy, too_many};
use crate::review::{iso8601, wijkbericht};
use crate::state::{AppState, blocking};

/// Registers the public routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/public/wijken", web::get().to(wijken))
        .route("/api/v1/public/wijken/{wijk}", web::get().to(wijk))
        .route("/api/v1/public/form-token", web::get().to(form_token))
        .route("/api/v1/public/points", web::post().to(post_point))
        .route("/api/v1/public/points/{receipt}", web::get().to(get_point));
}

fn peer(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// Counts a read of `req`'s address.
pub(crate) fn count_read(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    state.public.read(peer(req)).map_err(too_many)
}

/// Brings the schedule (and the catalog it holds) up to date if it is
/// stale, through the public database gate.
pub(crate) async fn fresh_schedule(state: &AppState) -> Result<(), ApiError> {
    let _slot = state.public.db_gate.acquire().await.map_err(|_| busy())?;
    let store = state.store.clone();
    let db = state.review.clone();
    let p = state.public.clone();
    blocking::<_, ApiError>(move || {
        p.schedule.refresh_if_stale(store.as_ref(), &db);
        Ok(())
    })
    .await
}

/// The one rule for what residents are offered of a catalog section: the
/// entries not retired, in catalog order (`order`, then id), each as
/// `(id, label)`, the id standing in for a missing label.
fn offered<'a>(
    entries: impl Iterator<Item = (&'a String, Option<i64>, &'a Option<String>, bool)>,
) -> Vec<(String, String)> {
    let mut list: Vec<_> = entries
        .filter(|&(_, _, _, retired)| !retired)
        .map(|(id, order, label, _)| {
            (
                order,
                id.clone(),
                label.clone().unwrap_or_else(|| id.clone()),
            )
        })
        .collect();
    list.sort();
    list.into_iter().map(|(_, id, label)| (id, label)).collect()
}

/// The active wijken, in catalog order.
pub(crate) fn wijk_list(catalog: &wijklog_shared::Catalog) -> Vec<(String, String)> {
    offered(
        catalog
            .wijken
            .iter()
            .map(|(id, e)| (id, e.order, &e.label, e.retired)),
    )
}

/// The active categories offered to residents, in catalog order.
pub(crate) fn category_list(catalog: &wijklog_shared::Catalog) -> Vec<(String, String)> {
    offered(
        catalog
            .categories
            .iter()
            .map(|(id, e)| (id, e.order, &e.label, e.retired)),
    )
}

async fn wijken(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    count_read(&state, &req)?;
    fresh_schedule(&state).await?;
    let catalog = state.public.schedule.catalog();
    let list: Vec<Value> = wijk_list(&catalog)
        .into_iter()
        .map(|(id, label)| json!({"id": id, "label": label}))
        .collect();
    Ok(json_ok(&json!({ "wijken": list })))
}

/// Start of today (00:00 in Amsterdam), ms.
pub(crate) fn start_of_today(now: i64) -> i64 {
    jiff::Timestamp::from_millisecond(now)
        .ok()
        .and_then(|t| {
            t.to_zoned_datetime(crate::review::sheet::amsterdam())
                .start_of_day()
                .ok()
        })
        .map_or(now, |z| z.timestamp().as_millisecond())
}

/// Local (Amsterdam) date `2026-12-08` and time `19:00` of `ms`.
pub(crate) fn local_date_time(ms: i64) -> (String, String) {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            let z = t.to_zoned_datetime(crate::review::sheet::amsterdam());
            (
                z.strftime("%Y-%m-%d").to_string(),
                z.strftime("%H:%M").to_string(),
            )
        })
        .unwrap_or_default()
}

async fn wijk(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    count_read(&state, &req)?;
    fresh_schedule(&state).await?;
    let id = path.into_inner();
    let catalog = state.public.schedule.catalog();
    let Some(entry) = catalog.wijken.get(&id).filter(|w| !w.retired) else {
        return Err(ApiError::NotFound);
    };
    let coming: Vec<Value> = state
        .public
        .schedule
        .coming(
            &id,
            start_of_today(now_ms()),
            crate::public::schedule::MAX_SHOWN,
        )
        .into_iter()
        .map(|e| {
            let (date, time) = local_date_time(e.starts_at);
            json!({
                "kind": e.kind,
                "starts_at": iso8601(e.starts_at),
                "date": date,
                "time": time,
                "place": if e.kind == DocKind::Spreekuur { e.place } else { None },
            })
        })
        .collect();
    let categories: Vec<Value> = category_list(&catalog)
        .into_iter()
        .map(|(id, label)| json!({"id": id, "label": label}))
        .collect();
    let bericht = published_wijkbericht(&state, &id).await?.map(|w| {
        json!({
            "from": w.from,
            "to": w.to,
            "period": wijkbericht::period_words(&w.from, &w.to),
            "published_at": iso8601(w.published_at),
            "text": w.text,
        })
    });
    Ok(json_ok(&json!({
        "wijk": {"id": id, "label": entry.label.clone().unwrap_or_else(|| id.clone())},
        "categories": categories,
        "coming": coming,
        "wijkbericht": bericht,
    })))
}

/// The newest published wijkbericht of `wijk` (never a draft), through the
/// public database gate; none on PostgreSQL, where the review layer does
/// not run yet.
pub(crate) async fn published_wijkbericht(
    state: &AppState,
    wijk: &str,
) -> Result<Option<wijkbericht::Published>, ApiError> {
    if !state.review.is_sqlite() {
        return Ok(None);
    }
    let _slot = state.public.db_gate.acquire().await.map_err(|_| busy())?;
    let db = state.review.clone();
    let wijk = wijk.to_owned();
    blocking::<_, ApiError>(move || db.with_conn(|c| wijkbericht::published(c, &wijk))).await
}

async fn form_token(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    count_read(&state, &req)?;
    let t = &state.public.tokens;
    let token = t
        .issue(submit::now_secs())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the system RNG failed")))?;
    Ok(json_ok(&json!({
        "token": token,
        "usable_after_secs": t.min_age_secs(),
        "expires_in_secs": t.max_age_secs(),
    })))
}

/// Reads a body of at most [`MAX_BODY_BYTES`]; a larger one is refused as
/// soon as it passes the bound.
pub(crate) async fn bounded_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::param("body", "The request body could not be read."))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge {
                code: "too_large",
                message: "The request body is larger than 16 KiB.",
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The status page's path for a receipt.
pub(crate) fn status_path(r: &Receipt) -> String {
    format!("/bewoners/status/{}", r.display())
}

async fn post_point(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    count_read(&state, &req)?;
    let body = bounded_body(payload).await?;
    let s: Submission = json_body(&body)?;
    let receipt = submit::submit(&state.public, &state.store, &state.review, peer(&req), s).await?;
    let mut res = HttpResponse::Created().json(json!({
        "receipt": receipt.display(),
        "status_url": status_path(&receipt),
    }));
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// The public status of `receipt` as JSON: status, dates, and for a point
/// picked up or declined the partner's label or the reason in general words.
pub(crate) async fn lookup(
    state: &AppState,
    typed: &str,
) -> Result<points::PublicStatus, ApiError> {
    let receipt = Receipt::parse(typed).ok_or(ApiError::NotFound)?;
    let _slot = state.public.db_gate.acquire().await.map_err(|_| busy())?;
    let db = state.review.clone();
    blocking::<_, ApiError>(move || {
        db.with_conn(|c| points::public_status(c, &receipt))?
            .ok_or(ApiError::NotFound)
    })
    .await
}

async fn get_point(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    count_read(&state, &req)?;
    let s = lookup(&state, &path.into_inner()).await?;
    let catalog = state.public.schedule.catalog();
    let mut body = json!({
        "status": s.status,
        "updated_at": iso8601(s.updated_at),
    });
    if let Some(w) = s.walk_date {
        body["walk_date"] = local_date_time(w).0.into();
    }
    if let Some(p) = &s.partner {
        body["partner"] = catalog
            .partners
            .get(p)
            .and_then(|e| e.label.clone())
            .unwrap_or_else(|| "een partner".into())
            .into();
    }
    if let Some(r) = &s.decline_reason {
        body["reason"] = crate::public::points::decline_sentence(r).into();
    }
    Ok(json_ok(&body))
}

#[cfg(test)]
mod tests {
    use super::{category_list, wijk_list};
    use wijklog_shared::{Catalog, CategoryEntry, WijkEntry};

    /// Both sections follow the one rule: retired entries left out, sorted
    /// by `order` (an entry without one first), then by id, and the id
    /// standing in for a missing label.
    #[test]
    fn wijken_and_categories_are_offered_by_the_same_rule() {
        let mut catalog = Catalog::defaults();
        catalog.wijken.clear();
        catalog.categories.clear();
        catalog
            .wijken
            .insert("a".into(), wijk_entry(Some(3), Some("Aa"), false));
        catalog
            .wijken
            .insert("b".into(), wijk_entry(Some(1), None, false));
        catalog
            .wijken
            .insert("c".into(), wijk_entry(Some(2), Some("Cc"), true));
        catalog
            .wijken
            .insert("d".into(), wijk_entry(None, Some("Dd"), false));
        catalog
            .wijken
            .insert("e".into(), wijk_entry(Some(1), Some("Ee"), false));
        catalog
            .categories
            .insert("a".into(), category_entry(Some(3), Some("Aa"), false));
        catalog
            .categories
            .insert("b".into(), category_entry(Some(1), None, false));
        catalog
            .categories
            .insert("c".into(), category_entry(Some(2), Some("Cc"), true));
        catalog
            .categories
            .insert("d".into(), category_entry(None, Some("Dd"), false));
        catalog
            .categories
            .insert("e".into(), category_entry(Some(1), Some("Ee"), false));
        let expected: Vec<(String, String)> = [("d", "Dd"), ("b", "b"), ("e", "Ee"), ("a", "Aa")]
            .iter()
            .map(|(id, label)| ((*id).to_owned(), (*label).to_owned()))
            .collect();
        assert_eq!(wijk_list(&catalog), expected);
        assert_eq!(category_list(&catalog), expected);
    }

    fn wijk_entry(order: Option<i64>, label: Option<&str>, retired: bool) -> WijkEntry {
        WijkEntry {
            label: label.map(str::to_owned),
            bbox: None,
            order,
            retired,
        }
    }

    fn category_entry(order: Option<i64>, label: Option<&str>, retired: bool) -> CategoryEntry {
        CategoryEntry {
            label: label.map(str::to_owned),
            label_en: None,
            color: None,
            positive: false,
            order,
            retired,
            callback_days: None,
        }
    }
}
