//! Wijklog's document model: the automerge documents that a boa's phone, a
//! spreekuur laptop and the server all edit and merge.
//!
//! Three document kinds ([`DocKind`]): a `walk` (wijkveiligheidswandeling), a
//! `spreekuur` session and the installation's `catalog`. A [`Document`] wraps
//! an [`automerge::AutoCommit`] and offers one typed, validating edit per
//! action; [`View`], [`Walk`], [`Spreekuur`] and [`Catalog`] are the tolerant
//! typed reads; [`project`] flattens observations and notes into [`Row`]s.
//! The shapes are documented in `docs/data-model.md`.
//!
//! ```
//! use wijklog_shared::{Catalog, DocId, Document, NewItem, NewWalk, Severity, Timestamp, UserId};
//!
//! # fn main() -> Result<(), wijklog_shared::Error> {
//! let catalog = Catalog::defaults();
//! let boa = UserId::parse("boa-1")?;
//! let at = Timestamp::from_millis(1_767_225_600_000); // 2026-01-01T00:00:00Z
//! let id = DocId::parse("0b6f5e3c-8f57-4a8e-9a43-2f1c9c0d6a01")?;
//! let mut walk = Document::new_walk(
//!     id,
//!     &catalog,
//!     &boa,
//!     at,
//!     NewWalk {
//!         title: "Avondronde Oostermeent".into(),
//!         wijk: "oostermeent".into(),
//!         route: String::new(),
//!         team: "team-oost".into(),
//!         planned_at: None,
//!     },
//! )?;
//! let item = walk.add_observation(
//!     &catalog,
//!     &boa,
//!     at,
//!     NewItem {
//!         id: None,
//!         category: "jeugdoverlast".into(),
//!         severity: Severity::Aandacht,
//!         text: "Groep bij de Roef".into(),
//!         place: Some("de Roef".into()),
//!         location: None,
//!         feedback_needed: false,
//!     },
//! )?;
//! walk.splice_text(&boa, at, &item, 0, 5, "Jongeren")?;
//!
//! let rows = walk.project()?;
//! assert_eq!(rows.len(), 1);
//! assert_eq!(rows[0].text.as_deref(), Some("Jongeren bij de Roef"));
//!
//! // A category that is not in the catalog is refused at edit time.
//! let err = walk.set_category(&catalog, &boa, at, &item, "graffiti").unwrap_err();
//! assert_eq!(err.code(), "unknown_category");
//!
//! // Bytes round-trip.
//! let bytes = walk.save();
//! let loaded = Document::load(id, &bytes)?;
//! assert_eq!(loaded.project()?, rows);
//! # Ok(())
//! # }
//! ```

mod conflict;
pub mod contact;
mod document;
pub mod erase;
mod error;
mod ids;
mod model;
mod project;
mod read;
mod snapshot;

pub use conflict::Conflicts;
pub use document::{
    CallbackRequest, Document, HistoryReplaced, MAX_AGENDA_TEXT_CHARS, NewAgendaPoint, NewAttempt,
    NewCategory, NewItem, NewParticipant, NewSpreekuur, NewWalk, PartnerContact, ResidentContact,
    SCHEMA_VERSION, TEXT_ENCODING, WalkText, add_working_days,
};
pub use error::{CatalogSection, Error};
pub use ids::{
    AttemptOutcome, CallbackOutcome, DocId, DocKind, FeedbackChannel, FollowUpStatus, ItemId,
    Severity, Timestamp, UserId,
};
pub use model::{
    Address, AgendaLook, AgendaPoint, Attempt, Callback, Catalog, CategoryEntry,
    DEFAULT_CALLBACK_DAYS, Deleted, Erased, Erasure, Feedback, FollowUp, InvalidFields, Item,
    Location, MAX_CALLBACK_DAYS, Note, Observation, Participant, PartnerEntry, Resident,
    SeverityEntry, Spreekuur, Staff, TeamEntry, View, Walk, WijkEntry, doc_kind,
};
pub use project::{Row, project};

/// Re-export of the automerge crate this model is built on (same version for all users).
pub use automerge;
