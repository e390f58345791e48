//! The `[public]` section (applied by `crate::public`).

use serde::{Deserialize, Serialize};

/// The `[public]` section: limits of the residents' endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PublicConfig {
    /// Points one address may hand in per `submit_window_secs`.
    pub submits_per_address: u32,
    /// Points all addresses together may hand in per `submit_window_secs`.
    pub submits_global: u32,
    /// Window of the two submission limits (seconds).
    pub submit_window_secs: u64,
    /// Reads (wijk pages, status pages, form tokens) per address per minute.
    pub reads_per_address: u32,
    /// Reads of all addresses together per minute.
    pub reads_global: u32,
    /// Seconds after opening the form before it may be sent (a person
    /// needs longer; a script does not wait).
    pub form_min_secs: u64,
    /// Seconds a form stays valid after it was opened.
    pub form_max_secs: u64,
    /// Seconds the coming walks and spreekuren of the wijk pages may lag
    /// behind the documents.
    pub schedule_refresh_secs: u64,
}

impl Default for PublicConfig {
    fn default() -> Self {
        Self {
            submits_per_address: 5,
            submits_global: 120,
            submit_window_secs: 600,
            reads_per_address: 60,
            reads_global: 6000,
            form_min_secs: 3,
            form_max_secs: 7200,
            schedule_refresh_secs: 30,
        }
    }
}

impl PublicConfig {
    /// Checks the values (called by the configuration's validation).
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.submits_per_address == 0
            || self.submits_global == 0
            || self.submit_window_secs == 0
            || self.reads_per_address == 0
            || self.reads_global == 0
            || self.form_max_secs <= self.form_min_secs
        {
            return Err(
                "public: limits and windows must be positive, form_max_secs above form_min_secs",
            );
        }
        Ok(())
    }
}
