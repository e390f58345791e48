//! The crate's one error type.
//!
//! Every variant has a stable machine code ([`Error::code`]) and a short
//! English sentence (its `Display`). Messages never contain free text or
//! personal data from a document; they may name catalog ids and item ids.

use crate::ids::{DocKind, ItemId};

/// Which part of the catalog an error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CatalogSection {
    /// `categories`
    Category,
    /// `partners`
    Partner,
    /// `wijken`
    Wijk,
    /// `severities` (labels only: severities are fixed)
    Severity,
    /// `teams`
    Team,
}

impl CatalogSection {
    /// The section's singular name (`category`, `partner`, `wijk`, `severity`, `team`).
    pub const fn as_str(self) -> &'static str {
        match self {
            CatalogSection::Category => "category",
            CatalogSection::Partner => "partner",
            CatalogSection::Wijk => "wijk",
            CatalogSection::Severity => "severity",
            CatalogSection::Team => "team",
        }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document id is not a UUID.
    #[error("the document id is not a valid UUID")]
    InvalidDocId,
    /// An item id is not a UUID.
    #[error("the item id is not a valid UUID")]
    InvalidItemId,
    /// A user id is empty, too long or contains control characters or surrounding spaces.
    #[error("the user id is empty, longer than 128 bytes or contains control characters")]
    InvalidUserId,
    /// A document kind string is not `walk`, `spreekuur` or `catalog`.
    #[error("unknown document kind")]
    InvalidDocKind,
    /// A severity string is not one of the four severities.
    #[error("unknown severity (expected informatief, aandacht, zorgelijk or urgent)")]
    InvalidSeverity,
    /// A follow-up status string is not one of the three statuses.
    #[error("unknown follow-up status (expected open, in_behandeling or afgerond)")]
    InvalidFollowUpStatus,
    /// A feedback channel string is not one of the four channels.
    #[error("unknown feedback channel (expected telefoon, e-mail, persoonlijk or brief)")]
    InvalidFeedbackChannel,
    /// An attempt outcome string is not one of the four outcomes.
    #[error(
        "unknown attempt outcome (expected bereikt, niet_bereikt, voicemail or verkeerd_nummer)"
    )]
    InvalidAttemptOutcome,
    /// A call-back outcome string is not one of the three outcomes.
    #[error("unknown call-back outcome (expected gesproken, niet_bereikbaar or niet_meer_nodig)")]
    InvalidCallbackOutcome,
    /// A call-back term outside 1..=60 working days.
    #[error("a call-back term must be 1 to 60 working days")]
    InvalidCallbackDays,
    /// A catalog id is not a lowercase slug.
    #[error("a catalog id must be 1-64 characters of a-z, 0-9 and _, starting with a letter")]
    InvalidSlug,
    /// A colour is not `#rrggbb`.
    #[error("a colour must be written as #rrggbb (lowercase hex)")]
    InvalidColor,
    /// Latitude, longitude or accuracy out of range or not finite.
    #[error("the location is out of range (lat -90..90, lon -180..180, accuracy >= 0)")]
    InvalidLocation,
    /// A wijk bounding box is not `[minLon, minLat, maxLon, maxLat]` with min <= max.
    #[error(
        "the bounding box must be [minLon, minLat, maxLon, maxLat] with min <= max and in range"
    )]
    InvalidBbox,
    /// A photo reference is not `sha256:` followed by 64 lowercase hex digits.
    #[error("a photo reference must be sha256: followed by 64 lowercase hex digits")]
    InvalidPhoto,
    /// An e-mail address that a mail server would not accept (see `contact::check_email`).
    #[error("the e-mail address is not valid")]
    InvalidEmail,
    /// A phone field without a recognisable phone number (see `contact::check_phone`).
    #[error("the phone number is not valid")]
    InvalidPhone,
    /// A resident's name longer than 100 characters or with control characters.
    #[error("the name is longer than 100 characters or contains control characters")]
    InvalidName,
    /// A required text argument is empty (after trimming whitespace).
    #[error("the field {0} must not be empty")]
    EmptyField(&'static str),
    /// A short text field is too long or holds control characters.
    #[error("the field {0} is too long or holds control characters")]
    FieldTooLong(&'static str),
    /// The document is not a valid Wijklog document (no or unknown `kind`, not loadable, ...).
    #[error("invalid document: {0}")]
    InvalidDocument(&'static str),
    /// An edit was applied to a document of the wrong kind.
    #[error("this edit applies to a {expected} document, not to a {found} document")]
    WrongKind {
        /// The kind the edit needs.
        expected: DocKind,
        /// The document's kind.
        found: DocKind,
    },
    /// The id is not in the catalog.
    #[error("unknown {section} '{id}'", section = .section.as_str())]
    NotInCatalog {
        /// Which list.
        section: CatalogSection,
        /// The id asked for.
        id: String,
    },
    /// The id is in the catalog but retired.
    #[error("the {section} '{id}' is retired", section = .section.as_str())]
    Retired {
        /// Which list.
        section: CatalogSection,
        /// The id asked for.
        id: String,
    },
    /// A catalog entry with this id already exists (possibly retired).
    #[error("the {section} '{id}' already exists", section = .section.as_str())]
    CatalogEntryExists {
        /// Which list.
        section: CatalogSection,
        /// The id asked for.
        id: String,
    },
    /// No observation, note or participant with this id.
    #[error("no item with id {0}")]
    ItemNotFound(ItemId),
    /// An item with this id already exists.
    #[error("an item with id {0} already exists")]
    ItemExists(ItemId),
    /// The item is deleted; only undelete applies to it.
    #[error("item {0} is deleted")]
    ItemDeleted(ItemId),
    /// The item's content (or, for contact edits, its contact details) was
    /// erased; it cannot be edited any more.
    #[error("the data of item {0} was erased")]
    ItemErased(ItemId),
    /// Undelete of an item that is not deleted.
    #[error("item {0} is not deleted")]
    NotDeleted(ItemId),
    /// A resident point id that is not a positive number.
    #[error("the point id must be a positive number")]
    InvalidPoint,
    /// The walk's agenda has no entry for this point.
    #[error("point {0} is not on the walk's agenda")]
    AgendaPointNotFound(i64),
    /// The point is on the walk's agenda already.
    #[error("point {0} is on the walk's agenda already")]
    AgendaPointExists(i64),
    /// The walk has already been started.
    #[error("the walk has already started")]
    WalkAlreadyStarted,
    /// The walk has not been started, so it cannot end.
    #[error("the walk has not started yet")]
    WalkNotStarted,
    /// The walk has already ended.
    #[error("the walk has already ended")]
    WalkAlreadyEnded,
    /// Reopen of a walk that has not ended.
    #[error("the walk has not ended, so it cannot be reopened")]
    WalkNotEnded,
    /// Resident contact details without recorded consent.
    #[error("resident contact details need the resident's consent")]
    ConsentRequired,
    /// Completing a call back that was never requested.
    #[error("no call back was requested for this note")]
    CallbackNotRequested,
    /// Completing a call back that is already done.
    #[error("the call back is already done")]
    CallbackAlreadyDone,
    /// Editing a call back that is closed (attempts, due date, assignee).
    #[error("the call back is closed")]
    CallbackClosed,
    /// A staff member is already listed for this session.
    #[error("this user is already staff of the session")]
    StaffExists,
    /// A text splice outside the current text.
    #[error("the text range is outside the current text (length {len})")]
    TextOutOfRange {
        /// The text's length in the platform's text units.
        len: usize,
    },
    /// A field that should be automerge Text is something else (so it cannot be spliced).
    #[error("the field {0} is not a text object")]
    NotText(&'static str),
    /// A timestamp argument before 1970-01-01.
    #[error("the timestamp is out of range (before 1970)")]
    InvalidTimestamp,
    /// Bytes that are not an automerge document or change.
    #[error("the bytes are not a valid automerge document or change")]
    Load(#[source] Box<automerge::AutomergeError>),
    /// Changes (from a sync message or incremental bytes) that cannot be applied.
    #[error("the changes cannot be applied to this document")]
    InvalidChange(#[source] Box<automerge::AutomergeError>),
    /// A sync message or sync state that cannot be decoded.
    #[error("the sync message or sync state cannot be decoded")]
    InvalidSyncMessage,
    /// `begin_action` while an action is open (actions do not nest), or a
    /// save, merge or sync while one is open.
    #[error("an action is already open on this document")]
    ActionOpen,
    /// `commit_action` / `abort_action` without an open action.
    #[error("no action is open on this document")]
    NoAction,
    /// An edit of the open action failed, so the whole action was rolled back.
    #[error("an edit of this action failed; nothing of it was applied")]
    ActionFailed,
    /// An error inside automerge while applying an edit.
    #[error("the document engine refused the operation")]
    Automerge(#[source] Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Automerge(Box::new(e))
    }
}

impl Error {
    /// A stable snake_case code for this error, for APIs and JS (`err.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidDocId => "invalid_doc_id",
            Error::InvalidItemId => "invalid_item_id",
            Error::InvalidUserId => "invalid_user_id",
            Error::InvalidDocKind => "invalid_doc_kind",
            Error::InvalidSeverity => "invalid_severity",
            Error::InvalidFollowUpStatus => "invalid_follow_up_status",
            Error::InvalidFeedbackChannel => "invalid_feedback_channel",
            Error::InvalidAttemptOutcome => "invalid_attempt_outcome",
            Error::InvalidCallbackOutcome => "invalid_callback_outcome",
            Error::InvalidCallbackDays => "invalid_callback_days",
            Error::InvalidSlug => "invalid_slug",
            Error::InvalidColor => "invalid_color",
            Error::InvalidLocation => "invalid_location",
            Error::InvalidBbox => "invalid_bbox",
            Error::InvalidPhoto => "invalid_photo",
            Error::InvalidEmail => "invalid_email",
            Error::InvalidPhone => "invalid_phone",
            Error::InvalidName => "invalid_name",
            Error::EmptyField(_) => "empty_field",
            Error::FieldTooLong(_) => "field_too_long",
            Error::InvalidDocument(_) => "invalid_document",
            Error::WrongKind { .. } => "wrong_kind",
            Error::NotInCatalog { section, .. } => match section {
                CatalogSection::Category => "unknown_category",
                CatalogSection::Partner => "unknown_partner",
                CatalogSection::Wijk => "unknown_wijk",
                CatalogSection::Severity => "invalid_severity",
                CatalogSection::Team => "unknown_team",
            },
            Error::Retired { section, .. } => match section {
                CatalogSection::Category => "retired_category",
                CatalogSection::Partner => "retired_partner",
                CatalogSection::Wijk => "retired_wijk",
                CatalogSection::Severity => "invalid_severity",
                CatalogSection::Team => "retired_team",
            },
            Error::CatalogEntryExists { .. } => "catalog_entry_exists",
            Error::ItemNotFound(_) => "item_not_found",
            Error::ItemExists(_) => "item_exists",
            Error::ItemDeleted(_) => "item_deleted",
            Error::ItemErased(_) => "item_erased",
            Error::NotDeleted(_) => "not_deleted",
            Error::InvalidPoint => "invalid_point",
            Error::AgendaPointNotFound(_) => "agenda_point_not_found",
            Error::AgendaPointExists(_) => "agenda_point_exists",
            Error::WalkAlreadyStarted => "walk_already_started",
            Error::WalkNotStarted => "walk_not_started",
            Error::WalkAlreadyEnded => "walk_already_ended",
            Error::WalkNotEnded => "walk_not_ended",
            Error::ConsentRequired => "consent_required",
            Error::CallbackNotRequested => "callback_not_requested",
            Error::CallbackAlreadyDone => "callback_already_done",
            Error::CallbackClosed => "callback_closed",
            Error::StaffExists => "staff_exists",
            Error::TextOutOfRange { .. } => "text_out_of_range",
            Error::NotText(_) => "not_text",
            Error::InvalidTimestamp => "invalid_timestamp",
            Error::Load(_) => "invalid_bytes",
            Error::InvalidChange(_) => "invalid_change",
            Error::InvalidSyncMessage => "invalid_sync_message",
            Error::ActionOpen => "action_open",
            Error::NoAction => "no_action",
            Error::ActionFailed => "action_failed",
            Error::Automerge(_) => "automerge",
        }
    }
}
