//! The wire format of `/api/v1/sync`: JSON text frames, binary frames, error
//! codes and close codes. `docs/sync-protocol.md` specifies the same bytes.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

pub use super::scope::Reason;
use crate::domain::{DocId, DocKind};

/// The protocol version, sent in `ready` (version 1 had no such field;
/// version 3 added each document's `epoch` to `ready` and `doc`; version 4
/// the coordinators' `lists_changed`; version 5 `kept`, the answer to an
/// `unsubscribe` of a document that stays in the device's scope).
pub const PROTOCOL_VERSION: u32 = 5;

/// The shortest time between two `lists_changed` frames on one connection:
/// changes within it are told once, when it has passed.
pub const LISTS_CHANGED_MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Length of the document id prefix of every binary frame.
pub const DOC_ID_LEN: usize = 16;

/// Close code: no valid `auth` frame in time, or a refused token.
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
/// Close code: the user was disabled or the device revoked.
pub const CLOSE_REVOKED: u16 = 4003;
/// Close code: the server is shutting down (the standard "going away").
pub const CLOSE_SHUTTING_DOWN: u16 = 1001;

/// The stable error codes of `{"type":"error"}` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No or a refused `auth` frame.
    Unauthenticated,
    /// The user may not see or change this document, or an actor is bound to another user.
    Forbidden,
    /// A frame, message, document or decompressed size passed a configured limit.
    TooLarge,
    /// Not a well-formed frame, JSON message or automerge sync message.
    InvalidMessage,
    /// The sync message's changes could not be applied.
    InvalidChange,
    /// The document would have no or an unknown `kind`, or would change its kind.
    InvalidDocument,
    /// The connection sent more messages than its budget allows.
    RateLimited,
    /// The server failed (for example a failed commit); nothing acked was lost, resend.
    Internal,
    /// Objects nested deeper than the limit.
    TooDeep,
    /// The user created as many documents as the quota allows.
    QuotaExceeded,
    /// `subscribe` named a document the server does not have.
    NotFound,
    /// A change has the actor and sequence number of a stored change but
    /// other content: the client holds history the server rewrote (an
    /// erasure); it must replace its copy of the document.
    DocumentRewritten,
    /// The server's disk is full: nothing of the changes was stored; resend later.
    StorageFull,
    /// The device holds as many subscriptions as allowed
    /// (`sync.max_subscriptions_per_device`): the document was not subscribed.
    TooManySubscriptions,
}

impl ErrorCode {
    /// Every code, in the documented order.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::TooLarge,
        ErrorCode::InvalidMessage,
        ErrorCode::InvalidChange,
        ErrorCode::InvalidDocument,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::TooDeep,
        ErrorCode::QuotaExceeded,
        ErrorCode::NotFound,
        ErrorCode::DocumentRewritten,
        ErrorCode::StorageFull,
        ErrorCode::TooManySubscriptions,
    ];

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::InvalidChange => "invalid_change",
            ErrorCode::InvalidDocument => "invalid_document",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::TooDeep => "too_deep",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::NotFound => "not_found",
            ErrorCode::DocumentRewritten => "document_rewritten",
            ErrorCode::StorageFull => "storage_full",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
        }
    }
}

/// A text frame sent by the client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// The first frame: the access token.
    Auth {
        /// An access JWT from `/api/v1/auth/login` or `/refresh`.
        token: String,
    },
    /// Bring a document into this device's scope (and keep it there until
    /// `sync.subscription_ttl_days` after the last subscribe).
    Subscribe {
        /// The document.
        doc: DocId,
    },
    /// End this device's subscription of a document.
    Unsubscribe {
        /// The document.
        doc: DocId,
    },
}

/// The user as shown in `ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyUser {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Roles (`boa`, `spreekuur`, `coordinator`, `admin`).
    pub roles: Vec<String>,
    /// Team, if any.
    pub team: Option<String>,
}

/// A document as listed in `ready` and announced in `doc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSummary {
    /// Document id.
    pub id: DocId,
    /// Document kind.
    pub kind: DocKind,
    /// The server's committed heads, lowercase hex.
    pub heads: Vec<String>,
    /// How often the document's history was rewritten (an erasure): a
    /// client holding a copy of an older epoch replaces it.
    pub epoch: i64,
}

/// A text frame sent by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Authentication accepted.
    Ready {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Who is connected.
        user: ReadyUser,
        /// The documents in this device's scope.
        docs: Vec<DocSummary>,
    },
    /// Changes up to these heads are durably committed.
    Ack {
        /// Document id.
        doc: DocId,
        /// Heads covering exactly the committed changes, lowercase hex.
        heads: Vec<String>,
    },
    /// A document entered this device's scope.
    Doc {
        /// Document id.
        id: DocId,
        /// Document kind.
        kind: DocKind,
        /// Its committed heads.
        heads: Vec<String>,
        /// Its epoch (see [`DocSummary::epoch`]).
        epoch: i64,
    },
    /// A document left this device's scope: the server sends nothing more
    /// of it (until it enters again).
    Unscope {
        /// The document.
        doc: DocId,
    },
    /// The answer to an `unsubscribe` of a document that stays in this
    /// device's scope for another reason (protocol 5): the subscription
    /// ended, the document stays, and the server goes on syncing it.
    Kept {
        /// The document.
        doc: DocId,
        /// Why it stays (`member`, `planned`, `open_task`, `subscribed`
        /// through another connection of the device, `catalog`).
        reason: Reason,
    },
    /// Coordinators only: walks or spreekuur sessions changed since the
    /// last such frame, so the review lists (items, urgent items, the work
    /// list, stats) may read differently now. No content: which documents
    /// changed, and how, is read over REST. At most one per
    /// [`LISTS_CHANGED_MIN_INTERVAL`] per connection (protocol 4).
    ListsChanged,
    /// Something was refused or failed.
    Error {
        /// The document concerned, or null for the connection.
        doc: Option<DocId>,
        /// Stable code.
        code: ErrorCode,
        /// Human-readable sentence (never internal details).
        message: String,
    },
}

impl ServerMessage {
    /// Builds an error message.
    pub fn error(doc: Option<DocId>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            doc,
            code,
            message: message.into(),
        }
    }

    /// The JSON text of this message.
    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail; fall back to a fixed
        // internal error rather than panicking if it ever did.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","doc":null,"code":"internal","message":"internal error"}"#.to_owned()
        })
    }
}

/// Heads as lowercase hex strings.
pub fn heads_hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

/// A binary frame that is too short to hold a document id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a binary frame must start with the 16-byte document id")]
pub struct ShortFrame;

/// Splits a binary frame into its document id and sync message bytes.
pub fn split_frame(frame: &[u8]) -> Result<(DocId, &[u8]), ShortFrame> {
    if frame.len() < DOC_ID_LEN {
        return Err(ShortFrame);
    }
    let mut id = [0u8; DOC_ID_LEN];
    id.copy_from_slice(&frame[..DOC_ID_LEN]);
    Ok((DocId::from_bytes(id), &frame[DOC_ID_LEN..]))
}

/// Builds a binary frame: the document id, then the encoded sync message.
pub fn encode_frame(doc: DocId, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOC_ID_LEN + message.len());
    out.extend_from_slice(&doc.as_bytes());
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_serialize_as_their_documented_strings() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("json");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let doc = DocId::parse("00112233-4455-6677-8899-aabbccddeeff").expect("id");
        let ack = ServerMessage::Ack {
            doc,
            heads: vec!["ab".repeat(32)],
        };
        assert_eq!(
            ack.to_json(),
            format!(
                r#"{{"type":"ack","doc":"00112233-4455-6677-8899-aabbccddeeff","heads":["{}"]}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(
            ServerMessage::ListsChanged.to_json(),
            r#"{"type":"lists_changed"}"#
        );
        let err = ServerMessage::error(None, ErrorCode::TooLarge, "frame too large");
        assert_eq!(
            err.to_json(),
            r#"{"type":"error","doc":null,"code":"too_large","message":"frame too large"}"#
        );
    }

    #[test]
    fn auth_frames_parse_and_other_shapes_do_not() {
        let ok: ClientMessage =
            serde_json::from_str(r#"{"type":"auth","token":"abc"}"#).expect("auth");
        assert_eq!(
            ok,
            ClientMessage::Auth {
                token: "abc".into()
            }
        );
        for bad in [
            r#"{"type":"auth"}"#,
            r#"{"type":"hello","token":"abc"}"#,
            r#"{"token":"abc"}"#,
            r#"[1,2]"#,
            "not json",
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn frames_split_into_id_and_message() {
        let doc = DocId::parse("00112233-4455-6677-8899-aabbccddeeff").expect("id");
        let frame = encode_frame(doc, b"\x42rest");
        assert_eq!(&frame[..4], &[0x00, 0x11, 0x22, 0x33]);
        let (id, msg) = split_frame(&frame).expect("split");
        assert_eq!(id, doc);
        assert_eq!(msg, b"\x42rest");
        assert_eq!(split_frame(&frame[..15]), Err(ShortFrame));
    }
}
