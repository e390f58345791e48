//! Identifiers and enumerations: parsed once at the edge, then trusted.
//!
//! Every identifier is a newtype with a parsing constructor. In documents they
//! are stored as plain strings (`ScalarValue::Str`); in JSON they serialize as
//! strings too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::Error;

macro_rules! uuid_newtype {
    ($(#[$meta:meta])* $name:ident, $err:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "ts", derive(tsify::Tsify), tsify(type = "string"))]
        pub struct $name(Uuid);

        impl $name {
            /// Parses a UUID in any of the usual textual forms (hyphenated,
            /// simple, braced, urn); the canonical form is hyphenated lowercase.
            pub fn parse(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| Error::$err)
            }

            /// Builds the id from 16 raw bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }

            /// A fresh random (version 4) id.
            pub fn new_v4() -> Self {
                Self(Uuid::new_v4())
            }

            /// The 16 raw bytes.
            pub fn as_bytes(&self) -> [u8; 16] {
                *self.0.as_bytes()
            }

            /// The id as a [`Uuid`].
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_newtype!(
    /// The id of one automerge document (a walk, a spreekuur session or the catalog).
    DocId,
    InvalidDocId
);
uuid_newtype!(
    /// The id of an item inside a document: an observation, a note or a participant.
    /// It is the key of the item in its map.
    ItemId,
    InvalidItemId
);

/// A user id: a non-empty string without control characters, at most 128 bytes.
/// Stored in documents as `created_by`, `updated_by`, `by`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify), tsify(type = "string"))]
pub struct UserId(String);

impl UserId {
    /// Parses a user id (surrounding whitespace is an error, not trimmed away).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.is_empty() || s.len() > 128 || s.trim() != s || s.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidUserId);
        }
        Ok(Self(s.to_owned()))
    }

    /// A fresh random id: a version 4 UUID, hyphenated lower case (the form
    /// of the accounts the server makes).
    pub fn new_v4() -> Self {
        Self(Uuid::new_v4().hyphenated().to_string())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl FromStr for UserId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A point in time: milliseconds since the Unix epoch, UTC. Stored in
/// documents as `ScalarValue::Timestamp`, in JSON as an integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct Timestamp(i64);

impl Timestamp {
    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $err:ident, { $($(#[$vmeta:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        // The TypeScript union is built from the same strings as the codec below.
        #[cfg_attr(feature = "ts", derive(tsify::Tsify))]
        pub enum $name {
            $($(#[$vmeta])* #[cfg_attr(feature = "ts", serde(rename = $s))] $variant),+
        }

        impl $name {
            /// Every value, in their natural order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in documents and JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// Parses the stored string (exact match).
            pub fn parse(s: &str) -> Result<Self, Error> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(Error::$err),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum!(
    /// The kind of a document (root field `kind`).
    DocKind, InvalidDocKind, {
        /// A wijkveiligheidswandeling.
        Walk = "walk",
        /// One spreekuur session.
        Spreekuur = "spreekuur",
        /// The installation's catalog of categories, severities, partners and wijken.
        Catalog = "catalog",
    }
);

string_enum!(
    /// How serious an observation or note is.
    Severity, InvalidSeverity, {
        /// For information only.
        Informatief = "informatief",
        /// Needs attention.
        Aandacht = "aandacht",
        /// Worrying.
        Zorgelijk = "zorgelijk",
        /// Urgent.
        Urgent = "urgent",
    }
);

string_enum!(
    /// The status of one partner's follow-up.
    FollowUpStatus, InvalidFollowUpStatus, {
        /// Not picked up yet.
        Open = "open",
        /// Being handled.
        InBehandeling = "in_behandeling",
        /// Done.
        Afgerond = "afgerond",
    }
);

string_enum!(
    /// How the resident was told what happened.
    FeedbackChannel, InvalidFeedbackChannel, {
        /// By phone.
        Telefoon = "telefoon",
        /// By e-mail.
        EMail = "e-mail",
        /// In person.
        Persoonlijk = "persoonlijk",
        /// By letter.
        Brief = "brief",
    }
);

string_enum!(
    /// The outcome of one attempt to call a resident back.
    AttemptOutcome, InvalidAttemptOutcome, {
        /// Spoke to the resident.
        Bereikt = "bereikt",
        /// No answer.
        NietBereikt = "niet_bereikt",
        /// Left a voicemail message.
        Voicemail = "voicemail",
        /// The number is wrong or not in use.
        VerkeerdNummer = "verkeerd_nummer",
    }
);

string_enum!(
    /// How a call-back task was closed.
    CallbackOutcome, InvalidCallbackOutcome, {
        /// The resident was spoken to.
        Gesproken = "gesproken",
        /// The resident could not be reached (after attempts).
        NietBereikbaar = "niet_bereikbaar",
        /// No longer needed (resolved otherwise, resident withdrew the request).
        NietMeerNodig = "niet_meer_nodig",
    }
);

/// Checks a catalog id: 1 to 64 characters of `a-z`, `0-9` and `_`, starting with a letter.
/// A team id: like a slug, and hyphens allowed (`team-oost`), as accounts
/// have held them since before teams were kept in the catalog.
pub(crate) fn is_team_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

pub(crate) fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_id_round_trips_through_hyphenated_lowercase() {
        let id = DocId::parse("6F9619FF-8B86-D011-B42D-00CF4FC964FF").unwrap();
        assert_eq!(id.to_string(), "6f9619ff-8b86-d011-b42d-00cf4fc964ff");
        assert_eq!(DocId::from_bytes(id.as_bytes()), id);
        assert_eq!(
            id.as_bytes()[..4],
            [0x6f, 0x96, 0x19, 0xff],
            "bytes are the uuid's big-endian bytes"
        );
    }

    #[test]
    fn bad_ids_are_refused_with_their_own_error() {
        assert_eq!(
            DocId::parse("not-a-uuid").unwrap_err().code(),
            "invalid_doc_id"
        );
        assert_eq!(ItemId::parse("").unwrap_err().code(), "invalid_item_id");
        for bad in ["", " boa1", "boa1 ", "a\nb", &"x".repeat(129)] {
            assert_eq!(
                UserId::parse(bad).unwrap_err().code(),
                "invalid_user_id",
                "{bad:?}"
            );
        }
        assert_eq!(UserId::parse("boa-17").unwrap().as_str(), "boa-17");
        assert!(UserId::parse(&"x".repeat(128)).is_ok());
        let fresh = UserId::new_v4();
        assert_eq!(fresh.as_str().len(), 36);
        assert_eq!(UserId::parse(fresh.as_str()).unwrap(), fresh);
        assert_ne!(UserId::new_v4(), fresh);
    }

    #[test]
    fn enums_use_the_contract_strings() {
        assert_eq!(FeedbackChannel::EMail.as_str(), "e-mail");
        assert_eq!(
            FollowUpStatus::parse("in_behandeling").unwrap(),
            FollowUpStatus::InBehandeling
        );
        assert_eq!(
            Severity::parse("Urgent").unwrap_err().code(),
            "invalid_severity"
        );
        assert_eq!(DocKind::parse("walk").unwrap(), DocKind::Walk);
        assert_eq!(
            DocKind::parse("wandeling").unwrap_err().code(),
            "invalid_doc_kind"
        );
        assert_eq!(
            FollowUpStatus::parse("gesloten").unwrap_err().code(),
            "invalid_follow_up_status"
        );
        assert_eq!(
            FeedbackChannel::parse("email").unwrap_err().code(),
            "invalid_feedback_channel"
        );
        assert_eq!(
            serde_json::to_string(&Severity::Zorgelijk).unwrap(),
            "\"zorgelijk\""
        );
        assert_eq!(
            serde_json::from_str::<FeedbackChannel>("\"brief\"").unwrap(),
            FeedbackChannel::Brief
        );
    }

    #[test]
    fn slugs_are_lowercase_words_with_underscores() {
        assert!(is_slug("positief_signaal"));
        assert!(is_slug("a1"));
        for bad in ["", "1a", "Jeugd", "stad-en-lande", "a b", "é"] {
            assert!(!is_slug(bad), "{bad:?}");
        }
    }
}
