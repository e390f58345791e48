//! The `[geocoding]` section (applied by `crate::geocode`): the address
//! service the server asks on behalf of the app, PDOK's Locatieserver by
//! default.

use serde::{Deserialize, Serialize};

/// The `[geocoding]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GeocodingConfig {
    /// Whether the server asks the address service at all. Off by default:
    /// switching it on sends coordinates (and the coordinators' search
    /// words) to the service, a decision for the municipality.
    pub enabled: bool,
    /// The service's base URL, without a trailing slash; the server asks
    /// `<url>/reverse` and `<url>/free` (the Locatieserver's API, version 3.1).
    pub url: String,
    /// Milliseconds the server waits for the service's whole answer.
    pub timeout_ms: u64,
    /// Answers kept in memory (reverse and search together); the oldest
    /// go first.
    pub cache_entries: usize,
    /// Seconds an answer is served from memory before it is asked again.
    pub cache_ttl_secs: u64,
    /// Metres from the position within which an address counts as its
    /// nearest address; farther away the answer is "no address".
    pub max_distance_m: u32,
    /// Requests one account may make per minute (cached answers count too).
    pub per_user_per_minute: u32,
    /// Requests to the service under way at once; more are answered
    /// `busy` at once.
    pub max_concurrent: usize,
}

impl Default for GeocodingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "https://api.pdok.nl/bzk/locatieserver/search/v3_1".into(),
            timeout_ms: 3000,
            cache_entries: 10_000,
            cache_ttl_secs: 86_400,
            max_distance_m: 100,
            per_user_per_minute: 60,
            max_concurrent: 4,
        }
    }
}

impl GeocodingConfig {
    /// Checks the values (called by the configuration's validation).
    pub fn validate(&self) -> Result<(), &'static str> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
            return Err("geocoding.url must be an http(s) URL without a trailing slash");
        }
        if self.timeout_ms == 0
            || self.cache_entries == 0
            || self.max_distance_m == 0
            || self.per_user_per_minute == 0
            || self.max_concurrent == 0
        {
            return Err(
                "geocoding: timeout_ms, cache_entries, max_distance_m, per_user_per_minute and max_concurrent must be positive",
            );
        }
        Ok(())
    }
}
