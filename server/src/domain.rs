//! The server's identifiers and enumerations (storage, auth, sync), and the
//! caller with the role rules ([`Principal`]): what every other module may
//! use, importing nothing of the server's own.
//!
//! `DocId`, `UserId` and `DocKind` are `wijklog-shared`'s own types: one
//! parser and one set of JSON names for the documents and the server.
//! `DeviceId` and `Role` are the server's alone.

mod principal;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use principal::{Principal, UserView};

/// A document's id: a UUID, 16 raw bytes on the wire and in the database,
/// hyphenated lower case in JSON and URLs. Parsing trims surrounding
/// whitespace and accepts the other textual forms of a UUID (simple, braced,
/// urn, any case).
pub use wijklog_shared::DocId;

/// The three document kinds (`walk`, `spreekuur`, `catalog`).
pub use wijklog_shared::DocKind;

/// A user's id (the JWT `sub`, the stored `users.id`): 1 to 128 bytes without
/// control characters or whitespace at either end; a UUID for accounts made
/// by this server.
pub use wijklog_shared::UserId;

/// A device (one login on one phone or laptop; the refresh-token family).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    /// A fresh random device id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string())
    }
    /// Wraps a stored or claimed id (not validated beyond being text).
    pub fn from_string(s: String) -> Self {
        Self(s)
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role. A user has one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Municipal enforcement officer: walks of their team.
    Boa,
    /// Spreekuur staff: spreekuur sessions of their team.
    Spreekuur,
    /// Sees and edits all content of the municipality.
    Coordinator,
    /// Manages accounts and the catalog, not content.
    Admin,
}

/// A string was not a known role.
#[derive(Debug, thiserror::Error)]
#[error("unknown role (expected boa, spreekuur, coordinator or admin)")]
pub struct UnknownRole;

impl Role {
    /// The stable lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Boa => "boa",
            Role::Spreekuur => "spreekuur",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }
    /// Parses the stable lowercase name.
    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        match s {
            "boa" => Ok(Role::Boa),
            "spreekuur" => Ok(Role::Spreekuur),
            "coordinator" => Ok(Role::Coordinator),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownRole),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c";

    /// What the server accepts as a document id (URLs, stored rows, sync
    /// frames) and what it refuses; the JSON form is the document model's.
    #[test]
    fn doc_ids_accept_the_forms_of_one_uuid_and_nothing_else() {
        for form in [
            ID,
            "6F1C2A3B-0D4E-4F5A-8B6C-7D8E9F0A1B2C",
            "6f1c2a3b0d4e4f5a8b6c7d8e9f0a1b2c",
            "{6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c}",
            "urn:uuid:6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
            " 6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c\n",
        ] {
            let id = DocId::parse(form).unwrap_or_else(|e| panic!("{form:?}: {e}"));
            assert_eq!(id.to_string(), ID, "{form:?}");
        }
        for bad in [
            "",
            "not-a-uuid",
            "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2",
            "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c0",
            "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2g",
            "6f1c2a3b 0d4e 4f5a 8b6c 7d8e9f0a1b2c",
        ] {
            let e = DocId::parse(bad).expect_err(bad);
            assert_eq!(e.code(), "invalid_doc_id", "{bad:?}");
        }
        let id = DocId::parse(ID).expect("valid");
        assert_eq!(
            id.as_bytes(),
            [
                0x6f, 0x1c, 0x2a, 0x3b, 0x0d, 0x4e, 0x4f, 0x5a, 0x8b, 0x6c, 0x7d, 0x8e, 0x9f, 0x0a,
                0x1b, 0x2c
            ]
        );
        assert_eq!(DocId::from_bytes(id.as_bytes()), id);
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            format!("\"{ID}\"")
        );
        let upper: DocId = serde_json::from_str("\"6F1C2A3B-0D4E-4F5A-8B6C-7D8E9F0A1B2C\"")
            .expect("upper case in JSON");
        assert_eq!(upper, id);
        assert!(serde_json::from_str::<DocId>("\"not-a-uuid\"").is_err());
        assert!(serde_json::from_str::<DocId>("42").is_err());
    }

    /// What the server accepts as a user id (token `sub`, URLs, stored rows):
    /// the document model's rule, so an id the server hands out is always
    /// one a document can record as its author.
    #[test]
    fn user_ids_are_1_to_128_bytes_without_control_characters_or_outer_spaces() {
        for good in [
            "system",
            "boa-17",
            "a",
            ID,
            "Jan de Vries",
            "ë",
            &"x".repeat(128),
        ] {
            let id = UserId::parse(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(id.as_str(), good);
            assert_eq!(
                serde_json::to_string(&id).expect("json"),
                format!("\"{good}\"")
            );
        }
        for bad in [
            "",
            " boa",
            "boa ",
            "\tboa",
            "bo\na",
            "bo\u{0}a",
            "bo\u{7f}a",
            &"x".repeat(129),
            &"é".repeat(65),
        ] {
            let e = UserId::parse(bad).expect_err(bad);
            assert_eq!(e.code(), "invalid_user_id", "{bad:?}");
            let json = serde_json::to_string(bad).expect("json");
            assert!(serde_json::from_str::<UserId>(&json).is_err(), "{bad:?}");
        }
        let fresh = UserId::new_v4();
        assert!(DocId::parse(fresh.as_str()).is_ok(), "a UUID: {fresh}");
    }

    #[test]
    fn kinds_and_roles_parse_their_names_only() {
        assert_eq!(DocKind::parse("spreekuur").ok(), Some(DocKind::Spreekuur));
        assert!(DocKind::parse("Walk").is_err());
        assert_eq!(
            serde_json::to_string(&DocKind::Catalog).expect("json"),
            "\"catalog\""
        );
        assert_eq!(Role::parse("coordinator").ok(), Some(Role::Coordinator));
        assert!(Role::parse("root").is_err());
        assert_eq!(
            serde_json::to_string(&Role::Spreekuur).expect("json"),
            "\"spreekuur\""
        );
    }
}
