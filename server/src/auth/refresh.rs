//! Opaque refresh tokens: 32 random bytes, base64url (no padding) to the
//! client, only their SHA-256 stored.

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

/// Hashes a token presented by a client; `None` if it is not 32 base64url bytes.
pub fn hash_presented(token: &str) -> Option<[u8; 32]> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if raw.len() != 32 {
        return None;
    }
    Some(Sha256::digest(&raw).into())
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
}
