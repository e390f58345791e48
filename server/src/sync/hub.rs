//! The live hub: after every group commit that stored something, the
//! committer publishes one [`DocEvent`] per changed document (however many
//! connections wrote to it in that batch); every connection subscribed here
//! decides (in its session) whether its user may see the document, and if so
//! pushes a sync message. A connection that is busy lets events queue up and
//! handles the queued ones together, one push per document. One hub per
//! process, built outside the `HttpServer::new` closure so that events cross
//! workers.

use tokio::sync::broadcast;

use super::core::ConnId;
use crate::domain::{DocId, DocKind, UserId};
use crate::storage::DocSchedule;

/// A document changed (or was created) by a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocEvent {
    /// The document.
    pub doc: DocId,
    /// Its kind.
    pub kind: DocKind,
    /// Its team.
    pub team: Option<String>,
    /// The connections whose writes were committed (they get their `ack`
    /// and the reply sync message anyway, so the hub skips them).
    pub origins: Vec<ConnId>,
    /// What the scope rule needs to decide whether the document entered a
    /// connection's scope.
    pub scope: ScopeFacts,
}

/// The scope facts of a changed document, from the writes of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeFacts {
    /// Who created it.
    pub owner: Option<UserId>,
    /// When it was created (ms).
    pub created_at: i64,
    /// Its schedule after the batch (none for the catalog).
    pub schedule: Option<DocSchedule>,
    /// The users whose changes the batch stored (they are members now).
    pub writers: Vec<UserId>,
    /// The event announces a rewritten history (an erasure), not a commit
    /// of sync writes: only connections that hold the document hear of it.
    pub rewritten: bool,
}

/// Publish/subscribe of [`DocEvent`]s.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: broadcast::Sender<DocEvent>,
    /// Rung when sessions ended somewhere ([`Hub::ring_sessions`]).
    sessions: broadcast::Sender<()>,
}

impl Hub {
    /// A hub buffering up to `capacity` events per slow subscriber; a
    /// subscriber that falls further behind resyncs all its documents.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        let (sessions, _) = broadcast::channel(4);
        Self { tx, sessions }
    }

    /// Announces a committed change.
    pub fn publish(&self, event: DocEvent) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }

    /// A new subscription (one per connection).
    pub fn subscribe(&self) -> broadcast::Receiver<DocEvent> {
        self.tx.subscribe()
    }

    /// Tells every connection to check its session now: a session ended
    /// (device revoked or signed out, user disabled), possibly through
    /// another node.
    pub fn ring_sessions(&self) {
        // No connections is fine.
        let _ = self.sessions.send(());
    }

    /// The bell of [`Hub::ring_sessions`] (one per connection). A
    /// connection that missed rings (`Lagged`) checks once, as for one.
    pub fn session_bell(&self) -> broadcast::Receiver<()> {
        self.sessions.subscribe()
    }
}
