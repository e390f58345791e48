//! The storage layer's value rules, each in one place: how roles are stored
//! in `users.roles`, how stored ids are read back (for both backends) and
//! how what a user typed becomes a full-text query. The store, the review
//! queries and account administration all use these.

use crate::domain::{DocId, DocKind, Role, UserId};

use super::StoreError;

/// Roles as stored in `users.roles`: a JSON list of the stable role names,
/// in the given order (`["boa","coordinator"]`).
pub fn encode_roles(roles: &[Role]) -> String {
    serde_json::Value::from(roles.iter().map(Role::as_str).collect::<Vec<_>>()).to_string()
}

/// Reads `users.roles`. Anything but a JSON list of known role names is
/// corruption (an error), never silently "no roles".
pub fn decode_roles(s: &str) -> Result<Vec<Role>, StoreError> {
    let names: Vec<String> = serde_json::from_str(s)
        .map_err(|_| StoreError::Corrupt("roles are not a JSON list".into()))?;
    names
        .iter()
        .map(|n| Role::parse(n).map_err(|_| StoreError::Corrupt("unknown role stored".into())))
        .collect()
}

/// A stored document id (16 bytes); any other length is corruption.
pub fn doc_id_from(bytes: Vec<u8>) -> Result<DocId, StoreError> {
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("document id is not 16 bytes".into()))?;
    Ok(DocId::from_bytes(arr))
}

/// A stored document kind; an unknown one is corruption.
pub fn kind_from(s: &str) -> Result<DocKind, StoreError> {
    DocKind::parse(s).map_err(|_| StoreError::Corrupt("unknown kind".into()))
}

/// A stored user id; one that does not parse is corruption.
pub fn user_id_from(s: String) -> Result<UserId, StoreError> {
    UserId::parse(&s).map_err(|_| StoreError::Corrupt("stored user id is not valid".into()))
}

/// At most this many words of a search go into one full-text query.
pub const FTS_MAX_WORDS: usize = 20;

/// Turns what the user typed into a safe FTS5 query: every word becomes a
/// quoted string with a prefix star (`"fiets"*`), all words must match, so
/// user input is never FTS syntax. Words without a letter or digit are
/// dropped, at most [`FTS_MAX_WORDS`] are kept; `None` when nothing is left.
pub fn fts_query(q: &str) -> Option<String> {
    let words: Vec<String> = search_words(q)
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The words of a search, as every backend uses them: split on white
/// space, words without a letter or digit dropped, at most
/// [`FTS_MAX_WORDS`]. Each must match (as a prefix) for an item to be found.
pub fn search_words(q: &str) -> Vec<String> {
    q.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(FTS_MAX_WORDS)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_every_word_and_adds_a_prefix_star() {
        assert_eq!(
            fts_query("fiets café").as_deref(),
            Some("\"fiets\"* \"café\"*")
        );
        assert_eq!(
            fts_query("a\"b OR NEAR(").as_deref(),
            Some("\"a\"\"b\"* \"OR\"* \"NEAR(\"*")
        );
        assert_eq!(fts_query("  -- ** "), None);
        assert_eq!(fts_query(""), None);
    }

    #[test]
    fn fts_query_keeps_at_most_twenty_words() {
        let q = (0..25)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let fts = fts_query(&q).expect("words");
        assert_eq!(fts.split(' ').count(), 20);
        assert!(fts.ends_with("\"w19\"*"));
    }

    #[test]
    fn roles_are_stored_as_a_json_list_of_names() {
        let all = [Role::Boa, Role::Spreekuur, Role::Coordinator, Role::Admin];
        assert_eq!(
            encode_roles(&all),
            r#"["boa","spreekuur","coordinator","admin"]"#
        );
        assert_eq!(encode_roles(&[]), "[]");
        assert_eq!(
            decode_roles(r#"["boa","spreekuur","coordinator","admin"]"#).expect("decodes"),
            all
        );
        assert_eq!(decode_roles("[]").expect("decodes"), Vec::<Role>::new());
    }

    #[test]
    fn stored_roles_that_are_not_known_names_are_corrupt_not_empty() {
        for bad in [r#"["boa","king"]"#, "boa", "", r#"{"boa":1}"#, r#"["Boa"]"#] {
            assert!(
                matches!(decode_roles(bad), Err(StoreError::Corrupt(_))),
                "{bad:?} must be corrupt"
            );
        }
    }
}
