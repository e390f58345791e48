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
//!    since the start (remembered in memory). Trusted clients are held
//!    only by their own pair budget, so the attack cannot lock them out.
//!
//! What remains: a brand-new device of the real user, from a new address,
//! during an ongoing distributed attack on that very account, waits until
//! the window ends (or an admin helps). Logged-in devices never need the
//! login endpoint (they refresh), so they are unaffected either way.
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

/// Who is trying, within one account: a login-trust token, or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// A client presenting a valid login-trust token (its id).
    Token([u8; 16]),
    /// Any other client, by address.
    Address(IpAddr),
}

#[derive(Debug, Default)]
struct State {
    pairs: HashMap<(String, Client), Window>,
    addresses: HashMap<IpAddr, Window>,
    accounts: HashMap<String, Window>,
    trusted: HashMap<String, HashSet<IpAddr>>,
}

/// A login attempt counted as a failure until [`LoginRateLimiter::succeeded`]
/// or [`LoginRateLimiter::cancel`] gives it back.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    account: String,
    addr: IpAddr,
    client: Client,
    untrusted: bool,
    at: Instant,
}

/// The limiter; shared by all workers.
#[derive(Debug)]
pub struct LoginRateLimiter {
    cfg: LoginRateLimitConfig,
    state: Mutex<State>,
}

fn key(account: &str) -> String {
    super::trust::account_key(account)
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

    /// Checks whether a login for `account` from `addr` (with the login-trust
    /// token id `token`, if a valid one came) may be tried now and, if so,
    /// counts it as a failure at once. `Err(retry_after_secs)` if refused;
    /// the password must then not be checked.
    pub fn begin(
        &self,
        account: &str,
        addr: IpAddr,
        token: Option<[u8; 16]>,
        now: Instant,
    ) -> Result<Attempt, u64> {
        let account = key(account);
        let client = token.map_or(Client::Address(addr), Client::Token);
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = self.live(s.pairs.get(&(account.clone(), client)), now)
            && w.failures >= self.cfg.pair_max_failures
        {
            return Err(self.retry_after(&w, now));
        }
        let trusted = token.is_some() || s.trusted.get(&account).is_some_and(|t| t.contains(&addr));
        if !trusted {
            if let Some(w) = self.live(s.addresses.get(&addr), now)
                && w.failures >= self.cfg.address_max_failures
            {
                return Err(self.retry_after(&w, now));
            }
            if let Some(w) = self.live(s.accounts.get(&account), now)
                && w.failures >= self.cfg.account_max_failures
            {
                return Err(self.retry_after(&w, now));
            }
        }
        let window = self.window();
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
        bump(s.pairs.entry((account.clone(), client)).or_insert(fresh));
        bump(s.addresses.entry(addr).or_insert(fresh));
        if !trusted {
            bump(s.accounts.entry(account.clone()).or_insert(fresh));
        }
        if s.pairs.len() + s.addresses.len() + s.accounts.len() > PRUNE_AT {
            s.pairs.retain(|_, w| now.duration_since(w.start) < window);
            s.addresses
                .retain(|_, w| now.duration_since(w.start) < window);
            s.accounts
                .retain(|_, w| now.duration_since(w.start) < window);
        }
        Ok(Attempt {
            account,
            addr,
            client,
            untrusted: !trusted,
            at: now,
        })
    }

    fn give_back(&self, s: &mut State, a: &Attempt) {
        let window = self.window();
        let unbump = |w: Option<&mut Window>| {
            if let Some(w) = w
                && w.start <= a.at
                && a.at.duration_since(w.start) < window
            {
                w.failures = w.failures.saturating_sub(1);
            }
        };
        unbump(s.pairs.get_mut(&(a.account.clone(), a.client)));
        unbump(s.addresses.get_mut(&a.addr));
        if a.untrusted {
            unbump(s.accounts.get_mut(&a.account));
        }
    }

    /// The attempt was never evaluated (the server was busy): not counted.
    pub fn cancel(&self, attempt: Attempt) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.give_back(&mut s, &attempt);
    }

    /// The password was right: the attempt is not a failure, the pair's
    /// count is cleared and the address trusted for the account.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.give_back(&mut s, &attempt);
        s.pairs.remove(&(attempt.account.clone(), attempt.client));
        let trusted = s.trusted.entry(attempt.account).or_default();
        if trusted.len() >= MAX_TRUSTED && !trusted.contains(&attempt.addr) {
            trusted.clear();
        }
        trusted.insert(attempt.addr);
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

    /// A failed attempt: begun and kept.
    fn fail(l: &LoginRateLimiter, account: &str, addr: IpAddr, t: Instant) {
        let _counted = l.begin(account, addr, None, t).expect("allowed");
    }

    #[test]
    fn attempts_are_counted_before_the_password_is_checked() {
        let l = limiter();
        let t = Instant::now();
        // Three attempts in flight at once (none finished): the fourth is
        // refused although no failure was recorded after a check yet.
        let a: Vec<Attempt> = (0..3)
            .map(|_| l.begin("anna", ip(1), None, t).expect("within budget"))
            .collect();
        assert!(l.begin("anna", ip(1), None, t).is_err());
        // One of them turns out right: its reservation is given back.
        let mut a = a.into_iter();
        l.succeeded(a.next().expect("one"));
        assert!(l.begin("anna", ip(1), None, t).is_ok());
    }

    #[test]
    fn a_cancelled_attempt_costs_nothing() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..10 {
            let a = l.begin("anna", ip(1), None, t).expect("allowed");
            l.cancel(a);
        }
        assert!(l.begin("anna", ip(1), None, t).is_ok());
    }

    #[test]
    fn pair_limit_blocks_attacker_address_not_the_real_user() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            fail(&l, "anna", ip(1), t);
        }
        assert!(
            l.begin("Anna", ip(1), None, t).is_err(),
            "case-insensitive account key"
        );
        assert!(
            l.begin("anna", ip(2), None, t).is_ok(),
            "another address still may log in"
        );
        assert!(
            l.begin("bert", ip(1), None, t).is_ok(),
            "other accounts from the address still may"
        );
    }

    #[test]
    fn address_budget_stops_spraying_many_accounts() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..5 {
            fail(&l, &format!("user{i}"), ip(1), t);
        }
        assert!(l.begin("user9", ip(1), None, t).is_err());
        assert!(l.begin("user9", ip(2), None, t).is_ok());
    }

    #[test]
    fn a_distributed_attack_stops_untrusted_clients_but_not_the_real_user() {
        let l = limiter();
        let t = Instant::now();
        let ok = l.begin("anna", ip(9), None, t).expect("first login");
        l.succeeded(ok);
        for n in 1..=4 {
            fail(&l, "anna", ip(n), t);
        }
        assert!(
            l.begin("anna", ip(50), None, t).is_err(),
            "new address refused"
        );
        assert!(
            l.begin("anna", ip(9), None, t).is_ok(),
            "the address that logged in before still works"
        );
        assert!(
            l.begin("anna", ip(51), Some([7; 16]), t).is_ok(),
            "a client with a login-trust token works from any address"
        );
    }

    #[test]
    fn a_trust_token_has_its_own_pair_budget() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            let _ = l.begin("anna", ip(1), Some([1; 16]), t).expect("allowed");
        }
        assert!(
            l.begin("anna", ip(2), Some([1; 16]), t).is_err(),
            "per token"
        );
        assert!(l.begin("anna", ip(2), Some([2; 16]), t).is_ok());
    }

    #[test]
    fn windows_expire_and_success_clears_the_pair() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            fail(&l, "anna", ip(1), t);
        }
        assert!(l.begin("anna", ip(1), None, t).is_err());
        let retry = l
            .begin("anna", ip(1), None, t + Duration::from_secs(10))
            .expect_err("limited");
        assert_eq!(retry, 50);
        let late = t + Duration::from_secs(61);
        let a = l.begin("anna", ip(1), None, late).expect("a new window");
        l.succeeded(a);
        for _ in 0..3 {
            fail(&l, "anna", ip(1), late);
        }
        assert!(l.begin("anna", ip(1), None, late).is_err());
    }
}
