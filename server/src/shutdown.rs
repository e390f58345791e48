//! Graceful shutdown coordination.
//!
//! On SIGTERM or Ctrl-C, [`crate::startup::Application`] first calls
//! [`Shutdown::trigger`]: every long-lived task (the sync layer's
//! connections and group committer) that watches [`Shutdown::triggered`]
//! must finish its in-flight commit, ack it, close its sockets with 1001
//! `shutting_down`, and drop its [`ShutdownGuard`]. The application waits
//! until all guards are dropped (at most `shutdown_timeout_secs`), then
//! stops the HTTP server (which finishes in-flight requests).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Shared shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    trigger: Arc<watch::Sender<bool>>,
    held: Arc<Held>,
}

#[derive(Debug, Default)]
struct Held {
    count: AtomicUsize,
    released: Notify,
}

/// Held by a task that must finish before the server stops.
#[derive(Debug)]
pub struct ShutdownGuard {
    held: Arc<Held>,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        self.held.count.fetch_sub(1, Ordering::AcqRel);
        self.held.released.notify_waiters();
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A fresh, untriggered signal.
    pub fn new() -> Self {
        let (trigger, _) = watch::channel(false);
        Self {
            trigger: Arc::new(trigger),
            held: Arc::default(),
        }
    }

    /// Starts the shutdown: every [`Shutdown::triggered`] future completes.
    pub fn trigger(&self) {
        self.trigger.send_replace(true);
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.trigger.borrow()
    }

    /// Completes when the shutdown starts (at once if it already has).
    pub async fn triggered(&self) {
        let mut rx = self.trigger.subscribe();
        // Err means the sender is gone, which only happens at process end.
        let _ = rx.wait_for(|t| *t).await;
    }

    /// A guard that delays the final stop until dropped.
    pub fn guard(&self) -> ShutdownGuard {
        self.held.count.fetch_add(1, Ordering::AcqRel);
        ShutdownGuard {
            held: self.held.clone(),
        }
    }

    /// Waits until every guard is dropped, or `timeout`; true if drained.
    pub async fn wait_drained(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let released = self.held.released.notified();
                if self.held.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                // Re-check periodically as well, in case a wakeup raced.
                let _ = tokio::time::timeout(Duration::from_millis(50), released).await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_wakes_watchers_and_drain_waits_for_guards() {
        let s = Shutdown::new();
        let guard = s.guard();
        let watcher = {
            let s = s.clone();
            tokio::spawn(async move {
                s.triggered().await;
                drop(guard);
            })
        };
        assert!(!s.is_triggered());
        assert!(
            !s.wait_drained(Duration::from_millis(50)).await,
            "guard still held"
        );
        s.trigger();
        assert!(s.wait_drained(Duration::from_secs(2)).await);
        watcher.await.expect("watcher");
        s.triggered().await; // already triggered: returns at once
    }
}
