//! The document cache: one [`CachedDoc`] per document id, shared by every
//! connection, loaded from the store on first use. Build it once, outside
//! the `HttpServer::new` closure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
}

/// Document id → cached document.
#[derive(Debug)]
pub struct DocCache {
    store: Arc<dyn Store>,
    entries: Mutex<HashMap<DocId, Arc<CachedDoc>>>,
    generation: AtomicU64,
}

impl DocCache {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
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
        self.entries.lock().ok()?.get(&id).cloned()
    }

    /// The document, loaded from the store on first use. Blocking: call it
    /// off the async threads.
    pub fn open(&self, id: DocId) -> Result<Option<Arc<CachedDoc>>, CacheError> {
        if let Some(entry) = self.cached(id) {
            return Ok(Some(entry));
        }
        let Some(meta) = self.store.doc_meta(id)? else {
            return Ok(None);
        };
        let Some(stored) = self.store.load_doc(id)? else {
            return Ok(None);
        };
        let doc = stored.to_automerge()?;
        let fresh = Arc::new(CachedDoc::new(meta, self.next_generation(), doc));
        let mut entries = self.entries.lock().map_err(|_| CacheError::Poisoned)?;
        // Another connection may have loaded or created it meanwhile: keep theirs.
        Ok(Some(entries.entry(id).or_insert(fresh).clone()))
    }

    /// Caches a new document unless one with its id is already cached.
    pub fn insert_new(&self, doc: CachedDoc) -> Result<Arc<CachedDoc>, Arc<CachedDoc>> {
        let id = doc.meta.id;
        let fresh = Arc::new(doc);
        let Ok(mut entries) = self.entries.lock() else {
            return Err(fresh);
        };
        if let Some(existing) = entries.get(&id) {
            return Err(existing.clone());
        }
        entries.insert(id, fresh.clone());
        Ok(fresh)
    }

    /// Evicts `doc` (if it is still the cached entry) and poisons it, so
    /// that writes still queued for it fail instead of acking changes that
    /// were never stored.
    pub fn evict(&self, doc: &CachedDoc) {
        doc.poison();
        if let Ok(mut entries) = self.entries.lock()
            && let Some(current) = entries.get(&doc.meta.id)
            && current.generation == doc.generation
        {
            entries.remove(&doc.meta.id);
        }
    }
}
