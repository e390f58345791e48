//! The server's identifiers and enumerations (storage, auth, sync), and the
//! caller with the role rules ([`Principal`]): what every other module may
//! use, importing nothing of the server's own.
//!
//! `DocKind` is `wijklog-shared`'s own type. `DocId` and `UserId` still
//! mirror the API of `wijklog-shared`'s types (docs/api.md); convert at the
//! boundary with `from_bytes(id.as_bytes())` and `UserId::parse(id.as_str())`
//! when calling into the document model.

mod principal;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use principal::{Principal, UserView};

/// A document's id: a UUID, 16 raw bytes on the wire and in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocId(uuid::Uuid);

/// A string was not a valid document id.
#[derive(Debug, thiserror::Error)]
#[error("not a valid document id (expected a UUID)")]
pub struct InvalidDocId;

impl DocId {
    /// A fresh random (v4) document id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
    /// Parses the hyphenated (or simple) textual form.
    pub fn parse(s: &str) -> Result<Self, InvalidDocId> {
        uuid::Uuid::parse_str(s).map(Self).map_err(|_| InvalidDocId)
    }
    /// From the 16 raw bytes used in binary sync frames and in SQLite.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }
    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> [u8; 16] {
        *self.0.as_bytes()
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// The three document kinds (`walk`, `spreekuur`, `catalog`): the document
/// model's own type, so the server and the documents share one set of names.
pub use wijklog_shared::DocKind;

/// A user's id (the JWT `sub`): a non-empty string, a UUID for accounts made
/// by this server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

/// A user id was empty.
#[derive(Debug, thiserror::Error)]
#[error("a user id must not be empty")]
pub struct EmptyUserId;

impl UserId {
    /// Wraps a non-empty string.
    pub fn new(s: impl Into<String>) -> Result<Self, EmptyUserId> {
        let s = s.into();
        if s.is_empty() {
            Err(EmptyUserId)
        } else {
            Ok(Self(s))
        }
    }
    /// A fresh random id (UUID v4, hyphenated).
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string())
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

    #[test]
    fn doc_id_round_trips_through_text_and_bytes() {
        let id = DocId::parse("6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c").expect("valid");
        assert_eq!(id.to_string(), "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c");
        assert_eq!(DocId::from_bytes(id.as_bytes()), id);
        assert!(DocId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn kinds_and_roles_parse_their_names_only() {
        assert_eq!(DocKind::parse("spreekuur").ok(), Some(DocKind::Spreekuur));
        assert!(DocKind::parse("Walk").is_err());
        // One kind type for server and documents, with the same JSON names.
        let shared: wijklog_shared::DocKind = DocKind::Catalog;
        assert_eq!(serde_json::to_string(&shared).expect("json"), "\"catalog\"");
        assert_eq!(Role::parse("coordinator").ok(), Some(Role::Coordinator));
        assert!(Role::parse("root").is_err());
        assert!(UserId::new("").is_err());
    }
}
