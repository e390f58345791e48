//! `GET /api/v1/documents`: walks and spreekuur sessions by their schedule,
//! for what a device does not hold (its sync scope holds only what its user
//! needs): the planning screen's coming walks and sessions, a team's running
//! walks to join, and older documents ("meer laden"). Each entry carries the
//! document's context (title, wijk, times, participants or staff, counts), as
//! `GET /api/v1/items/{doc}/{id}` does for one item.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use super::items::{json_ok, query_pairs};
use crate::domain::{DocId, DocKind, Principal, now_ms};
use crate::edge::{ApiError, PageLimit, RequireContentReader};
use crate::review::report;
use crate::state::{AppState, blocking};
use crate::storage::{DocListQuery, DocListState};

/// Most documents in one answer (each is loaded for its context).
pub const PAGE: PageLimit = PageLimit::UP_TO_50;
/// Documents in one answer without `limit`.
pub const DEFAULT_LIMIT: u32 = 20;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/documents", web::get().to(list));
}

/// One listed document.
#[derive(Debug, Serialize)]
struct Entry {
    id: DocId,
    kind: DocKind,
    team: Option<String>,
    created_at: i64,
    /// The caller created, wrote to or staffs it.
    mine: bool,
    /// Walk `planned_at`, session `held_on` (ms), from the stored schedule.
    planned_at: Option<i64>,
    started: bool,
    running: bool,
    /// The document's walk or session fields (`null` when it does not load).
    context: Value,
}

#[derive(Debug, Serialize)]
struct Page {
    documents: Vec<Entry>,
    /// For `state=past`: the `before` of the next page (`null`: no more).
    next_before: Option<String>,
}

/// The parsed query.
#[derive(Debug, PartialEq)]
struct Request {
    kind: DocKind,
    state: DocListState,
    team: Option<String>,
    mine: bool,
    limit: u32,
}

fn parse(pairs: &[(String, String)]) -> Result<Request, ApiError> {
    let mut kind = DocKind::Walk;
    let mut state = "planned";
    let mut from = None;
    let mut before = None;
    let mut team = None;
    let mut mine = false;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in pairs {
        match k.as_str() {
            "kind" => {
                kind = match v.as_str() {
                    "walk" => DocKind::Walk,
                    "spreekuur" => DocKind::Spreekuur,
                    _ => return Err(ApiError::param("kind", "kind must be walk or spreekuur.")),
                }
            }
            "state" => {
                state = match v.as_str() {
                    "planned" => "planned",
                    "running" => "running",
                    "past" => "past",
                    _ => {
                        return Err(ApiError::param(
                            "state",
                            "state must be planned, running or past.",
                        ));
                    }
                }
            }
            "from" => from = Some(crate::edge::time_param("from", v)?),
            "before" => {
                let parsed = v
                    .split_once(':')
                    .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, DocId::parse(id).ok()?)));
                before = Some(parsed.ok_or(ApiError::param(
                    "before",
                    "before must be the next_before of the previous page.",
                ))?);
            }
            "team" => {
                if v.is_empty() || v.len() > 64 {
                    return Err(ApiError::param("team", "team must be 1 to 64 characters."));
                }
                team = Some(v.clone());
            }
            "mine" => {
                mine = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::param("mine", "mine must be true or false.")),
                }
            }
            "limit" => limit = PAGE.parse(v)?,
            _ => return Err(ApiError::param("query", "Unknown query parameter.")),
        }
    }
    let state = match state {
        "planned" => DocListState::Planned {
            from: from.unwrap_or(i64::MIN),
        },
        "running" => DocListState::Running,
        // Older: what had its last date before now, unless a page says where.
        _ => DocListState::Past {
            before: before.or(Some((now_ms(), DocId::from_bytes([0xff; 16])))),
        },
    };
    Ok(Request {
        kind,
        state,
        team,
        mine,
        limit,
    })
}

/// The store query for `who`: a field worker sees only the own team's
/// documents of the kind their role allows; coordinators every team's.
fn query_for(who: &Principal, r: &Request) -> Result<Option<DocListQuery>, ApiError> {
    let team = if who.is_coordinator() {
        r.team.clone()
    } else {
        if !who.may_see(r.kind, who.team.as_deref()) {
            return Err(ApiError::Forbidden);
        }
        match (&who.team, &r.team) {
            (None, _) => return Ok(None),
            (Some(own), Some(asked)) if own != asked => return Ok(None),
            (Some(own), _) => Some(own.clone()),
        }
    };
    Ok(Some(DocListQuery {
        kind: r.kind,
        team,
        state: r.state,
        user: who.user_id.clone(),
        mine_only: r.mine,
        limit: r.limit,
    }))
}

/// `GET /api/v1/documents`.
#[tracing::instrument(name = "documents.list", skip_all)]
async fn list(
    RequireContentReader(who): RequireContentReader,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = parse(&query_pairs(&req)?)?;
    let Some(query) = query_for(&who, &request)? else {
        return Ok(json_ok(&Page {
            documents: Vec::new(),
            next_before: None,
        }));
    };
    let store = state.store.clone();
    let max_ops = state.config.limits.max_ops_per_document;
    let page = blocking(move || {
        let listed = store.list_documents(&query)?;
        let full = listed.len() as u32 == query.limit;
        let next_before = match query.state {
            DocListState::Past { .. } if full => {
                listed.last().map(|d| format!("{}:{}", d.at, d.meta.id))
            }
            _ => None,
        };
        let mut documents = Vec::with_capacity(listed.len());
        for d in listed {
            let context = report::load_automerge_bounded(store.as_ref(), d.meta.id, max_ops)
                .and_then(|am| report::context(d.meta.kind, &am))
                .unwrap_or(Value::Null);
            let schedule = d.schedule.unwrap_or_default();
            documents.push(Entry {
                id: d.meta.id,
                kind: d.meta.kind,
                team: d.meta.team,
                created_at: d.meta.created_at,
                mine: d.member,
                planned_at: schedule.planned_at,
                started: schedule.started,
                running: schedule.running,
                context,
            });
        }
        Ok::<_, ApiError>(Page {
            documents,
            next_before,
        })
    })
    .await?;
    Ok(json_ok(&page))
}
