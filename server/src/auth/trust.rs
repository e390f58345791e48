//! Login-trust tokens: proof that this client logged in to this account
//! before. Given out with every successful login (`login_trust`) and sent
//! back with later logins; a client presenting a valid one is not subject
//! to the account-wide lockout a distributed guessing attack triggers
//! (see [`super::rate_limit`]), only to its own per-token budget.
//!
//! A token is 16 random bytes (its id) and the first 16 bytes of
//! HMAC-SHA256(server key, account, id), base64url: it cannot be forged
//! without the server secret and is bound to one account. It grants no
//! access by itself (the password is still required).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::mac::MacKey;

/// The account key tokens are bound to: the trimmed, lower-cased username.
pub fn account_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// A new token for `username`; `None` only if the system RNG fails.
pub fn issue(key: &MacKey, username: &str) -> Option<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).ok()?;
    let account = account_key(username);
    let tag = key.sign(&[account.as_bytes(), &id]);
    let mut raw = id.to_vec();
    raw.extend_from_slice(&tag[..16]);
    Some(URL_SAFE_NO_PAD.encode(raw))
}

/// The token's id if `token` is a valid token for `username`.
pub fn verify(key: &MacKey, username: &str, token: &str) -> Option<[u8; 16]> {
    if token.len() > 64 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if raw.len() != 32 {
        return None;
    }
    let account = account_key(username);
    let (id, tag) = raw.split_at(16);
    key.verify(&[account.as_bytes(), id], tag)
        .then(|| id.try_into().expect("16 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_for_its_account_only_and_cannot_be_altered() {
        let key = MacKey::derive(b"secret", "login-trust");
        let t = issue(&key, "Anna").expect("rng");
        assert!(
            verify(&key, "anna", &t).is_some(),
            "usernames are case-insensitive"
        );
        assert!(verify(&key, "bert", &t).is_none(), "bound to the account");
        assert!(verify(&MacKey::derive(b"other", "login-trust"), "anna", &t).is_none());
        let mut altered = t.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert!(verify(&key, "anna", &String::from_utf8(altered).expect("ascii")).is_none());
        assert!(verify(&key, "anna", "").is_none());
        assert!(verify(&key, "anna", &"A".repeat(500)).is_none());
    }
}
