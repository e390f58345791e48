//! The residents' way in (docs/api.md, "Residents"): public endpoints with
//! no account, their own limits, and the points residents hand in.
//!
//! - [`receipt`]: the receipt codes residents get back.
//! - [`limits`]: rate limits per address and for all addresses together.
//! - [`token`]: the time-based form token (with the honeypot field, the
//!   protection against automated submissions).
//! - [`points`]: the points in the database (`resident_points`).
//! - [`agenda`]: points on a walk's agenda, in the walk document, and the
//!   follower that moves them to `bekeken` when a boa marks them.
//! - [`schedule`]: the coming walks and spreekuren per wijk, as the public
//!   may see them.
//!
//! The public endpoints read and write only `resident_points`, the audit
//! log and the in-memory schedule; they never reach a document, an account
//! or any other authenticated data. Their database work runs through their
//! own [`WorkGate`] (one at a time, a short queue, then 503 `busy`), so a
//! flood of submissions cannot crowd out the field app's sync.

pub mod agenda;
pub mod limits;
pub mod points;
pub mod queue;
pub mod receipt;
pub mod schedule;
pub mod submit;
pub mod token;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::auth::mac::MacKey;
use crate::config::PublicConfig;
use crate::edge::gate::WorkGate;
use limits::{Counted, Refused, WindowLimiter};
use schedule::Schedule;
use token::FormTokens;

/// Addresses each limiter remembers at most.
const MAX_ADDRESSES: usize = 100_000;
/// Public database jobs waiting beyond the one running; more get 503 `busy`.
const MAX_QUEUED_DB: usize = 16;

/// The public side's shared state.
#[derive(Debug)]
pub struct Public {
    /// Submissions per address and in all.
    pub submits: WindowLimiter,
    /// Reads per address and in all.
    pub reads: WindowLimiter,
    /// Form tokens.
    pub tokens: FormTokens,
    /// The coming walks and spreekuren.
    pub schedule: Schedule,
    /// One public database job at a time.
    pub db_gate: WorkGate,
}

impl Public {
    /// The state for `cfg`, with form tokens under `key`.
    pub fn new(cfg: &PublicConfig, key: MacKey) -> Self {
        Self {
            submits: WindowLimiter::new(
                Duration::from_secs(cfg.submit_window_secs),
                cfg.submits_per_address,
                cfg.submits_global,
                MAX_ADDRESSES,
            ),
            reads: WindowLimiter::new(
                Duration::from_secs(60),
                cfg.reads_per_address,
                cfg.reads_global,
                MAX_ADDRESSES,
            ),
            tokens: FormTokens::new(key, cfg.form_min_secs, cfg.form_max_secs),
            schedule: Schedule::new(Duration::from_secs(cfg.schedule_refresh_secs)),
            db_gate: WorkGate::new("public", 1, MAX_QUEUED_DB),
        }
    }

    /// Counts a read from `ip`.
    pub fn read(&self, ip: Option<IpAddr>) -> Result<(), Refused> {
        match ip {
            Some(ip) => self.reads.check(ip, Instant::now()).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Counts a submission from `ip` (nothing is counted without an
    /// address); give it back with `submits.give_back` if it is not stored.
    pub fn submit(&self, ip: Option<IpAddr>) -> Result<Option<Counted>, Refused> {
        match ip {
            Some(ip) => self.submits.check(ip, Instant::now()).map(Some),
            None => Ok(None),
        }
    }
}
