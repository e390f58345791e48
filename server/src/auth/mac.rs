//! HMAC-SHA256 keys derived from the server secret, one per purpose
//! (login-trust tokens, refresh-token successors), so that a value made for
//! one purpose never verifies for another.

use hmac::{Hmac, KeyInit, Mac};
use sha2_hmac::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A purpose-bound key.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

impl MacKey {
    /// `HMAC(secret, "wijklog/" + purpose)`.
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"wijklog/");
        mac.update(purpose.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// The MAC of the parts, each length-prefixed (no ambiguity between
    /// `("ab","c")` and `("a","bc")`).
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether the first `tag.len()` (at least 16) bytes of the MAC of the
    /// parts equal `tag`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        if tag.len() < 16 || tag.len() > 32 {
            return false;
        }
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.verify_truncated_left(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bound_to_their_purpose_and_tags_verify_only_for_their_parts() {
        let a = MacKey::derive(b"secret", "one");
        let b = MacKey::derive(b"secret", "two");
        let tag = a.sign(&[b"ab", b"c"]);
        assert!(a.verify(&[b"ab", b"c"], &tag));
        assert!(a.verify(&[b"ab", b"c"], &tag[..16]));
        assert!(!a.verify(&[b"a", b"bc"], &tag), "parts are length-prefixed");
        assert!(!b.verify(&[b"ab", b"c"], &tag), "another purpose");
        assert!(!a.verify(&[b"ab", b"c"], &tag[..8]), "too short a tag");
    }
}
