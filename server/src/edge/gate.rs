//! [`WorkGate`]: a global bound on expensive work (Argon2id hashing, image
//! decoding). At most `permits` jobs run at once; at most `max_waiting`
//! more wait for a slot; anything beyond that is refused at once with
//! [`Busy`] (HTTP 503 `busy`), so a flood of requests costs a counter
//! increment each instead of memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The gate is full: every slot is taken and the queue is at its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy ({0})")]
pub struct Busy(pub &'static str);

/// A bounded slot pool with a bounded queue. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct WorkGate {
    name: &'static str,
    permits: usize,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Decrements the waiting count when the waiter gets its slot or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WorkGate {
    /// A gate running at most `permits` jobs (at least 1) with at most
    /// `max_waiting` queued.
    pub fn new(name: &'static str, permits: usize, max_waiting: usize) -> Self {
        let permits = permits.max(1);
        Self {
            name,
            permits,
            semaphore: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// One slot per core (`std::thread::available_parallelism`).
    pub fn per_core(name: &'static str, max_waiting: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(name, cores, max_waiting)
    }

    /// How many jobs may run at once.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Jobs waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Waits for a slot (the permit frees it on drop), or refuses at once
    /// when `max_waiting` callers wait already.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.semaphore.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if queued >= self.max_waiting {
            return Err(Busy(self.name));
        }
        self.semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy(self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_at_most_permits_queues_at_most_max_waiting_and_refuses_the_rest() {
        let gate = Arc::new(WorkGate::new("test", 2, 3));
        let a = gate.acquire().await.expect("slot 1");
        let b = gate.acquire().await.expect("slot 2");
        // Three callers queue behind the two running jobs.
        let mut queued = Vec::new();
        for _ in 0..3 {
            let g = gate.clone();
            queued.push(tokio::spawn(async move { g.acquire().await.map(drop) }));
        }
        while gate.waiting() < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.acquire().await.err(), Some(Busy("test")), "queue full");
        assert_eq!(
            gate.waiting(),
            3,
            "a refused caller leaves the queue as it was"
        );
        drop(a);
        drop(b);
        for q in queued {
            q.await
                .expect("join")
                .expect("queued callers get their slot");
        }
        assert_eq!(gate.waiting(), 0);
        let _c = gate.acquire().await.expect("free again");
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_leaves_the_queue() {
        let gate = Arc::new(WorkGate::new("test", 1, 1));
        let held = gate.acquire().await.expect("slot");
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.acquire().await.map(drop) });
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(gate.waiting(), 0, "the cancelled waiter is gone");
        drop(held);
        let _ = gate.acquire().await.expect("slot");
    }
}
