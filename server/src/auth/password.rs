//! Argon2id password hashing (PHC strings, the crate's default parameters:
//! Argon2id v19, m = 19 MiB, t = 2, p = 1).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Hashing failed (only on allocation or RNG failure).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Hashes a password with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// Whether `password` matches the stored PHC string. A malformed hash is a
/// mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A valid hash of a random password, verified against when the username is
/// unknown so that unknown and known accounts take the same time.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        // On RNG failure the fixed bytes are still a valid (unguessable
        // for nobody) hash input: nothing can log in against it anyway.
        let _ = getrandom::fill(&mut pw);
        hash_password(&hex::encode(pw)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies_only_the_right_password() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash_password("correct horse").expect("hash"), h, "salted");
    }
}
