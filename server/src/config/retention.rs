//! The `[retention]` section (applied by `crate::retention` and the
//! `wijklog backup --to-dir` rotation). The defaults and the reasoning
//! behind them are in docs/privacy.md, "Retention"; they are a starting
//! point, not legal advice: each municipality sets its own periods.

use serde::{Deserialize, Serialize};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The `[retention]` section. A period of `0` days switches its rule off.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Seconds between two retention runs in `serve`; 0: no timer (run
    /// `wijklog retention run` from cron instead).
    pub interval_secs: u64,
    /// A note's resident contact details are erased this many days after
    /// its call back and feedback were closed (the latest of the two).
    pub contact_closed_days: u32,
    /// ... or this many days after the note was written, when neither was
    /// ever closed.
    pub contact_open_days: u32,
    /// The content (text, place, position, photos, partner and call-back
    /// notes) of the observations and notes of a walk or session is erased
    /// this many days after the document's last date.
    pub content_days: u32,
    /// Audit log entries are deleted this many days after they were written.
    pub audit_days: u32,
    /// Most erasures one run makes; the rest waits for the next run.
    pub max_erasures_per_run: u32,
    /// `wijklog backup --to-dir` deletes the backups it made in that
    /// directory more than this many days ago (0: keeps them all).
    pub backup_keep_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval_secs: 24 * 60 * 60,
            contact_closed_days: 90,
            contact_open_days: 365,
            content_days: 2 * 365,
            audit_days: 5 * 365,
            max_erasures_per_run: 500,
            backup_keep_days: 30,
        }
    }
}

impl RetentionConfig {
    /// Checks the values (called by the configuration's validation).
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.max_erasures_per_run == 0 {
            return Err("retention.max_erasures_per_run must be positive");
        }
        if self.contact_closed_days > 0
            && self.contact_open_days > 0
            && self.contact_open_days < self.contact_closed_days
        {
            return Err("retention.contact_open_days must not be shorter than contact_closed_days");
        }
        if self.audit_days > 0 && self.content_days > 0 && self.audit_days < self.content_days {
            return Err(
                "retention.audit_days must not be shorter than content_days (the audit log accounts for the erasures)",
            );
        }
        Ok(())
    }

    /// `days` as milliseconds, `None` for 0 (the rule is off).
    pub fn period_ms(days: u32) -> Option<i64> {
        (days > 0).then(|| i64::from(days) * DAY_MS)
    }
}
