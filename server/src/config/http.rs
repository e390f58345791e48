//! The `[http]` section (applied by `crate::edge` and `crate::startup`).

use serde::{Deserialize, Serialize};

use super::Secret;

/// The `[http]` section: limits of the HTTP listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers (actix
    /// `client_request_timeout`); slower ones get 408 and are closed.
    pub header_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open.
    pub keep_alive_secs: u64,
    /// Longest pause (seconds) between two pieces of a request body; a body
    /// that stalls longer is answered 408 `body_timeout`.
    pub body_idle_timeout_secs: u64,
    /// Longest time (seconds) one request body may take in total.
    pub body_timeout_secs: u64,
    /// Most open connections of the whole server; beyond it new connections
    /// wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Most requests one client address may have in flight; more get 429
    /// `too_many_requests` at once.
    pub max_requests_per_address: usize,
    /// Argon2id hashes (logins, password changes) waiting for a core beyond
    /// the ones running (one per core); more get 503 `busy`.
    pub max_queued_password_checks: usize,
    /// Image decodes (upload checks, thumbnails) waiting for a core beyond
    /// the ones running (one per core); more get 503 `busy`.
    pub max_queued_image_decodes: usize,
    /// Bearer token `GET /metrics` requires. Unset: `/metrics` answers 404.
    pub metrics_token: Option<Secret>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            keep_alive_secs: 30,
            body_idle_timeout_secs: 20,
            body_timeout_secs: 300,
            max_connections: 4096,
            max_requests_per_address: 64,
            max_queued_password_checks: 32,
            max_queued_image_decodes: 16,
            metrics_token: None,
        }
    }
}

impl HttpConfig {
    /// Checks the values (called by the configuration's validation).
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.header_timeout_secs == 0
            || self.body_idle_timeout_secs == 0
            || self.body_timeout_secs == 0
            || self.max_connections == 0
            || self.max_requests_per_address == 0
        {
            return Err("http timeouts and connection limits must be positive");
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            return Err("http.metrics_token must be at least 16 characters");
        }
        Ok(())
    }
}
