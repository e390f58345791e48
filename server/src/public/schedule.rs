//! What the wijk pages show of the coming walks and spreekuren: kind, time
//! and place, never a title, route, team or name. Kept in memory and
//! brought up to date incrementally: a refresh reads only the documents
//! that received changes since the last one (`changes.seq` above the
//! watermark), at most [`BATCH`] per refresh, so a public request never
//! causes more than a bounded amount of document reading, and at most one
//! refresh runs at a time (others use what is there).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::params;
use serde::Serialize;
use wijklog_shared::{Catalog, Spreekuur, Walk};

use crate::domain::{DocId, DocKind};
use crate::review::ReviewDb;
use crate::storage::Store;

/// Most documents read by one refresh.
pub const BATCH: i64 = 200;
/// Most coming events shown per wijk.
pub const MAX_SHOWN: usize = 12;

/// A coming walk or spreekuur.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The document (not shown publicly; the coordinators' agenda uses it).
    #[serde(skip)]
    pub doc: DocId,
    /// `walk` or `spreekuur`.
    pub kind: DocKind,
    /// Catalog wijk id.
    #[serde(skip)]
    pub wijk: String,
    /// Planned start (ms).
    pub starts_at: i64,
    /// Spreekuur: where it is held (the buurthuis). Walks: none.
    pub place: Option<String>,
    /// The walk has ended.
    #[serde(skip)]
    pub ended: bool,
}

#[derive(Debug, Default)]
struct Inner {
    watermark: i64,
    events: HashMap<DocId, Event>,
    catalog: Option<Catalog>,
    refreshed_at: Option<Instant>,
}

/// The in-memory schedule; shared by all workers.
#[derive(Debug)]
pub struct Schedule {
    every: Duration,
    inner: Mutex<Inner>,
    refreshing: Mutex<()>,
}

impl Schedule {
    /// A schedule refreshed at most every `every` when asked.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            inner: Mutex::new(Inner::default()),
            refreshing: Mutex::new(()),
        }
    }

    /// Brings the schedule up to date if the last refresh is older than the
    /// interval (and no other refresh runs). Blocks.
    pub fn refresh_if_stale(&self, store: &dyn Store, db: &ReviewDb) {
        let stale = {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.refreshed_at.is_none_or(|t| t.elapsed() >= self.every)
        };
        if !stale {
            return;
        }
        let Ok(_only_one) = self.refreshing.try_lock() else {
            return;
        };
        if let Err(e) = self.refresh(store, db) {
            crate::telemetry::log_error_chain_at(e.as_ref(), true);
        }
    }

    fn refresh(&self, store: &dyn Store, db: &ReviewDb) -> anyhow::Result<()> {
        let watermark = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .watermark;
        let docs: Vec<(Vec<u8>, i64)> = db.with_conn(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, MAX(seq) AS m FROM changes WHERE seq > ?1 \
                 GROUP BY doc_id ORDER BY m LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![watermark, BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut seen = watermark;
        let mut read = Vec::new();
        let mut catalog_changed = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .catalog
            .is_none();
        for (id, seq) in docs {
            seen = seen.max(seq);
            let Ok(bytes) = <[u8; 16]>::try_from(id.as_slice()) else {
                continue;
            };
            let id = DocId::from_bytes(bytes);
            let Some(meta) = store.doc_meta(id)? else {
                continue;
            };
            if meta.kind == DocKind::Catalog {
                catalog_changed = true;
                continue;
            }
            read.push((id, event_of(store, id, meta.kind)));
        }
        let catalog = catalog_changed.then(|| crate::review::report::load_catalog(store));
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (id, event) in read {
            match event {
                Some(e) => inner.events.insert(id, e),
                None => inner.events.remove(&id),
            };
        }
        if let Some(c) = catalog {
            inner.catalog = Some(c);
        }
        inner.watermark = seen;
        inner.refreshed_at = Some(Instant::now());
        Ok(())
    }

    /// The catalog as of the last refresh (the defaults before the first).
    pub fn catalog(&self) -> Catalog {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .catalog
            .clone()
            .unwrap_or_else(Catalog::defaults)
    }

    /// The coming events of `wijk` from `from` (ms) on, soonest first, at
    /// most `max`; walks that ended are left out.
    pub fn coming(&self, wijk: &str, from: i64, max: usize) -> Vec<Event> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Event> = inner
            .events
            .values()
            .filter(|e| e.wijk == wijk && e.starts_at >= from && !e.ended)
            .cloned()
            .collect();
        out.sort_by_key(|e| (e.starts_at, e.doc));
        out.truncate(max);
        out
    }

    /// The walk `doc` if it is a known, planned walk.
    pub fn walk(&self, doc: DocId) -> Option<Event> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .events
            .get(&doc)
            .filter(|e| e.kind == DocKind::Walk)
            .cloned()
    }
}

/// Walk `id` as stored now (not as of the last refresh): a coordinator may
/// put a point on a walk planned a moment ago. `None` when it is not a walk
/// with a wijk and a planned start. Blocks.
pub fn walk_now(store: &dyn Store, id: DocId) -> Option<Event> {
    let meta = store.doc_meta(id).ok()??;
    (meta.kind == DocKind::Walk)
        .then(|| event_of(store, id, DocKind::Walk))
        .flatten()
}

/// The public face of one document, if it has a time and a wijk.
fn event_of(store: &dyn Store, id: DocId, kind: DocKind) -> Option<Event> {
    let doc = crate::review::report::load_automerge(store, id).ok()?;
    match kind {
        DocKind::Walk => {
            let w = Walk::from_doc(&doc).ok()?;
            let ended = w
                .ended_at
                .is_some_and(|e| w.reopened_at.is_none_or(|r| r < e));
            Some(Event {
                doc: id,
                kind,
                wijk: w.wijk?,
                starts_at: w.planned_at?,
                place: None,
                ended,
            })
        }
        DocKind::Spreekuur => {
            let s = Spreekuur::from_doc(&doc).ok()?;
            Some(Event {
                doc: id,
                kind,
                wijk: s.wijk?,
                starts_at: s.held_on?,
                place: s.location,
                ended: false,
            })
        }
        DocKind::Catalog => None,
    }
}
