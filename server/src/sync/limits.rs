//! The sync server's limits and timings. Built from the platform's
//! configuration (`[limits]` and `[auth]`) in one place,
//! [`SyncLimits::from_config`], with the defaults documented in
//! `docs/sync-protocol.md` §8; only the group-commit timings are fixed.

use std::time::Duration;

/// Every bound the sync server enforces, and its timings.
#[derive(Debug, Clone)]
pub struct SyncLimits {
    /// Largest accepted frame (text or binary), in bytes.
    pub max_frame_bytes: usize,
    /// Most changes one sync message may carry.
    pub max_changes_per_message: usize,
    /// Largest total size of one message's changes once decompressed, in bytes.
    pub max_decompressed_bytes: u64,
    /// Largest size of one document (sum of its changes, uncompressed), in bytes.
    pub max_document_bytes: u64,
    /// Most operations in one change.
    pub max_ops_per_change: u64,
    /// Most operations in all changes of one message.
    pub max_ops_per_message: u64,
    /// Most operations in one document.
    pub max_ops_per_document: u64,
    /// Deepest object nesting (the root is depth 0, its maps depth 1).
    pub max_depth: usize,
    /// Most changes a connection holds that wait for their dependencies.
    pub max_waiting_changes: usize,
    /// Most bytes of such changes a connection holds.
    pub max_waiting_bytes: u64,
    /// Most documents one user may create.
    pub max_docs_per_user: u64,
    /// Frames per second a connection may send on average.
    pub messages_per_second: u32,
    /// Frames a connection may send in a burst.
    pub message_burst: u32,
    /// Time allowed for the `auth` frame.
    pub auth_timeout: Duration,
    /// How often the connection checks that the user and device are still valid.
    pub session_check_interval: Duration,
    /// Group commit: the longest a write waits for others to join its batch.
    pub commit_max_delay: Duration,
    /// Group commit: the most writes in one batch.
    pub commit_max_batch: usize,
    /// Group commit: the most bytes of changes in one batch.
    pub commit_max_bytes: usize,
    /// The sync scope's windows (`[sync]`).
    pub scope: crate::config::SyncConfig,
}

/// Group commit: the longest a write waits for others (fixed in this version).
pub const COMMIT_MAX_DELAY: Duration = Duration::from_millis(2);
/// Group commit: the most writes in one transaction (fixed in this version).
pub const COMMIT_MAX_BATCH: usize = 256;
/// Group commit: the most bytes of changes in one transaction (fixed in
/// this version; a single larger write is committed on its own).
pub const COMMIT_MAX_BYTES: usize = 4 * 1024 * 1024;

impl Default for SyncLimits {
    /// The limits of the default configuration: the same numbers as
    /// `config::Limits::default()`, never a second set.
    fn default() -> Self {
        Self::from_config(&crate::config::Config::default())
    }
}

impl SyncLimits {
    /// The limits configured in `[limits]` (frame sizes, message budget)
    /// and `[auth]`; the group-commit timings default.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let l = &config.limits;
        Self {
            max_frame_bytes: l.max_frame_bytes,
            max_changes_per_message: l.max_changes_per_message,
            max_decompressed_bytes: l.max_decompressed_bytes as u64,
            max_document_bytes: l.max_document_bytes as u64,
            max_ops_per_change: l.max_ops_per_change,
            max_ops_per_message: l.max_ops_per_message,
            max_ops_per_document: l.max_ops_per_document,
            max_depth: l.max_depth as usize,
            max_waiting_changes: l.max_waiting_changes,
            max_waiting_bytes: l.max_waiting_bytes,
            max_docs_per_user: l.max_docs_per_user,
            messages_per_second: l.messages_per_second,
            message_burst: l.message_burst,
            auth_timeout: Duration::from_secs(l.auth_timeout_secs),
            session_check_interval: Duration::from_secs(config.auth.session_check_secs.max(1)),
            commit_max_delay: COMMIT_MAX_DELAY,
            commit_max_batch: COMMIT_MAX_BATCH,
            commit_max_bytes: COMMIT_MAX_BYTES,
            scope: config.sync.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are the ones in the table of `docs/sync-protocol.md` §8
    /// (and `docs/operations.md`); one set, built from the configuration.
    #[test]
    fn defaults_are_the_documented_ones() {
        const MIB: u64 = 1024 * 1024;
        let l = SyncLimits::default();
        assert_eq!(l.max_frame_bytes as u64, 4 * MIB);
        assert_eq!(l.max_changes_per_message, 2_000);
        assert_eq!(l.max_decompressed_bytes, 64 * MIB);
        assert_eq!(l.max_document_bytes, 32 * MIB);
        assert_eq!(l.auth_timeout, Duration::from_secs(10));
        assert_eq!((l.messages_per_second, l.message_burst), (50, 200));
        assert_eq!(
            (
                l.max_ops_per_change,
                l.max_ops_per_message,
                l.max_ops_per_document
            ),
            (100_000, 300_000, 300_000)
        );
        assert_eq!(l.max_depth, 32);
        assert_eq!(
            (l.max_waiting_changes, l.max_waiting_bytes),
            (2_000, 8 * MIB)
        );
        assert_eq!(l.max_docs_per_user, 2_000);
        assert_eq!(l.session_check_interval, Duration::from_secs(5));
        assert_eq!(l.commit_max_delay, Duration::from_millis(2));
        assert_eq!(l.commit_max_batch, 256);
        assert_eq!(l.commit_max_bytes, 4 * MIB as usize);
    }

    #[test]
    fn the_message_rate_comes_from_the_configuration() {
        let mut c = crate::config::Config::default();
        c.limits.messages_per_second = 500;
        c.limits.message_burst = 2000;
        let l = SyncLimits::from_config(&c);
        assert_eq!((l.messages_per_second, l.message_burst), (500, 2000));
    }
}
