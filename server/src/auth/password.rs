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

/// Shortest password anyone may set (ASVS 6.2.1 asks for at least 8 and
/// recommends 15; a pass phrase of a few words fits).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password (bounds the Argon2 input; ASVS 6.2.9 asks for 64).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Words that make a password easy to guess here, whatever their form
/// (ASVS 6.1.2 / 6.2.11): the product, the organisation and its roles.
pub const CONTEXT_WORDS: &[&str] = &[
    "wijklog",
    "gemeente",
    "wijk",
    "wijkspreekuur",
    "spreekuur",
    "handhaving",
    "boa",
    "coordinator",
    "beheerder",
    "admin",
    "wachtwoord",
    "welkom",
    "veiligheid",
];

/// Why a new password is refused (a sentence for the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Shorter than [`MIN_PASSWORD_CHARS`] or longer than [`MAX_PASSWORD_CHARS`].
    #[error("The password must be 10 to 256 characters long.")]
    Length,
    /// Found in the list of common and breached passwords, or built from
    /// the username, the name or [`CONTEXT_WORDS`] with little else.
    #[error(
        "This password is too easy to guess (a common or leaked password, or built from the name or the product); choose a longer phrase."
    )]
    Guessable,
}

/// Checks a password someone sets (account creation, reset): length, then
/// zxcvbn's estimate against its lists of common and breached passwords,
/// names and words, keyboard patterns, and the account's own words. A score
/// below 3 ("safely unguessable: moderate protection from offline attacks")
/// is refused. See docs/decisions/0012-password-policy.md.
pub fn check_new_password(password: &str, account_words: &[&str]) -> Result<(), WeakPassword> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(WeakPassword::Length);
    }
    let mut inputs: Vec<&str> = CONTEXT_WORDS.to_vec();
    inputs.extend(account_words.iter().copied().filter(|w| !w.is_empty()));
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        return Err(WeakPassword::Guessable);
    }
    Ok(())
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

    #[test]
    fn weak_passwords_are_refused_and_long_phrases_accepted() {
        for weak in [
            "password123",
            "qwertyuiop",
            "1234567890",
            "wachtwoord1",
            "Welkom2024!",
            "iloveyou12",
            "aaaaaaaaaaaa",
            "anna.jansen1",
            "wijklog2026",
        ] {
            assert_eq!(
                check_new_password(weak, &["anna.jansen", "Anna Jansen"]),
                Err(WeakPassword::Guessable),
                "{weak} accepted"
            );
        }
        assert_eq!(check_new_password("short", &[]), Err(WeakPassword::Length));
        assert_eq!(
            check_new_password(&"x".repeat(257), &[]),
            Err(WeakPassword::Length)
        );
        for strong in [
            "paars-fietsen-onder-de-brug",
            "Ze3!kQ9#mT2v",
            "correct horse battery staple",
        ] {
            assert_eq!(check_new_password(strong, &["anna"]), Ok(()), "{strong}");
        }
    }
}
