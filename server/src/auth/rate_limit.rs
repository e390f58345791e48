//! Login rate limiting that an attacker cannot turn into a lockout.
//!
//! Three counters of *failed* logins, each over a fixed window
//! (`login_rate_limit.window_secs`):
//!
//! 1. per (account, address) pair — `pair_max_failures`: guessing one
//!    account's password from one address stops quickly, and only that
//!    address is stopped: the real user elsewhere logs in as usual;
//! 2. per address — `address_max_failures`: one address spraying many
//!    accounts is stopped;
//! 3. per account — `account_max_failures`: a distributed attack on one
//!    account is stopped for *new* addresses only; addresses that logged in
//!    to that account successfully before (remembered in memory) may still
//!    try, so the real user is not locked out.
//!
//! A successful login clears its pair counter. Logged-in devices never need
//! the login endpoint (they refresh), so they are unaffected either way.
//! The counters live in memory (per process) and reset on restart.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::LoginRateLimitConfig;

/// Entries kept before expired windows are pruned.
const PRUNE_AT: usize = 10_000;
/// Trusted addresses remembered per account.
const MAX_TRUSTED: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct State {
    pairs: HashMap<(String, IpAddr), Window>,
    addresses: HashMap<IpAddr, Window>,
    accounts: HashMap<String, Window>,
    trusted: HashMap<String, HashSet<IpAddr>>,
}

/// The limiter; shared by all workers.
#[derive(Debug)]
pub struct LoginRateLimiter {
    cfg: LoginRateLimitConfig,
    state: Mutex<State>,
}

fn key(account: &str) -> String {
    account.trim().to_lowercase()
}

impl LoginRateLimiter {
    /// A limiter with the given settings.
    pub fn new(cfg: LoginRateLimitConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State::default()),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.cfg.window_secs.max(1))
    }

    fn live(&self, w: Option<&Window>, now: Instant) -> Option<Window> {
        w.copied()
            .filter(|w| now.duration_since(w.start) < self.window())
    }

    fn retry_after(&self, w: &Window, now: Instant) -> u64 {
        self.window()
            .saturating_sub(now.duration_since(w.start))
            .as_secs()
            .max(1)
    }

    /// `Err(retry_after_secs)` if a login for `account` from `addr` must be
    /// refused now (before the password is even checked).
    pub fn check(&self, account: &str, addr: IpAddr, now: Instant) -> Result<(), u64> {
        let account = key(account);
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = self.live(s.pairs.get(&(account.clone(), addr)), now)
            && w.failures >= self.cfg.pair_max_failures
        {
            return Err(self.retry_after(&w, now));
        }
        if let Some(w) = self.live(s.addresses.get(&addr), now)
            && w.failures >= self.cfg.address_max_failures
        {
            return Err(self.retry_after(&w, now));
        }
        if let Some(w) = self.live(s.accounts.get(&account), now)
            && w.failures >= self.cfg.account_max_failures
        {
            let trusted = s.trusted.get(&account).is_some_and(|t| t.contains(&addr));
            if !trusted {
                return Err(self.retry_after(&w, now));
            }
        }
        Ok(())
    }

    /// Counts a failed login.
    pub fn record_failure(&self, account: &str, addr: IpAddr, now: Instant) {
        let account = key(account);
        let window = self.window();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let bump = |w: &mut Window| {
            if now.duration_since(w.start) >= window {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        };
        let fresh = Window {
            start: now,
            failures: 0,
        };
        bump(s.pairs.entry((account.clone(), addr)).or_insert(fresh));
        bump(s.addresses.entry(addr).or_insert(fresh));
        bump(s.accounts.entry(account).or_insert(fresh));
        if s.pairs.len() + s.addresses.len() + s.accounts.len() > PRUNE_AT {
            s.pairs.retain(|_, w| now.duration_since(w.start) < window);
            s.addresses
                .retain(|_, w| now.duration_since(w.start) < window);
            s.accounts
                .retain(|_, w| now.duration_since(w.start) < window);
        }
    }

    /// Records a successful login: clears the pair, trusts the address for the account.
    pub fn record_success(&self, account: &str, addr: IpAddr) {
        let account = key(account);
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.pairs.remove(&(account.clone(), addr));
        let trusted = s.trusted.entry(account).or_default();
        if trusted.len() >= MAX_TRUSTED && !trusted.contains(&addr) {
            trusted.clear();
        }
        trusted.insert(addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginRateLimiter {
        LoginRateLimiter::new(LoginRateLimitConfig {
            window_secs: 60,
            pair_max_failures: 3,
            address_max_failures: 5,
            account_max_failures: 4,
        })
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn pair_limit_blocks_attacker_address_not_the_real_user() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.check("anna", ip(1), t).is_ok());
            l.record_failure("anna", ip(1), t);
        }
        assert!(
            l.check("Anna", ip(1), t).is_err(),
            "case-insensitive account key"
        );
        assert!(
            l.check("anna", ip(2), t).is_ok(),
            "another address still may log in"
        );
        assert!(
            l.check("bert", ip(1), t).is_ok(),
            "other accounts from the address still may"
        );
    }

    #[test]
    fn address_budget_stops_spraying_many_accounts() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..5 {
            l.record_failure(&format!("user{i}"), ip(1), t);
        }
        assert!(l.check("user9", ip(1), t).is_err());
        assert!(l.check("user9", ip(2), t).is_ok());
    }

    #[test]
    fn account_budget_spares_addresses_that_logged_in_before() {
        let l = limiter();
        let t = Instant::now();
        l.record_success("anna", ip(9));
        for n in 1..=4 {
            l.record_failure("anna", ip(n), t);
        }
        assert!(l.check("anna", ip(50), t).is_err(), "new address refused");
        assert!(
            l.check("anna", ip(9), t).is_ok(),
            "the real user's address still works"
        );
    }

    #[test]
    fn windows_expire_and_success_clears_the_pair() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            l.record_failure("anna", ip(1), t);
        }
        assert!(l.check("anna", ip(1), t).is_err());
        let retry = l
            .check("anna", ip(1), t + Duration::from_secs(10))
            .expect_err("limited");
        assert_eq!(retry, 50);
        assert!(l.check("anna", ip(1), t + Duration::from_secs(61)).is_ok());
        l.record_success("anna", ip(1));
        assert!(l.check("anna", ip(1), t).is_ok());
    }
}
