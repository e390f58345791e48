//! Rate limits of the public endpoints: a fixed window per client address
//! and one for all addresses together. An IPv6 client is counted by its
//! /64 (one household or phone has a whole /64), an IPv4 client by its
//! address. The address table is bounded: when it is full and nothing in
//! it has expired, new addresses are refused (the global bound protects
//! the server; the table cannot grow without limit).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a request was refused, and the seconds until it may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This address used its budget of the window.
    Address(u64),
    /// All addresses together used the global budget of the window.
    Global(u64),
}

impl Refused {
    /// Seconds to wait.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refused::Address(s) | Refused::Global(s) => s,
        }
    }
}

/// A request [`WindowLimiter::check`] counted: where, and in which windows,
/// so [`WindowLimiter::give_back`] can take it off again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    key: [u8; 16],
    address_window: Instant,
    global_window: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

#[derive(Debug)]
struct State {
    global: Window,
    addresses: HashMap<[u8; 16], Window>,
}

/// One fixed-window limiter (per address and global); shared by all workers.
#[derive(Debug)]
pub struct WindowLimiter {
    window: Duration,
    per_address: u32,
    global: u32,
    max_addresses: usize,
    state: Mutex<State>,
}

/// The key an address is counted under: IPv4 (also IPv4-mapped IPv6) as
/// itself, other IPv6 by its first 64 bits.
pub fn address_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut o = v6.octets();
                o[8..].fill(0);
                o
            }
        },
    }
}

impl WindowLimiter {
    /// At most `per_address` requests per address and `global` in all per
    /// `window`; at most `max_addresses` addresses remembered.
    pub fn new(window: Duration, per_address: u32, global: u32, max_addresses: usize) -> Self {
        Self {
            window: window.max(Duration::from_secs(1)),
            per_address,
            global,
            max_addresses: max_addresses.max(1),
            state: Mutex::new(State {
                global: Window {
                    start: Instant::now(),
                    count: 0,
                },
                addresses: HashMap::new(),
            }),
        }
    }

    fn retry_after(&self, w: &Window, now: Instant) -> u64 {
        self.window
            .saturating_sub(now.duration_since(w.start))
            .as_secs()
            .max(1)
    }

    /// Counts one request from `ip` at `now`, or refuses it (uncounted).
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<Counted, Refused> {
        let key = address_key(ip);
        let window = self.window;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.global.count == 0 || now.duration_since(s.global.start) >= window {
            s.global = Window {
                start: now,
                count: 0,
            };
        }
        if !s.addresses.contains_key(&key) && s.addresses.len() >= self.max_addresses {
            s.addresses
                .retain(|_, w| now.duration_since(w.start) < window);
            if s.addresses.len() >= self.max_addresses {
                let oldest = s.addresses.values().map(|w| w.start).min().unwrap_or(now);
                let w = Window {
                    start: oldest,
                    count: 0,
                };
                return Err(Refused::Global(self.retry_after(&w, now)));
            }
        }
        let entry = s.addresses.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.duration_since(entry.start) >= window {
            *entry = Window {
                start: now,
                count: 0,
            };
        }
        if entry.count >= self.per_address {
            let w = *entry;
            return Err(Refused::Address(self.retry_after(&w, now)));
        }
        if s.global.count >= self.global {
            let w = s.global;
            return Err(Refused::Global(self.retry_after(&w, now)));
        }
        s.global.count += 1;
        let global_window = s.global.start;
        let entry = s.addresses.get_mut(&key).expect("inserted above");
        entry.count += 1;
        Ok(Counted {
            key,
            address_window: entry.start,
            global_window,
        })
    }

    /// Takes a counted request off again (what it was counted for did not
    /// happen). Only from the windows it was counted in: once a window has
    /// ended, its count is gone already.
    pub fn give_back(&self, counted: Counted) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.global.start == counted.global_window {
            s.global.count = s.global.count.saturating_sub(1);
        }
        if let Some(entry) = s.addresses.get_mut(&counted.key)
            && entry.start == counted.address_window
        {
            entry.count = entry.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_address_gets_its_budget_per_window_and_no_more() {
        let l = WindowLimiter::new(Duration::from_secs(60), 3, 100, 1000);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check(ip("192.0.2.1"), t0).expect("within budget");
        }
        assert_eq!(l.check(ip("192.0.2.1"), t0), Err(Refused::Address(60)));
        assert_eq!(
            l.check(ip("192.0.2.1"), t0 + Duration::from_secs(45)),
            Err(Refused::Address(15))
        );
        l.check(ip("192.0.2.2"), t0)
            .expect("another address is not affected");
        l.check(ip("192.0.2.1"), t0 + Duration::from_secs(60))
            .expect("a new window");
    }

    #[test]
    fn the_global_budget_holds_over_many_addresses() {
        let l = WindowLimiter::new(Duration::from_secs(10), 5, 4, 1000);
        let t0 = Instant::now();
        for i in 1..=4 {
            l.check(ip(&format!("198.51.100.{i}")), t0).expect("within");
        }
        assert_eq!(l.check(ip("198.51.100.9"), t0), Err(Refused::Global(10)));
        l.check(ip("198.51.100.9"), t0 + Duration::from_secs(10))
            .expect("next window");
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let l = WindowLimiter::new(Duration::from_secs(60), 2, 100, 1000);
        let t0 = Instant::now();
        l.check(ip("2001:db8:1:2::1"), t0).expect("1");
        l.check(ip("2001:db8:1:2:ffff::9"), t0)
            .expect("2, same /64");
        assert!(
            l.check(ip("2001:db8:1:2::77"), t0).is_err(),
            "the /64 is spent"
        );
        l.check(ip("2001:db8:1:3::1"), t0).expect("another /64");
        l.check(ip("203.0.113.5"), t0).expect("1");
        l.check(ip("::ffff:203.0.113.5"), t0)
            .expect("2: the same client");
        assert!(l.check(ip("203.0.113.5"), t0).is_err());
    }

    #[test]
    fn a_request_given_back_frees_its_place_in_its_own_window_only() {
        let l = WindowLimiter::new(Duration::from_secs(60), 2, 3, 1000);
        let t0 = Instant::now();
        let a = l.check(ip("192.0.2.1"), t0).expect("1");
        l.check(ip("192.0.2.1"), t0).expect("2");
        assert!(l.check(ip("192.0.2.1"), t0).is_err(), "spent");
        l.give_back(a);
        l.check(ip("192.0.2.1"), t0)
            .expect("the place given back is free again");
        assert!(l.check(ip("192.0.2.1"), t0).is_err(), "and only that one");
        let b = l.check(ip("192.0.2.2"), t0).expect("3 in all");
        assert_eq!(l.check(ip("192.0.2.3"), t0), Err(Refused::Global(60)));
        l.give_back(b);
        let c = l.check(ip("192.0.2.3"), t0).expect("the global place too");
        // Given back after its window ended: the new window is not touched.
        let t1 = t0 + Duration::from_secs(60);
        l.check(ip("192.0.2.3"), t1).expect("1 in the new window");
        l.check(ip("192.0.2.3"), t1).expect("2 in the new window");
        l.give_back(c);
        assert!(
            l.check(ip("192.0.2.3"), t1).is_err(),
            "an old window's request does not free a place in the new one"
        );
    }

    #[test]
    fn the_address_table_is_bounded() {
        let l = WindowLimiter::new(Duration::from_secs(60), 5, 1000, 3);
        let t0 = Instant::now();
        for i in 1..=3 {
            l.check(ip(&format!("192.0.2.{i}")), t0).expect("room");
        }
        assert!(matches!(
            l.check(ip("192.0.2.200"), t0 + Duration::from_secs(1)),
            Err(Refused::Global(_))
        ));
        l.check(ip("192.0.2.1"), t0)
            .expect("a known address still counts");
        l.check(ip("192.0.2.200"), t0 + Duration::from_secs(61))
            .expect("expired entries make room");
    }
}
