//! The document cache: one [`CachedDoc`] per document id, shared by every
//! connection, loaded from the store on first use. Build it once, outside
//! the `HttpServer::new` closure.
//!
//! The cache is bounded ([`CacheLimits`]: documents and bytes). When a load
//! or a new document takes it over a bound, the least recently used entries
//! that nobody holds (no connection has the document open, no write for it
//! is queued: the cache's `Arc` is the only one) are dropped until it fits.
//! Entries in use are never dropped, so the bound can be exceeded while
//! many documents are open at once; a dropped document is loaded again from
//! the store on its next use, exactly like at startup.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::gauge::Gauge;

use super::core::CachedDoc;
use crate::domain::DocId;
use crate::storage::{Store, StoreError};

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The store failed.
    #[error("store error")]
    Store(#[from] StoreError),
    /// The stored changes do not rebuild a document.
    #[error("stored document does not load")]
    Load(#[from] automerge::AutomergeError),
    /// The cache's own lock was poisoned by a panic.
    #[error("cache lock poisoned")]
    Poisoned,
    /// The stored document is at another epoch than the cached copy: its
    /// history was rewritten (an erasure, on another node). The copy must
    /// go, never be merged with the new history.
    #[error("the document's history was rewritten")]
    Rewritten,
}

/// The cache's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most documents kept when nobody uses them.
    pub max_documents: usize,
    /// Most bytes (sum of the documents' change sizes) kept when nobody uses them.
    pub max_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_documents: 1000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

struct Slot {
    entry: Arc<CachedDoc>,
    /// Size when cached or last seen unlocked (bytes).
    bytes: u64,
    /// The cache's clock at the last use.
    used: u64,
}

/// Document id → cached document.
pub struct DocCache {
    store: Arc<dyn Store>,
    limits: CacheLimits,
    entries: Mutex<HashMap<DocId, Slot>>,
    generation: AtomicU64,
    clock: AtomicU64,
    /// Counts announcements of changes made through other nodes
    /// ([`DocCache::note_remote_change`]); a load that saw it move re-reads.
    remote: AtomicU64,
    gauge: Option<Gauge>,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("limits", &self.limits)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn size_of(entry: &CachedDoc) -> Option<u64> {
    entry.try_size_bytes()
}

impl DocCache {
    /// An empty cache over `store` with the default bounds.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_limits(store, CacheLimits::default(), None)
    }

    /// An empty cache over `store` with `limits`; `gauge` (if any) follows
    /// the number of cached documents.
    pub fn with_limits(store: Arc<dyn Store>, limits: CacheLimits, gauge: Option<Gauge>) -> Self {
        Self {
            store,
            limits,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
            clock: AtomicU64::new(1),
            remote: AtomicU64::new(0),
            gauge,
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Drops least recently used entries nobody holds until the cache is
    /// within its bounds (or only entries in use are left). Called with the
    /// lock held.
    fn shrink(&self, entries: &mut HashMap<DocId, Slot>) {
        for slot in entries.values_mut() {
            if let Some(bytes) = size_of(&slot.entry) {
                slot.bytes = bytes;
            }
        }
        let mut bytes: u64 = entries.values().map(|s| s.bytes).sum();
        if entries.len() > self.limits.max_documents || bytes > self.limits.max_bytes {
            let mut idle: Vec<(u64, DocId)> = entries
                .iter()
                .filter(|(_, s)| Arc::strong_count(&s.entry) == 1)
                .map(|(id, s)| (s.used, *id))
                .collect();
            idle.sort_unstable();
            for (_, id) in idle {
                if entries.len() <= self.limits.max_documents && bytes <= self.limits.max_bytes {
                    break;
                }
                if let Some(slot) = entries.remove(&id) {
                    bytes = bytes.saturating_sub(slot.bytes);
                }
            }
        }
        if let Some(g) = &self.gauge {
            g.set(i64::try_from(entries.len()).unwrap_or(i64::MAX));
        }
    }

    fn slot(&self, entry: Arc<CachedDoc>) -> Slot {
        let bytes = size_of(&entry).unwrap_or(0);
        Slot {
            entry,
            bytes,
            used: self.tick(),
        }
    }

    /// A fresh generation number.
    pub fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Number of cached documents.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached entry, if any, without touching the store.
    pub fn cached(&self, id: DocId) -> Option<Arc<CachedDoc>> {
        let mut entries = self.entries.lock().ok()?;
        let slot = entries.get_mut(&id)?;
        slot.used = self.tick();
        Some(slot.entry.clone())
    }

    /// The document, loaded from the store on first use. Blocking: call it
    /// off the async threads.
    pub fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, CacheError> {
        // A load that raced with another node's rewrite of the document
        // is dropped and done again (bounded: each try saw a new epoch).
        let mut tries = 0;
        loop {
            match self.open_once(id) {
                Err(CacheError::Rewritten) if tries < 3 => tries += 1,
                other => return other,
            }
        }
    }

    fn open_once(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, CacheError> {
        if let Some(entry) = self.cached(id) {
            return Ok(Some(entry));
        }
        let remote_before = self.remote.load(Ordering::SeqCst);
        let Some(meta) = self.store.doc_meta(id)? else {
            return Ok(None);
        };
        let Some(stored) = self.store.load_doc(id)? else {
            return Ok(None);
        };
        let doc = stored.to_automerge()?;
        let fresh =
            Arc::new(CachedDoc::new(meta, self.next_generation(), doc).with_epoch(stored.epoch));
        let mut entries = self.entries.lock().map_err(|_| CacheError::Poisoned)?;
        // Another connection may have loaded or created it meanwhile: keep theirs.
        if let Some(slot) = entries.get(&id) {
            return Ok(Some(slot.entry.clone()));
        }
        let slot = self.slot(fresh.clone());
        entries.insert(id, slot);
        // The caller holds `fresh`, so it cannot be the one dropped.
        self.shrink(&mut entries);
        drop(entries);
        // Another node may have committed between the load and the insert,
        // and its announcement found nothing cached: read again.
        if self.remote.load(Ordering::SeqCst) != remote_before
            && let Err(e) = self.merge_stored(&fresh)
        {
            self.evict(&fresh);
            return Err(e);
        }
        Ok(Some(fresh))
    }

    /// Records that another node announced a change (before the cache looks
    /// for the document), see [`DocCache::open`].
    pub fn note_remote_change(&self) {
        self.remote.fetch_add(1, Ordering::SeqCst);
    }

    /// Ids of every cached document.
    pub fn ids(&self) -> Vec<DocId> {
        self.entries
            .lock()
            .map(|e| e.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Applies to `entry` every stored change it lacks (committed through
    /// another node). Returns how many were applied. The committed heads
    /// take them in; local changes still waiting for their commit stay
    /// outside until that commit reports. [`CacheError::Rewritten`] (and
    /// nothing applied) when the stored document is at another epoch: the
    /// caller evicts the entry. Blocking.
    pub fn merge_stored(&self, entry: &CachedDoc) -> Result<usize, CacheError> {
        let Some(stored) = self.store.load_doc(entry.meta.id)? else {
            return Ok(0);
        };
        if stored.epoch != entry.epoch {
            return Err(CacheError::Rewritten);
        }
        let stored = stored.to_automerge()?;
        let mut inner = entry.lock().map_err(|_| CacheError::Poisoned)?;
        let missing: Vec<automerge::Change> = stored
            .get_changes(&[])
            .into_iter()
            .filter(|c| automerge::ReadDoc::get_change_by_hash(&inner.doc, &c.hash()).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let settled = inner.committed_heads == inner.doc.get_heads();
        let (bytes, ops) = missing.iter().fold((0u64, 0u64), |(b, o), c| {
            (b + c.raw_bytes().len() as u64, o + c.len() as u64)
        });
        let n = missing.len();
        if settled {
            inner.doc.apply_changes(missing)?;
            inner.committed_heads = inner.doc.get_heads();
        } else {
            inner.doc.apply_changes(missing.iter().cloned())?;
            inner.merge_committed(&missing);
        }
        inner.size_bytes += bytes;
        inner.ops += ops;
        Ok(n)
    }

    /// Caches a new document unless one with its id is already cached.
    pub fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>> {
        let id = doc.meta.id;
        let fresh = Arc::new(doc);
        let Ok(mut entries) = self.entries.lock() else {
            return Err(fresh);
        };
        if let Some(existing) = entries.get(&id) {
            return Err(existing.entry.clone());
        }
        let slot = self.slot(fresh.clone());
        entries.insert(id, slot);
        self.shrink(&mut entries);
        Ok(fresh)
    }

    /// Evicts `doc` (if it is still the cached entry) and poisons it, so
    /// that writes still queued for it fail instead of acking changes that
    /// were never stored.
    pub fn evict(&self, doc: &CachedDoc) {
        doc.poison();
        if let Ok(mut entries) = self.entries.lock()
            && let Some(current) = entries.get(&doc.meta.id)
            && current.entry.generation == doc.generation
        {
            entries.remove(&doc.meta.id);
            if let Some(g) = &self.gauge {
                g.set(i64::try_from(entries.len()).unwrap_or(i64::MAX));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DocKind, UserId};
    use crate::storage::{DocWrite, NewChange, SqliteStore};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn stored_walk(store: &dyn Store, title: &str) -> (DocId, Vec<automerge::ChangeHash>) {
        let id = DocId::new_v4();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "kind", "walk").expect("put");
        doc.put(ROOT, "title", title).expect("put");
        doc.commit();
        let user = UserId::parse("u1").expect("user");
        let write = DocWrite::creating(id, DocKind::Walk, &user, Some("noord"), doc.document());
        store.commit(&[write]).expect("commit");
        (id, doc.get_heads())
    }

    #[test]
    fn idle_documents_beyond_the_bound_go_least_recently_used_first_and_held_ones_stay() {
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let docs: Vec<_> = (0..4)
            .map(|i| stored_walk(store.as_ref(), &format!("w{i}")))
            .collect();
        let gauge = Gauge::default();
        let limits = CacheLimits {
            max_documents: 2,
            max_bytes: u64::MAX,
        };
        let cache = DocCache::with_limits(store, limits, Some(gauge.clone()));

        let held = cache.open(docs[0].0).expect("open").expect("exists");
        drop(cache.open(docs[1].0).expect("open"));
        // docs[0] is held, so loading docs[2] drops the idle docs[1].
        drop(cache.open(docs[2].0).expect("open"));
        assert!(cache.cached(docs[1].0).is_none());
        assert!(cache.cached(docs[0].0).is_some() && cache.cached(docs[2].0).is_some());
        // Loading docs[3]: docs[0] is held, docs[3] is being returned, so the
        // idle docs[2] goes although it was used more recently than docs[0].
        drop(cache.open(docs[3].0).expect("open"));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.cached(docs[0].0).is_some(),
            "held documents are never dropped"
        );
        assert_eq!(gauge.get(), 2);
        // A dropped document loads again with all its changes.
        let again = cache.open(docs[1].0).expect("open").expect("exists");
        assert_eq!(again.committed_heads().expect("heads"), docs[1].1);
        assert!(!Arc::ptr_eq(&again, &held));
        drop(held);
    }

    #[test]
    fn changes_of_another_node_count_as_committed_while_a_local_commit_is_in_flight() {
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let (id, base) = stored_walk(store.as_ref(), "w");
        let cache = DocCache::new(store.clone());
        let entry = cache.open(id).expect("open").expect("exists");
        // A local change, applied to the shared copy, its commit in flight.
        let local = {
            let mut inner = entry.lock().expect("lock");
            let mut tx = inner.doc.transaction();
            tx.put(ROOT, "title", "local").expect("put");
            tx.commit();
            inner.doc.get_heads()
        };
        // Another node stores a change of its own.
        let mut other = AutoCommit::load(
            &store
                .load_doc(id)
                .expect("load")
                .expect("doc")
                .to_automerge()
                .expect("doc")
                .save(),
        )
        .expect("load");
        other.put(ROOT, "place", "plein").expect("put");
        other.commit();
        let remote = other.get_heads();
        let change = other
            .get_changes(&base)
            .iter()
            .map(NewChange::from_change)
            .collect();
        store
            .commit(&[DocWrite {
                epoch: None,
                doc_id: id,
                user_id: UserId::parse("u2").expect("user"),
                device_id: None,
                create: None,
                changes: change,
                projection: None,
                schedule: None,
            }])
            .expect("commit");
        assert_eq!(cache.merge_stored(&entry).expect("merge"), 1);
        {
            let mut inner = entry.lock().expect("lock");
            // What clients are sent: the other node's change, not the local one.
            let sent = inner.committed_doc().expect("committed copy");
            assert_eq!(sent.get_heads(), remote);
            assert!(automerge::ReadDoc::get_change_by_hash(sent, &local[0]).is_none());
            assert_eq!(inner.committed_heads, remote);
        }
        // The local commit reports: everything is committed, the copy is gone.
        entry.mark_committed(&local);
        let mut inner = entry.lock().expect("lock");
        let heads = inner.doc.get_heads();
        assert_eq!(heads.len(), 2);
        assert_eq!(inner.committed_heads, heads);
        assert_eq!(inner.committed_doc().expect("doc").get_heads(), heads);
    }

    #[test]
    fn the_byte_bound_drops_idle_documents_too() {
        let tmp = tempfile::tempdir().expect("tmp");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(tmp.path()).expect("store"));
        let docs: Vec<_> = (0..3)
            .map(|i| stored_walk(store.as_ref(), &format!("w{i}")))
            .collect();
        let cache = DocCache::with_limits(
            store,
            CacheLimits {
                max_documents: 100,
                max_bytes: 1,
            },
            None,
        );
        for (id, _) in &docs {
            drop(cache.open(*id).expect("open"));
        }
        // Every document is over one byte: only the last loaded (held while
        // it was inserted) is left.
        assert_eq!(cache.len(), 1);
        assert!(cache.cached(docs[2].0).is_some());
    }
}
