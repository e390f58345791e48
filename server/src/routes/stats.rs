//! `GET /api/v1/stats?from=&to=&series_wijk=&series_category=`: counts per
//! wijk, category and severity for the period and the previous period of
//! equal length, and both over time (`series`, of one wijk and/or category
//! when asked) (coordinators only).
//! Defaults: the 30 days up to now.

use std::collections::BTreeSet;

use actix_web::{HttpRequest, HttpResponse, web};

use super::items::{json_ok, query_pairs};
use crate::domain::now_ms;
use crate::edge::{ApiError, RequireCoordinator, time_param};
use crate::review::{DAY_MS, Scope, callbacks, report, stats};
use crate::state::{AppState, blocking};

/// Registers the stats route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/stats", web::get().to(get_stats));
}

/// `GET /api/v1/stats`.
#[tracing::instrument(name = "stats.get", skip_all)]
async fn get_stats(
    RequireCoordinator(who): RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (mut from, mut to) = (None, None);
    let mut filter = stats::SeriesFilter::default();
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "from" => from = Some(time_param("from", &v)?),
            "to" => to = Some(time_param("to", &v)?),
            "series_wijk" => filter.wijk = Some(v),
            "series_category" => filter.category = Some(v),
            _ => {
                return Err(ApiError::unknown_query());
            }
        }
    }
    let to = to.unwrap_or_else(now_ms);
    let from = from.unwrap_or((to - 30 * DAY_MS).max(0));
    if from >= to {
        return Err(ApiError::param("from", "from must be before to."));
    }
    let scope = Scope::of(&who);
    let store = state.store.clone();
    let db = state.review.clone();
    let body = blocking(move || {
        let catalog = report::load_catalog(store.as_ref());
        let positive: BTreeSet<String> = catalog
            .categories
            .iter()
            .filter(|(_, c)| c.positive)
            .map(|(id, _)| id.clone())
            .collect();
        if filter
            .wijk
            .as_ref()
            .is_some_and(|w| !catalog.wijken.contains_key(w))
        {
            return Err(ApiError::param("series_wijk", "Unknown wijk."));
        }
        if filter
            .category
            .as_ref()
            .is_some_and(|c| !catalog.categories.contains_key(c))
        {
            return Err(ApiError::param("series_category", "Unknown category."));
        }
        let stats = stats::stats_with(&db, &scope, from, to, &positive, &filter)?;
        let work = callbacks::counts(&db, &scope, now_ms())?;
        let mut body =
            serde_json::to_value(stats).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
        body["work_list"] =
            serde_json::to_value(work).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
        Ok::<_, ApiError>(body)
    })
    .await?;
    Ok(json_ok(&body))
}
