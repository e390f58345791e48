//! The `[sync]` section: the sync scope's windows (applied by `crate::sync::scope`).

use serde::{Deserialize, Serialize};

/// The `[sync]` section: the scope's windows and the subscription bound.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Days a document stays on its members' devices after its last date.
    pub scope_past_days: u32,
    /// Days ahead a planned document is on every device of its team.
    pub scope_future_days: u32,
    /// Days a subscription lasts after the device last opened the document.
    pub subscription_ttl_days: u32,
    /// Seconds between two checks of an open connection's scope (documents
    /// whose window passed leave it with `unscope`).
    pub scope_check_secs: u64,
    /// Most documents one device may hold subscribed at once (subscriptions
    /// opened within `subscription_ttl_days`, documents it created
    /// included). A `subscribe`, or a frame that would subscribe implicitly,
    /// beyond it is answered `too_many_subscriptions`.
    pub max_subscriptions_per_device: u32,
    /// Seconds between two runs of the job that deletes lapsed subscriptions
    /// (opened more than `subscription_ttl_days` ago) of every device; 0
    /// turns it off. Without it a lapsed row goes only when its device
    /// subscribes again.
    pub lapsed_subscriptions_secs: u64,
    /// Connections in the same sync state with a document (the same heads
    /// on both sides, the same changes in flight) share one generated sync
    /// message per committed state of it, instead of each generating its
    /// own (the fan-out of a document many devices hold). Off: every
    /// connection generates its own (for comparison).
    pub share_messages: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            scope_past_days: 14,
            scope_future_days: 14,
            subscription_ttl_days: 14,
            scope_check_secs: 60,
            max_subscriptions_per_device: 500,
            lapsed_subscriptions_secs: 3600,
            share_messages: true,
        }
    }
}

impl SyncConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.scope_check_secs == 0 {
            return Err("sync.scope_check_secs must be positive");
        }
        if self.scope_past_days > 3650
            || self.scope_future_days > 3650
            || self.subscription_ttl_days > 3650
        {
            return Err("sync scope windows must be at most 3650 days");
        }
        if !(1..=100_000).contains(&self.max_subscriptions_per_device) {
            return Err("sync.max_subscriptions_per_device must be between 1 and 100000");
        }
        Ok(())
    }
}
