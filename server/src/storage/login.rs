//! Login rate-limit counters as the store keeps them for several nodes
//! ([`super::Store::update_login_counters`]). The rule that reads and bumps
//! them lives in `crate::auth::rate_limit`; the store only loads the three
//! windows of one attempt and the trusted-address fact, locked, hands them to
//! the rule, and writes back what the rule left, in one transaction, so
//! attempts on different nodes take turns exactly as threads of one process
//! do under the in-memory limiter's lock.

/// One fixed window of failed logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginWindow {
    /// When the window started (ms since the epoch).
    pub started_at: i64,
    /// Failures counted in it (attempts in flight count as failures).
    pub failures: u32,
}

/// Which counters one login attempt touches. The strings are opaque keys
/// made by the rate limiter (an account name folded to lower case, an
/// address, a login-trust token id); they are personal data and are kept
/// only as long as their window lasts (trusted addresses: as long as the
/// trust lasts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginKeys {
    /// The (account, client) pair.
    pub pair: String,
    /// The client's address.
    pub address: String,
    /// The account.
    pub account: String,
    /// The attempt's time (ms since the epoch): a trusted address
    /// remembered now is stamped with it.
    pub now: i64,
    /// Trusted addresses remembered before this time (ms) no longer count.
    pub trusted_since: i64,
    /// Most trusted addresses kept per account; the oldest go first.
    pub trusted_per_account: u32,
}

/// The counters of one attempt, as loaded; the rule changes them in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginCounters {
    /// The pair's window (`None`: no failure counted).
    pub pair: Option<LoginWindow>,
    /// The address's window.
    pub address: Option<LoginWindow>,
    /// The account's window (failures of untrusted clients only).
    pub account: Option<LoginWindow>,
    /// Whether the address logged in to the account successfully since
    /// [`LoginKeys::trusted_since`] (as loaded).
    pub trusted_address: bool,
    /// Set by the rule: remember the address as trusted for the account
    /// (stamped [`LoginKeys::now`]).
    pub trust_address: bool,
}
