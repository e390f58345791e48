//! Form tokens: a small, time-based proof that a submission came from
//! someone who first opened the form and then took a few seconds to fill
//! it in. No third-party service is involved.
//!
//! A token is the issue time (seconds), 8 random bytes and the first 16
//! bytes of HMAC-SHA256(server key, time, nonce), base64url (43 characters).
//! It is accepted from `min_age_secs` after it was issued until
//! `max_age_secs`, and once: its nonce is remembered until it expires. The
//! table of used nonces is bounded ([`MAX_USED`]); when it is full of
//! unexpired nonces, submissions are refused as busy until some expire.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::mac::MacKey;

/// Most used nonces remembered at once.
pub const MAX_USED: usize = 200_000;

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Absent, malformed or forged.
    Invalid,
    /// Sent sooner after the form was opened than a person fills it in.
    TooFast,
    /// Older than its lifetime (the form stood open too long).
    Expired,
    /// Already used for a submission.
    Used,
    /// The table of used tokens is full.
    Busy,
}

/// Issues and checks form tokens; shared by all workers.
#[derive(Debug)]
pub struct FormTokens {
    key: MacKey,
    min_age_secs: u64,
    max_age_secs: u64,
    used: Mutex<HashMap<[u8; 8], u64>>,
}

impl FormTokens {
    /// Tokens under `key`, valid from `min_age_secs` to `max_age_secs` after issue.
    pub fn new(key: MacKey, min_age_secs: u64, max_age_secs: u64) -> Self {
        Self {
            key,
            min_age_secs,
            max_age_secs,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds before a fresh token is accepted.
    pub fn min_age_secs(&self) -> u64 {
        self.min_age_secs
    }

    /// Seconds a token lives.
    pub fn max_age_secs(&self) -> u64 {
        self.max_age_secs
    }

    /// A new token issued at `now_secs`; `None` only if the RNG fails.
    pub fn issue(&self, now_secs: u64) -> Option<String> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).ok()?;
        let at = now_secs.to_be_bytes();
        let tag = self.key.sign(&[&at, &nonce]);
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(&at);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&tag[..16]);
        Some(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Checks `token` at `now_secs` without using it up.
    fn check(&self, token: &str, now_secs: u64) -> Result<([u8; 8], u64), TokenProblem> {
        if token.len() > 64 {
            return Err(TokenProblem::Invalid);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| TokenProblem::Invalid)?;
        if raw.len() != 32 {
            return Err(TokenProblem::Invalid);
        }
        let (at, rest) = raw.split_at(8);
        let (nonce, tag) = rest.split_at(8);
        if !self.key.verify(&[at, nonce], tag) {
            return Err(TokenProblem::Invalid);
        }
        let issued = u64::from_be_bytes(at.try_into().expect("8 bytes"));
        let age = now_secs.saturating_sub(issued);
        if issued > now_secs + 5 {
            return Err(TokenProblem::Invalid);
        }
        if age < self.min_age_secs {
            return Err(TokenProblem::TooFast);
        }
        if age > self.max_age_secs {
            return Err(TokenProblem::Expired);
        }
        Ok((
            nonce.try_into().expect("8 bytes"),
            issued + self.max_age_secs,
        ))
    }

    /// Accepts `token` at `now_secs` and uses it up.
    pub fn redeem(&self, token: &str, now_secs: u64) -> Result<(), TokenProblem> {
        let (nonce, expires) = self.check(token, now_secs)?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.contains_key(&nonce) {
            return Err(TokenProblem::Used);
        }
        if used.len() >= MAX_USED {
            used.retain(|_, exp| *exp >= now_secs);
            if used.len() >= MAX_USED {
                return Err(TokenProblem::Busy);
            }
        }
        used.insert(nonce, expires);
        Ok(())
    }

    /// Gives a redeemed token back (the submission it came with was refused
    /// for a reason the resident can fix, so the same form may be sent again).
    pub fn give_back(&self, token: &str, now_secs: u64) {
        if let Ok((nonce, _)) = self.check(token, now_secs) {
            self.used
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> FormTokens {
        FormTokens::new(MacKey::derive(b"secret", "public-form"), 3, 7200)
    }

    #[test]
    fn a_token_is_accepted_once_between_its_minimum_and_maximum_age() {
        let t = tokens();
        let tok = t.issue(1_000).expect("rng");
        assert_eq!(tok.len(), 43);
        assert_eq!(t.redeem(&tok, 1_001), Err(TokenProblem::TooFast));
        assert_eq!(t.redeem(&tok, 1_003), Ok(()));
        assert_eq!(t.redeem(&tok, 1_004), Err(TokenProblem::Used));
        t.give_back(&tok, 1_005);
        assert_eq!(t.redeem(&tok, 1_006), Ok(()), "given back, usable again");
        let old = t.issue(1_000).expect("rng");
        assert_eq!(t.redeem(&old, 1_000 + 7_201), Err(TokenProblem::Expired));
    }

    #[test]
    fn forged_altered_or_foreign_tokens_are_invalid() {
        let t = tokens();
        let tok = t.issue(1_000).expect("rng");
        let mut raw = URL_SAFE_NO_PAD.decode(&tok).expect("b64");
        raw[7] ^= 1; // a later issue time
        assert_eq!(
            t.redeem(&URL_SAFE_NO_PAD.encode(&raw), 2_000),
            Err(TokenProblem::Invalid)
        );
        let other = FormTokens::new(MacKey::derive(b"other", "public-form"), 3, 7200);
        let foreign = other.issue(1_000).expect("rng");
        assert_eq!(t.redeem(&foreign, 1_010), Err(TokenProblem::Invalid));
        for bad in ["", "abc", &"A".repeat(65), "!!!!"] {
            assert_eq!(t.redeem(bad, 1_010), Err(TokenProblem::Invalid), "{bad}");
        }
        let future = t.issue(5_000).expect("rng");
        assert_eq!(t.redeem(&future, 1_000), Err(TokenProblem::Invalid));
    }
}
