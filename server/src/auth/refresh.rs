//! Opaque refresh tokens: 32 bytes, base64url (no padding) to the client,
//! only their SHA-256 stored. A login's first token is random; each
//! rotation's successor is derived from the presented token with a server
//! key ([`successor`]), so a retry of the same refresh gets the *same*
//! successor back (idempotent) instead of a second, independent one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A freshly generated refresh token: the text for the client and the hash to store.
pub struct NewRefreshToken {
    /// Given to the client once; never stored or logged.
    pub token: String,
    /// SHA-256 of the token's raw bytes.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for NewRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewRefreshToken([redacted])")
    }
}

/// The system RNG failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

/// Generates a new token.
pub fn generate() -> Result<NewRefreshToken, RngError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|_| RngError)?;
    Ok(NewRefreshToken {
        token: URL_SAFE_NO_PAD.encode(raw),
        hash: Sha256::digest(raw).into(),
    })
}

/// The raw bytes of a token presented by a client; `None` if it is not 32
/// base64url bytes.
pub fn decode_presented(token: &str) -> Option<[u8; 32]> {
    if token.len() > 64 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(token.trim()).ok()?.try_into().ok()
}

/// Hashes a token presented by a client; `None` if it is not 32 base64url bytes.
pub fn hash_presented(token: &str) -> Option<[u8; 32]> {
    decode_presented(token).map(|raw| Sha256::digest(raw).into())
}

/// The successor of a presented token: HMAC(server key, token). Only the
/// server can compute it, and only from the token itself; the same token
/// always yields the same successor.
pub fn successor(key: &super::mac::MacKey, presented: &[u8; 32]) -> NewRefreshToken {
    let raw = key.sign(&[b"successor", presented]);
    NewRefreshToken {
        token: URL_SAFE_NO_PAD.encode(raw),
        hash: Sha256::digest(raw).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_hash_back_and_differ() {
        let a = generate().expect("rng");
        let b = generate().expect("rng");
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43);
        assert_eq!(hash_presented(&a.token), Some(a.hash));
        assert_eq!(hash_presented("short"), None);
        assert_eq!(hash_presented("!!!not base64!!!"), None);
    }

    #[test]
    fn successors_are_deterministic_per_token_and_key() {
        let key = super::super::mac::MacKey::derive(b"secret", "refresh-successor");
        let a = decode_presented(&generate().expect("rng").token).expect("32 bytes");
        let b = decode_presented(&generate().expect("rng").token).expect("32 bytes");
        assert_eq!(successor(&key, &a).token, successor(&key, &a).token);
        assert_ne!(successor(&key, &a).token, successor(&key, &b).token);
        let other = super::super::mac::MacKey::derive(b"other", "refresh-successor");
        assert_ne!(successor(&key, &a).token, successor(&other, &a).token);
        let s = successor(&key, &a);
        assert_eq!(hash_presented(&s.token), Some(s.hash));
    }
}
