//! Login rate limiting that an attacker cannot turn into a lockout.
//!
//! Every login attempt is counted **before** the password is checked
//! ([`LoginRateLimiter::begin`] reserves it as a failure under one lock, so
//! 40 parallel guesses against a budget of 5 evaluate 5 passwords, not 40);
//! a successful login gives its reservation back
//! ([`LoginRateLimiter::succeeded`]). Three counters, each over a fixed
//! window (`login_rate_limit.window_secs`):
//!
//! 1. per (account, client) — `pair_max_failures`: the client is the
//!    login-trust token if the attempt carries a valid one
//!    ([`super::trust`]), else the address. Guessing one account's password
//!    from one place stops quickly, and only that place is stopped;
//! 2. per address — `address_max_failures`: one address spraying many
//!    accounts is stopped;
//! 3. per account — `account_max_failures` failures from *untrusted*
//!    clients: a distributed attack on one account then stops every client
//!    that is not trusted. Trusted are: a client presenting a valid
//!    login-trust token for the account (the real user's phone or laptop
//!    that logged in before, also after a server restart, from any
//!    address), and addresses that logged in to the account successfully
//!    (the newest [`TRUSTED_PER_ACCOUNT`], for [`TRUSTED_FOR_MS`]). Trusted
//!    clients are held only by their own pair budget, so the attack cannot
//!    lock them out.
//!
//! What remains: a brand-new device of the real user, from a new address,
//! during an ongoing distributed attack on that very account, waits until
//! the window ends (or an admin helps). Logged-in devices never need the
//! login endpoint (they refresh), so they are unaffected either way.
//!
//! Where the counters live: on SQLite (one server process) in memory,
//! reset on restart; on PostgreSQL in the database
//! ([`Store::update_login_counters`]), so every node behind a load balancer
//! counts against the same budgets and a guesser gains nothing by spreading
//! attempts over nodes. The rule ([`begin_on`], [`give_back_on`]) is the
//! same code for both; the store only makes each attempt's read, decision
//! and write one locked step, as the in-memory lock does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::LoginRateLimitConfig;
use crate::storage::{LoginCounters, LoginKeys, LoginWindow, Store, StoreError};

/// Entries kept in memory before expired windows are pruned.
const PRUNE_AT: usize = 10_000;
/// Trusted addresses remembered per account; the oldest are forgotten first.
pub const TRUSTED_PER_ACCOUNT: u32 = 32;
/// How long an address that logged in to an account stays trusted (30 days).
pub const TRUSTED_FOR_MS: i64 = 30 * 86_400_000;
/// How often at most one node prunes the shared counters (ms).
const SHARED_PRUNE_EVERY_MS: i64 = 60_000;

/// Who is trying, within one account: a login-trust token, or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// A client presenting a valid login-trust token (its id).
    Token([u8; 16]),
    /// Any other client, by address.
    Address(IpAddr),
}

/// A login attempt counted as a failure until [`LoginRateLimiter::succeeded`]
/// or [`LoginRateLimiter::cancel`] gives it back.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    keys: LoginKeys,
    untrusted: bool,
    at: i64,
}

/// Where the counters are kept.
#[derive(Debug)]
enum Counters {
    /// In this process (one server per database: SQLite).
    Memory(Mutex<MemoryCounters>),
    /// In the database, shared by every node on it (PostgreSQL).
    Shared(Arc<dyn Store>),
}

/// The in-memory counters: the same keys and rows as the database's.
#[derive(Debug, Default)]
struct MemoryCounters {
    /// By (kind: 1 pair, 2 address, 3 account; key).
    windows: HashMap<(u8, String), LoginWindow>,
    /// Account -> address -> when it last logged in.
    trusted: HashMap<String, HashMap<String, i64>>,
}

impl MemoryCounters {
    fn update(&mut self, keys: &LoginKeys, update: &mut dyn FnMut(&mut LoginCounters)) {
        let slots = [
            (1u8, keys.pair.as_str()),
            (2, keys.address.as_str()),
            (3, keys.account.as_str()),
        ];
        let get = |m: &HashMap<(u8, String), LoginWindow>, (kind, key): (u8, &str)| {
            m.get(&(kind, key.to_owned())).copied()
        };
        let mut c = LoginCounters {
            pair: get(&self.windows, slots[0]),
            address: get(&self.windows, slots[1]),
            account: get(&self.windows, slots[2]),
            trusted_address: self
                .trusted
                .get(&keys.account)
                .and_then(|t| t.get(&keys.address))
                .is_some_and(|at| *at >= keys.trusted_since),
            trust_address: false,
        };
        update(&mut c);
        for ((kind, key), w) in slots.into_iter().zip([c.pair, c.address, c.account]) {
            match w.filter(|w| w.failures > 0) {
                Some(w) => {
                    self.windows.insert((kind, key.to_owned()), w);
                }
                None => {
                    self.windows.remove(&(kind, key.to_owned()));
                }
            }
        }
        if c.trust_address {
            let t = self.trusted.entry(keys.account.clone()).or_default();
            t.insert(keys.address.clone(), keys.now);
            while t.len() > keys.trusted_per_account as usize {
                let Some(oldest) = t
                    .iter()
                    .min_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                t.remove(&oldest);
            }
        }
    }

    fn prune(&mut self, windows_before: i64, trusted_before: i64) {
        self.windows.retain(|_, w| w.started_at >= windows_before);
        self.trusted.retain(|_, t| {
            t.retain(|_, at| *at >= trusted_before);
            !t.is_empty()
        });
    }
}

/// Whether `w` is a window still running at `now`. A window a node with a
/// clock ahead of this one started "in the future" counts as running.
fn live(w: Option<LoginWindow>, now: i64, window_ms: i64) -> Option<LoginWindow> {
    w.filter(|w| now.saturating_sub(w.started_at) < window_ms)
}

/// Whole seconds until `w` ends (at least 1, at most the window).
fn retry_after(w: &LoginWindow, now: i64, window_ms: i64) -> u64 {
    let left = window_ms
        .saturating_sub(now.saturating_sub(w.started_at))
        .clamp(0, window_ms);
    u64::try_from(left / 1000).unwrap_or(0).max(1)
}

/// The rule of [`LoginRateLimiter::begin`] on one attempt's counters:
/// refuse (`Err(retry_after_secs)`) or count the attempt as a failure.
/// `token` says whether the client presented a valid login-trust token.
/// Returns whether the client was untrusted (its failure counts against the
/// account).
pub fn begin_on(
    cfg: &LoginRateLimitConfig,
    c: &mut LoginCounters,
    token: bool,
    now: i64,
) -> Result<bool, u64> {
    let window_ms = window_ms(cfg);
    if let Some(w) = live(c.pair, now, window_ms)
        && w.failures >= cfg.pair_max_failures
    {
        return Err(retry_after(&w, now, window_ms));
    }
    let trusted = token || c.trusted_address;
    if !trusted {
        if let Some(w) = live(c.address, now, window_ms)
            && w.failures >= cfg.address_max_failures
        {
            return Err(retry_after(&w, now, window_ms));
        }
        if let Some(w) = live(c.account, now, window_ms)
            && w.failures >= cfg.account_max_failures
        {
            return Err(retry_after(&w, now, window_ms));
        }
    }
    let bump = |w: Option<LoginWindow>| {
        let mut w = live(w, now, window_ms).unwrap_or(LoginWindow {
            started_at: now,
            failures: 0,
        });
        w.failures = w.failures.saturating_add(1);
        Some(w)
    };
    c.pair = bump(c.pair);
    c.address = bump(c.address);
    if !trusted {
        c.account = bump(c.account);
    }
    Ok(!trusted)
}

/// Gives back the failure an attempt made at `at` counted (when its window
/// is still the one it was counted in).
pub fn give_back_on(cfg: &LoginRateLimitConfig, c: &mut LoginCounters, untrusted: bool, at: i64) {
    let window_ms = window_ms(cfg);
    let unbump = |w: &mut Option<LoginWindow>| {
        if let Some(w) = w
            && w.started_at <= at
            && at - w.started_at < window_ms
        {
            w.failures = w.failures.saturating_sub(1);
        }
    };
    unbump(&mut c.pair);
    unbump(&mut c.address);
    if untrusted {
        unbump(&mut c.account);
    }
}

fn window_ms(cfg: &LoginRateLimitConfig) -> i64 {
    i64::try_from(cfg.window_secs.max(1))
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

/// The limiter; shared by all workers (and, on PostgreSQL, by all nodes).
/// Its methods may block on the database: call them from the blocking pool.
#[derive(Debug)]
pub struct LoginRateLimiter {
    cfg: LoginRateLimitConfig,
    counters: Counters,
    /// When this process last pruned the shared counters (ms).
    pruned_at: AtomicI64,
}

fn key(account: &str) -> String {
    super::trust::account_key(account)
}

impl LoginRateLimiter {
    /// A limiter counting in this process's memory (one server: SQLite).
    pub fn new(cfg: LoginRateLimitConfig) -> Self {
        Self {
            cfg,
            counters: Counters::Memory(Mutex::default()),
            pruned_at: AtomicI64::new(0),
        }
    }

    /// A limiter counting in the database, shared with every other node
    /// on it (PostgreSQL).
    pub fn shared(cfg: LoginRateLimitConfig, store: Arc<dyn Store>) -> Self {
        Self {
            cfg,
            counters: Counters::Shared(store),
            pruned_at: AtomicI64::new(0),
        }
    }

    fn keys(account: &str, addr: IpAddr, token: Option<[u8; 16]>, now: i64) -> LoginKeys {
        let account = key(account);
        let client = match token {
            Some(id) => format!("t:{}", hex::encode(id)),
            None => format!("a:{addr}"),
        };
        LoginKeys {
            pair: format!("{account}\n{client}"),
            address: addr.to_string(),
            account,
            now,
            trusted_since: now.saturating_sub(TRUSTED_FOR_MS),
            trusted_per_account: TRUSTED_PER_ACCOUNT,
        }
    }

    /// Runs `update` on the attempt's counters as one locked step.
    fn update(
        &self,
        keys: &LoginKeys,
        update: &mut dyn FnMut(&mut LoginCounters),
    ) -> Result<(), StoreError> {
        let window_ms = window_ms(&self.cfg);
        match &self.counters {
            Counters::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                m.update(keys, update);
                if m.windows.len() + m.trusted.len() > PRUNE_AT {
                    m.prune(keys.now.saturating_sub(window_ms), keys.trusted_since);
                }
                Ok(())
            }
            Counters::Shared(store) => {
                store.update_login_counters(keys, update)?;
                let last = self.pruned_at.load(Ordering::Relaxed);
                if keys.now.saturating_sub(last) >= SHARED_PRUNE_EVERY_MS
                    && self
                        .pruned_at
                        .compare_exchange(last, keys.now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    // Bookkeeping: a failure here never refuses a login.
                    if let Err(e) = store.prune_login_counters(
                        keys.now.saturating_sub(window_ms),
                        keys.trusted_since,
                    ) {
                        tracing::warn!(error = ?e, "could not prune the login counters");
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks whether a login for `account` from `addr` (with the login-trust
    /// token id `token`, if a valid one came) may be tried now (`now`: ms
    /// since the epoch) and, if so, counts it as a failure at once.
    /// `Ok(Err(retry_after_secs))` if refused; the password must then not be
    /// checked. `Err` if the shared counters cannot be reached.
    pub fn begin(
        &self,
        account: &str,
        addr: IpAddr,
        token: Option<[u8; 16]>,
        now: i64,
    ) -> Result<Result<Attempt, u64>, StoreError> {
        let keys = Self::keys(account, addr, token, now);
        let mut verdict = Err(0);
        self.update(&keys, &mut |c| {
            verdict = begin_on(&self.cfg, c, token.is_some(), now);
        })?;
        Ok(verdict.map(|untrusted| Attempt {
            keys,
            untrusted,
            at: now,
        }))
    }

    /// The attempt was never evaluated (the server was busy): not counted.
    pub fn cancel(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.update(&attempt.keys, &mut |c| {
            give_back_on(&self.cfg, c, attempt.untrusted, attempt.at);
        })
    }

    /// The password was right: the attempt is not a failure, the pair's
    /// count is cleared and the address trusted for the account.
    pub fn succeeded(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.update(&attempt.keys, &mut |c| {
            give_back_on(&self.cfg, c, attempt.untrusted, attempt.at);
            c.pair = None;
            c.trust_address = true;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LoginRateLimitConfig {
        LoginRateLimitConfig {
            window_secs: 60,
            pair_max_failures: 3,
            address_max_failures: 5,
            account_max_failures: 4,
        }
    }

    fn limiter() -> LoginRateLimiter {
        LoginRateLimiter::new(cfg())
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    /// A fixed start time (ms), far from zero.
    const T: i64 = 1_800_000_000_000;

    fn begin(
        l: &LoginRateLimiter,
        account: &str,
        addr: IpAddr,
        token: Option<[u8; 16]>,
        t: i64,
    ) -> Result<Attempt, u64> {
        l.begin(account, addr, token, t)
            .expect("memory never fails")
    }

    /// A failed attempt: begun and kept.
    fn fail(l: &LoginRateLimiter, account: &str, addr: IpAddr, t: i64) {
        let _counted = begin(l, account, addr, None, t).expect("allowed");
    }

    #[test]
    fn attempts_are_counted_before_the_password_is_checked() {
        let l = limiter();
        // Three attempts in flight at once (none finished): the fourth is
        // refused although no failure was recorded after a check yet.
        let a: Vec<Attempt> = (0..3)
            .map(|_| begin(&l, "anna", ip(1), None, T).expect("within budget"))
            .collect();
        assert!(begin(&l, "anna", ip(1), None, T).is_err());
        // One of them turns out right: its reservation is given back.
        let mut a = a.into_iter();
        l.succeeded(a.next().expect("one")).expect("memory");
        assert!(begin(&l, "anna", ip(1), None, T).is_ok());
    }

    #[test]
    fn a_cancelled_attempt_costs_nothing() {
        let l = limiter();
        for _ in 0..10 {
            let a = begin(&l, "anna", ip(1), None, T).expect("allowed");
            l.cancel(a).expect("memory");
        }
        assert!(begin(&l, "anna", ip(1), None, T).is_ok());
    }

    #[test]
    fn pair_limit_blocks_attacker_address_not_the_real_user() {
        let l = limiter();
        for _ in 0..3 {
            fail(&l, "anna", ip(1), T);
        }
        assert!(
            begin(&l, "Anna", ip(1), None, T).is_err(),
            "case-insensitive account key"
        );
        assert!(
            begin(&l, "anna", ip(2), None, T).is_ok(),
            "another address still may log in"
        );
        assert!(
            begin(&l, "bert", ip(1), None, T).is_ok(),
            "other accounts from the address still may"
        );
    }

    #[test]
    fn address_budget_stops_spraying_many_accounts() {
        let l = limiter();
        for i in 0..5 {
            fail(&l, &format!("user{i}"), ip(1), T);
        }
        assert!(begin(&l, "user9", ip(1), None, T).is_err());
        assert!(begin(&l, "user9", ip(2), None, T).is_ok());
    }

    #[test]
    fn a_distributed_attack_stops_untrusted_clients_but_not_the_real_user() {
        let l = limiter();
        let ok = begin(&l, "anna", ip(9), None, T).expect("first login");
        l.succeeded(ok).expect("memory");
        for n in 1..=4 {
            fail(&l, "anna", ip(n), T);
        }
        assert!(
            begin(&l, "anna", ip(50), None, T).is_err(),
            "new address refused"
        );
        assert!(
            begin(&l, "anna", ip(9), None, T).is_ok(),
            "the address that logged in before still works"
        );
        assert!(
            begin(&l, "anna", ip(51), Some([7; 16]), T).is_ok(),
            "a client with a login-trust token works from any address"
        );
    }

    #[test]
    fn a_trust_token_has_its_own_pair_budget() {
        let l = limiter();
        for _ in 0..3 {
            let _ = begin(&l, "anna", ip(1), Some([1; 16]), T).expect("allowed");
        }
        assert!(
            begin(&l, "anna", ip(2), Some([1; 16]), T).is_err(),
            "per token"
        );
        assert!(begin(&l, "anna", ip(2), Some([2; 16]), T).is_ok());
    }

    #[test]
    fn windows_expire_and_success_clears_the_pair() {
        let l = limiter();
        for _ in 0..3 {
            fail(&l, "anna", ip(1), T);
        }
        assert!(begin(&l, "anna", ip(1), None, T).is_err());
        let retry = begin(&l, "anna", ip(1), None, T + 10_000).expect_err("limited");
        assert_eq!(retry, 50);
        let late = T + 61_000;
        let a = begin(&l, "anna", ip(1), None, late).expect("a new window");
        l.succeeded(a).expect("memory");
        for _ in 0..3 {
            fail(&l, "anna", ip(1), late);
        }
        assert!(begin(&l, "anna", ip(1), None, late).is_err());
    }

    #[test]
    fn trust_ends_after_its_time_and_the_oldest_addresses_go_first() {
        let l = limiter();
        let ok = begin(&l, "anna", ip(9), None, T).expect("login");
        l.succeeded(ok).expect("memory");
        // 32 more addresses log in later: ip(9), the oldest, is forgotten.
        for n in 0..32u8 {
            let addr = IpAddr::from([10, 1, 0, n]);
            let ok = begin(&l, "anna", addr, None, T + 1 + i64::from(n)).expect("login");
            l.succeeded(ok).expect("memory");
        }
        let t = T + 1_000;
        for n in 1..=4 {
            fail(&l, "anna", ip(n), t);
        }
        assert!(
            begin(&l, "anna", ip(9), None, t).is_err(),
            "the 33rd address back is no longer trusted"
        );
        assert!(
            begin(&l, "anna", IpAddr::from([10, 1, 0, 0]), None, t).is_ok(),
            "a newer one still is"
        );
        // 30 days later, with the account's budget spent again, the newest
        // address is not trusted either.
        let later = T + 33 + TRUSTED_FOR_MS;
        for n in 1..=4 {
            fail(&l, "anna", ip(n + 100), later);
        }
        assert!(begin(&l, "anna", IpAddr::from([10, 1, 0, 31]), None, later).is_err());
    }

    #[test]
    fn a_window_started_by_a_node_whose_clock_is_ahead_still_counts() {
        let mut c = LoginCounters {
            pair: Some(LoginWindow {
                started_at: T + 5_000,
                failures: 3,
            }),
            ..LoginCounters::default()
        };
        assert_eq!(begin_on(&cfg(), &mut c, false, T), Err(60));
    }
}
