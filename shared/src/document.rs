//! The [`Document`] wrapper and its typed edits.
//!
//! Every edit validates its arguments and the document's current state first,
//! then writes, then commits one automerge change whose message is the edit's
//! name and whose time is the `at` argument (in seconds). When a write fails
//! half-way the pending operations are rolled back, so an edit is all or nothing.
//! Edits take the acting user and the current time as arguments: the crate
//! never reads a clock, which keeps it deterministic and wasm-friendly.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, AutomergeError, ChangeHash, LoadOptions, ObjId, ObjType, ROOT, ReadDoc,
    ScalarValue, TextEncoding,
};
use serde::Deserialize;

use crate::conflict::{all_maps, fold_attempts, fold_callback, fold_into_winner};
use crate::contact::{MAX_CONTACT_CHARS, check_email, check_phone};
use crate::erase::{EraseBasis, EraseWhat, is_erased};
use crate::error::{CatalogSection, Error};
use crate::ids::{
    AttemptOutcome, CallbackOutcome, DocId, DocKind, FeedbackChannel, FollowUpStatus, ItemId,
    Severity, Timestamp, UserId, is_slug, is_team_id,
};
use crate::model::{
    Address, Catalog, DEFAULT_CATEGORIES, DEFAULT_PARTNERS, DEFAULT_SEVERITIES, DEFAULT_WIJKEN,
    Location, MAX_CALLBACK_DAYS, Spreekuur, View, Walk, doc_kind, expect_kind, is_color,
};
use crate::project::{Row, project};
use crate::read::{
    Got, get_bool, get_int, get_map, get_str, get_text_obj, get_timestamp, map_keys,
};

/// The text unit of splice positions: UTF-16 code units in the wasm build (like
/// JavaScript strings), Unicode code points natively.
pub const TEXT_ENCODING: TextEncoding = if cfg!(target_arch = "wasm32") {
    TextEncoding::Utf16CodeUnit
} else {
    TextEncoding::UnicodeCodePoint
};

/// The schema version written into every document root.
pub const SCHEMA_VERSION: i64 = 1;

/// Arguments of [`Document::new_walk`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWalk {
    /// Title (free text, required).
    pub title: String,
    /// Wijk id (must be an active catalog wijk).
    pub wijk: String,
    /// Route description (free text).
    #[serde(default)]
    pub route: String,
    /// Team id (required).
    pub team: String,
    /// Planned start.
    #[serde(default)]
    pub planned_at: Option<Timestamp>,
}

/// Arguments of [`Document::new_spreekuur`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSpreekuur {
    /// Where (for example the buurthuis' name; required).
    pub location: String,
    /// Wijk id (must be an active catalog wijk).
    pub wijk: String,
    /// When the session is held.
    pub held_on: Timestamp,
    /// Team id (required).
    pub team: String,
}

/// Arguments of [`Document::add_observation`] and [`Document::add_note`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Explicit id (fixtures, tests); a random v4 id when absent.
    #[serde(default)]
    pub id: Option<ItemId>,
    /// Category id (must be an active catalog category).
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// Initial text (may be empty).
    #[serde(default)]
    pub text: String,
    /// Street or landmark.
    #[serde(default)]
    pub place: Option<String>,
    /// GPS position.
    #[serde(default)]
    pub location: Option<Location>,
    /// Whether the resident must hear back.
    #[serde(default)]
    pub feedback_needed: bool,
}

/// Arguments of [`Document::add_participant`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    /// Explicit id; random v4 when absent.
    #[serde(default)]
    pub id: Option<ItemId>,
    /// Name (required).
    pub name: String,
    /// Organisation.
    #[serde(default)]
    pub organisation: String,
}

/// Arguments of [`Document::add_agenda_point`]: a resident's point that a
/// coordinator put on the walk's agenda. Never the resident's contact details
/// (the walk goes to the phones of everyone on it).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgendaPoint {
    /// The resident point's id on the server (a positive number); the entry's key.
    pub point: i64,
    /// What to look at: the resident's words as accepted, or the coordinator's rewording.
    pub text: String,
    /// Catalog category id (checked: exists, not retired).
    #[serde(default)]
    pub category: Option<String>,
    /// Street and number, or a landmark.
    #[serde(default)]
    pub place: Option<String>,
    /// Where the resident pointed (WGS84).
    #[serde(default)]
    pub location: Option<Location>,
}

/// Most characters of an agenda entry's text (the residents' form takes 1000).
pub const MAX_AGENDA_TEXT_CHARS: usize = 2000;
/// Most characters of an agenda entry's place.
const MAX_AGENDA_PLACE_CHARS: usize = 200;

/// Arguments of [`Document::set_resident_contact`] (personal data).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentContact {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The resident consents to being contacted. Required to be `true`.
    pub consent: bool,
}

/// Arguments of [`Document::set_partner_contact`]: how a partner is reached
/// when an item is forwarded ("doorsturen"). A field that is absent or blank
/// is removed from the partner.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerContact {
    /// E-mail address the forwarded items go to.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number (free text: a desk number, extension, hours).
    #[serde(default)]
    pub phone: Option<String>,
    /// Name of the contact person.
    #[serde(default)]
    pub contact: Option<String>,
}

/// Longest partner phone or contact-person text (characters).
const MAX_PARTNER_FIELD_CHARS: usize = 200;
/// Longest English label of a catalog entry.
const MAX_LABEL_CHARS: usize = 200;
/// Longest address label (characters).
const MAX_ADDRESS_CHARS: usize = 200;

/// Arguments of [`Document::request_callback`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// When the call back is due; absent: the request time plus the note's
    /// category term ([`Catalog::callback_days`]) in working days.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// Who calls back; absent: the session's team.
    #[serde(default)]
    pub assignee: Option<UserId>,
}

/// Arguments of [`Document::log_callback_attempt`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAttempt {
    /// Explicit attempt id (fixtures, tests); a random v4 id when absent.
    #[serde(default)]
    pub id: Option<ItemId>,
    /// When the call was made; absent: the edit's time.
    #[serde(default)]
    pub called_at: Option<Timestamp>,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// A short remark (trimmed; empty = none).
    #[serde(default)]
    pub note: Option<String>,
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// `t` plus `days` working days (Monday to Friday) at the same time of day.
/// Days are UTC calendar days; public holidays are not known. A start on a
/// Saturday or Sunday counts like the Friday before (1 working day: Monday).
pub fn add_working_days(t: Timestamp, days: u32) -> Timestamp {
    if days == 0 {
        return t;
    }
    let ms = t.as_millis();
    let mut day = ms.div_euclid(DAY_MS);
    let time = ms.rem_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays, 5 and 6 on
    // the weekend. A weekend start counts like the Friday before it.
    let weekday = |day: i64| (day + 3).rem_euclid(7);
    day -= (weekday(day) - 4).max(0);
    // Whole weeks first (5 working days = 7 calendar days), then the rest
    // one day at a time: at most 4 working days plus a weekend.
    day = day.saturating_add(i64::from(days / 5) * 7);
    let mut left = days % 5;
    while left > 0 {
        day += 1;
        if weekday(day) < 5 {
            left -= 1;
        }
    }
    Timestamp::from_millis(day.saturating_mul(DAY_MS).saturating_add(time))
}

/// Arguments of [`Document::add_category`].
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Slug id.
    pub id: String,
    /// Label.
    pub label: String,
    /// `#rrggbb`.
    pub color: String,
    /// A positive signal.
    #[serde(default)]
    pub positive: bool,
}

/// A free-text field of the walk root.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkText {
    /// `title`
    Title,
    /// `route`
    Route,
    /// `summary`
    Summary,
}

impl WalkText {
    fn key(self) -> &'static str {
        match self {
            WalkText::Title => "title",
            WalkText::Route => "route",
            WalkText::Summary => "summary",
        }
    }
}

/// One Wijklog document: an automerge document plus its id.
#[derive(Debug)]
pub struct Document {
    id: DocId,
    doc: AutoCommit,
    /// The open action, if any (see [`Document::action`]).
    action: Option<Action>,
}

/// What [`Document::replace_history`] did.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReplaced {
    /// This replica's changes the new history did not have, carried over
    /// (they still have to be sent).
    pub carried: usize,
    /// Changes of this copy that the new history already has (everything
    /// the server had, rewritten or not).
    pub already_there: usize,
    /// Items whose erased fields a carried change wrote to: those edits
    /// were dropped (tell the user).
    pub dropped_on: Vec<String>,
}

/// The edits of an open action: their operations are pending in one automerge
/// transaction until the action commits.
#[derive(Debug, Default)]
struct Action {
    /// The names of the edits applied so far, in order.
    names: Vec<&'static str>,
    /// An edit of this action failed: everything was rolled back and the
    /// action can only be aborted.
    failed: bool,
}

fn ts(t: Timestamp) -> ScalarValue {
    ScalarValue::Timestamp(t.as_millis())
}

fn non_empty(field: &'static str, s: &str) -> Result<(), Error> {
    if s.trim().is_empty() {
        Err(Error::EmptyField(field))
    } else {
        Ok(())
    }
}

fn check_time(t: Timestamp) -> Result<(), Error> {
    if t.as_millis() < 0 {
        Err(Error::InvalidTimestamp)
    } else {
        Ok(())
    }
}

fn check_location(l: &Location) -> Result<(), Error> {
    let ok = l.lat.is_finite()
        && l.lon.is_finite()
        && (-90.0..=90.0).contains(&l.lat)
        && (-180.0..=180.0).contains(&l.lon)
        && l.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidLocation)
    }
}

/// An address with its label trimmed, or why it is refused.
fn check_address(a: Address) -> Result<Address, Error> {
    check_location(&Location {
        lat: a.lat,
        lon: a.lon,
        accuracy_m: None,
    })?;
    let label = a.label.trim();
    if label.is_empty() {
        return Err(Error::EmptyField("address.label"));
    }
    if label.chars().count() > MAX_ADDRESS_CHARS || label.chars().any(char::is_control) {
        return Err(Error::FieldTooLong("address.label"));
    }
    Ok(Address {
        label: label.to_owned(),
        ..a
    })
}

/// The personal fields of a note's `resident` map.
const CONTACT_FIELDS: [&str; 4] = ["name", "phone", "phone_e164", "email"];

/// Removes from the map `obj` (at `path` below an item) every value an
/// erasure of `what` covers ([`crate::erase::is_erased`]), in every
/// concurrently written copy: scalars are deleted, text and lists whose
/// contents are covered are replaced by new empty ones, maps are cleaned
/// and deleted when cleaning emptied them. Returns whether anything was removed.
fn clean_erased(
    d: &mut AutoCommit,
    obj: &ObjId,
    path: &mut Vec<String>,
    what: EraseWhat,
) -> Result<bool, AutomergeError> {
    let mut removed = false;
    for key in map_keys(d, obj) {
        path.push(key.clone());
        let (scalar_erased, contents_erased) = {
            let mut rest: Vec<Option<&str>> = path.iter().map(|s| Some(s.as_str())).collect();
            let scalar = is_erased(what, &rest);
            rest.push(None);
            (scalar, is_erased(what, &rest))
        };
        let values: Vec<(automerge::Value<'static>, ObjId)> = d
            .get_all(obj, key.as_str())?
            .into_iter()
            .map(|(v, id)| (v.to_owned(), id))
            .collect();
        let mut delete = false;
        let mut replace: Option<ObjType> = None;
        for (value, id) in values {
            match value {
                automerge::Value::Scalar(_) => delete |= scalar_erased,
                automerge::Value::Object(ObjType::Map | ObjType::Table) => {
                    let cleaned = clean_erased(d, &id, path, what)?;
                    removed |= cleaned;
                    if cleaned && d.keys(&id).next().is_none() {
                        delete = true;
                    }
                }
                automerge::Value::Object(t @ (ObjType::Text | ObjType::List)) => {
                    if d.length(&id) > 0 && contents_erased {
                        replace = Some(t);
                    }
                }
            }
        }
        path.pop();
        if delete {
            d.delete(obj, key.as_str())?;
            removed = true;
        } else if let Some(t) = replace {
            d.put_object(obj, key.as_str(), t)?;
            removed = true;
        }
    }
    Ok(removed)
}

fn check_photo(s: &str) -> Result<(), Error> {
    let ok = s
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    if ok { Ok(()) } else { Err(Error::InvalidPhoto) }
}

fn check_bbox(b: &[f64; 4]) -> Result<(), Error> {
    let [min_lon, min_lat, max_lon, max_lat] = *b;
    let ok = b.iter().all(|v| v.is_finite())
        && (-180.0..=180.0).contains(&min_lon)
        && (-180.0..=180.0).contains(&max_lon)
        && (-90.0..=90.0).contains(&min_lat)
        && (-90.0..=90.0).contains(&max_lat)
        && min_lon <= max_lon
        && min_lat <= max_lat;
    if ok { Ok(()) } else { Err(Error::InvalidBbox) }
}

fn put_text(
    d: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    text: &str,
) -> Result<ObjId, AutomergeError> {
    let t = d.put_object(obj, key, ObjType::Text)?;
    if !text.is_empty() {
        d.splice_text(&t, 0, 0, text)?;
    }
    Ok(t)
}

fn put_location(d: &mut AutoCommit, obj: &ObjId, l: &Location) -> Result<(), AutomergeError> {
    let loc = d.put_object(obj, "location", ObjType::Map)?;
    d.put(&loc, "lat", l.lat)?;
    d.put(&loc, "lon", l.lon)?;
    if let Some(a) = l.accuracy_m {
        d.put(&loc, "accuracy_m", a)?;
    }
    Ok(())
}

fn section_key(section: CatalogSection) -> &'static str {
    match section {
        CatalogSection::Category => "categories",
        CatalogSection::Partner => "partners",
        CatalogSection::Wijk => "wijken",
        CatalogSection::Severity => "severities",
        CatalogSection::Team => "teams",
    }
}

impl Document {
    fn empty(id: DocId) -> Self {
        Document {
            id,
            doc: AutoCommit::new_with_encoding(TEXT_ENCODING),
            action: None,
        }
    }

    /// Wraps an existing automerge document (no checks; see [`Document::kind`]).
    pub fn from_automerge(id: DocId, doc: AutoCommit) -> Self {
        Document {
            id,
            doc,
            action: None,
        }
    }

    /// Creates a walk document, created by `by` at `at`.
    pub fn new_walk(
        id: DocId,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewWalk,
    ) -> Result<Self, Error> {
        Self::new_walk_into(Self::empty(id), catalog, by, at, init)
    }

    /// [`Document::new_walk`] with its first change written by `actor`
    /// instead of a random one: the deterministic simulation of sync picks
    /// every actor from its seed, so that one seed replays byte for byte.
    pub fn new_walk_with_actor(
        id: DocId,
        actor: ActorId,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewWalk,
    ) -> Result<Self, Error> {
        let mut d = Self::empty(id);
        d.set_actor(actor);
        Self::new_walk_into(d, catalog, by, at, init)
    }

    fn new_walk_into(
        mut d: Document,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewWalk,
    ) -> Result<Self, Error> {
        non_empty("title", &init.title)?;
        non_empty("team", &init.team)?;
        catalog.check_wijk(&init.wijk)?;
        check_time(at)?;
        if let Some(p) = init.planned_at {
            check_time(p)?;
        }
        d.write(at, "new_walk", |doc| {
            doc.put(ROOT, "kind", DocKind::Walk.as_str())?;
            doc.put(ROOT, "schema", SCHEMA_VERSION)?;
            put_text(doc, &ROOT, "title", &init.title)?;
            doc.put(ROOT, "wijk", init.wijk.as_str())?;
            put_text(doc, &ROOT, "route", &init.route)?;
            if let Some(p) = init.planned_at {
                doc.put(ROOT, "planned_at", ts(p))?;
            }
            doc.put(ROOT, "team", init.team.as_str())?;
            doc.put(ROOT, "created_by", by.as_str())?;
            doc.put_object(ROOT, "participants", ObjType::Map)?;
            doc.put_object(ROOT, "observations", ObjType::Map)?;
            put_text(doc, &ROOT, "summary", "")?;
            Ok(())
        })?;
        Ok(d)
    }

    /// Creates a spreekuur document, created by `by` at `at`.
    pub fn new_spreekuur(
        id: DocId,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewSpreekuur,
    ) -> Result<Self, Error> {
        non_empty("location", &init.location)?;
        non_empty("team", &init.team)?;
        catalog.check_wijk(&init.wijk)?;
        check_time(at)?;
        check_time(init.held_on)?;
        let mut d = Self::empty(id);
        d.write(at, "new_spreekuur", |doc| {
            doc.put(ROOT, "kind", DocKind::Spreekuur.as_str())?;
            doc.put(ROOT, "schema", SCHEMA_VERSION)?;
            doc.put(ROOT, "location", init.location.as_str())?;
            doc.put(ROOT, "wijk", init.wijk.as_str())?;
            doc.put(ROOT, "held_on", ts(init.held_on))?;
            doc.put(ROOT, "team", init.team.as_str())?;
            doc.put(ROOT, "created_by", by.as_str())?;
            doc.put_object(ROOT, "staff", ObjType::Map)?;
            doc.put_object(ROOT, "notes", ObjType::Map)?;
            Ok(())
        })?;
        Ok(d)
    }

    /// Creates the catalog document with the defaults of [`Catalog::defaults`].
    /// Its single change has time 0, so it carries no clock reading.
    pub fn new_catalog_with_defaults(id: DocId) -> Result<Self, Error> {
        let mut d = Self::empty(id);
        d.write(Timestamp::from_millis(0), "new_catalog", |doc| {
            doc.put(ROOT, "kind", DocKind::Catalog.as_str())?;
            doc.put(ROOT, "schema", SCHEMA_VERSION)?;
            let cats = doc.put_object(ROOT, "categories", ObjType::Map)?;
            for (order, &(id, label, label_en, color, positive)) in (0i64..).zip(DEFAULT_CATEGORIES)
            {
                let e = doc.put_object(&cats, id, ObjType::Map)?;
                doc.put(&e, "label", label)?;
                doc.put(&e, "label_en", label_en)?;
                doc.put(&e, "color", color)?;
                doc.put(&e, "positive", positive)?;
                doc.put(&e, "order", order)?;
                doc.put(&e, "retired", false)?;
            }
            let sev = doc.put_object(ROOT, "severities", ObjType::Map)?;
            for (order, &(id, label, label_en)) in (0i64..).zip(DEFAULT_SEVERITIES) {
                let e = doc.put_object(&sev, id, ObjType::Map)?;
                doc.put(&e, "label", label)?;
                doc.put(&e, "label_en", label_en)?;
                doc.put(&e, "order", order)?;
            }
            let partners = doc.put_object(ROOT, "partners", ObjType::Map)?;
            for (order, &(id, label, label_en)) in (0i64..).zip(DEFAULT_PARTNERS) {
                let e = doc.put_object(&partners, id, ObjType::Map)?;
                doc.put(&e, "label", label)?;
                doc.put(&e, "label_en", label_en)?;
                doc.put(&e, "order", order)?;
                doc.put(&e, "retired", false)?;
            }
            let wijken = doc.put_object(ROOT, "wijken", ObjType::Map)?;
            for (order, &(id, label)) in (0i64..).zip(DEFAULT_WIJKEN) {
                let e = doc.put_object(&wijken, id, ObjType::Map)?;
                doc.put(&e, "label", label)?;
                doc.put(&e, "order", order)?;
                doc.put(&e, "retired", false)?;
            }
            doc.put_object(ROOT, "teams", ObjType::Map)?;
            Ok(())
        })?;
        Ok(d)
    }

    /// Loads a document from bytes written by `save` (or concatenated changes).
    /// The content is not checked here; [`Document::kind`] and the readers do that.
    pub fn load(id: DocId, bytes: &[u8]) -> Result<Self, Error> {
        let doc =
            AutoCommit::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))
                .map_err(|e| Error::Load(Box::new(e)))?;
        Ok(Document::from_automerge(id, doc))
    }

    /// The whole document, compressed.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes since the last `save` / `save_incremental` (may be empty).
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Applies changes (from `save_incremental` or `save` of a related document).
    /// Returns the number of operations applied. As in automerge, a chunk that
    /// does not parse (a torn write at the end of an append-only file) ends the
    /// load without an error: the chunks before it are applied, nothing after.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| Error::InvalidChange(Box::new(e)))
    }

    /// The document's current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The current heads as lowercase hex strings.
    pub fn heads_hex(&mut self) -> Vec<String> {
        self.doc.get_heads().iter().map(|h| h.to_string()).collect()
    }

    /// Merges the changes of `other` into this document.
    pub fn merge(&mut self, other: &mut Document) -> Result<(), Error> {
        self.doc
            .merge(&mut other.doc)
            .map(|_| ())
            .map_err(|e| Error::InvalidChange(Box::new(e)))
    }

    /// A copy of this document with a new random actor (same id).
    pub fn fork(&mut self) -> Document {
        Document::from_automerge(self.id, self.doc.fork())
    }

    /// The document id.
    pub fn id(&self) -> DocId {
        self.id
    }

    /// The document kind (root `kind`).
    pub fn kind(&self) -> Result<DocKind, Error> {
        doc_kind(&self.doc)
    }

    /// The inner automerge document.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The inner automerge document, mutable (for sync plumbing and tests; edits
    /// made through it bypass validation).
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Sets the automerge actor id of this replica.
    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    /// Produces the next sync message for the peer whose state is `state`, if any.
    pub fn generate_sync_message(&mut self, state: &mut sync::State) -> Option<Vec<u8>> {
        self.doc
            .sync()
            .generate_sync_message(state)
            .map(sync::Message::encode)
    }

    /// Applies a sync message from the peer whose state is `state`.
    pub fn receive_sync_message(
        &mut self,
        state: &mut sync::State,
        message: &[u8],
    ) -> Result<(), Error> {
        let msg = sync::Message::decode(message).map_err(|_| Error::InvalidSyncMessage)?;
        self.doc
            .sync()
            .receive_sync_message(state, msg)
            .map_err(|e| Error::InvalidChange(Box::new(e)))
    }

    /// How many changes made by this replica's actor are not covered by `acked`
    /// (heads the server acknowledged). Unknown hashes in `acked` are ignored.
    pub fn pending_changes(&mut self, acked: &[ChangeHash]) -> usize {
        let known: Vec<ChangeHash> = acked
            .iter()
            .copied()
            .filter(|h| self.doc.get_change_by_hash(h).is_some())
            .collect();
        let actor = self.doc.get_actor().clone();
        self.doc
            .get_changes(&known)
            .iter()
            .filter(|c| *c.actor_id() == actor)
            .count()
    }

    /// The typed read model of the document.
    pub fn view(&self) -> Result<View, Error> {
        View::from_doc(&self.doc)
    }

    /// The walk read model (error if this is not a walk).
    pub fn walk(&self) -> Result<Walk, Error> {
        Walk::from_doc(&self.doc)
    }

    /// The spreekuur read model (error if this is not a spreekuur).
    pub fn spreekuur(&self) -> Result<Spreekuur, Error> {
        Spreekuur::from_doc(&self.doc)
    }

    /// The catalog read model (error if this is not the catalog).
    pub fn catalog(&self) -> Result<Catalog, Error> {
        Catalog::from_doc(&self.doc)
    }

    /// The projection rows (see [`project`]).
    pub fn project(&self) -> Result<Vec<Row>, Error> {
        project(self.id, &self.doc)
    }

    // ----- actions: several edits as one change -----

    /// Applies several edits as one user action: `f` runs the edits on this
    /// document; when every one of them succeeds they are committed as ONE
    /// automerge change (message: the edits' names joined by `,`, consecutive
    /// repeats once; time: `at`), and when `f` returns an error (its own, or
    /// an edit's) nothing of it is applied. Edits inside see the effects of
    /// the earlier ones (an `add_note` and then `set_resident_contact` on it).
    /// Actions do not nest; `f` must not save, merge or sync the document.
    pub fn action<T>(
        &mut self,
        at: Timestamp,
        f: impl FnOnce(&mut Document) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.begin_action()?;
        match f(self) {
            Ok(v) => {
                self.commit_action(at)?;
                Ok(v)
            }
            Err(e) => {
                self.abort_action();
                Err(e)
            }
        }
    }

    /// Opens an action, for bindings that cannot pass a closure (the wasm
    /// crate's `beginAction`); natively use [`Document::action`]. Every edit
    /// until [`Document::commit_action`] or [`Document::abort_action`] belongs
    /// to it.
    pub fn begin_action(&mut self) -> Result<(), Error> {
        if self.action.is_some() {
            return Err(Error::ActionOpen);
        }
        // Anything left pending by direct use of the inner document is its own change.
        self.doc.commit();
        self.action = Some(Action::default());
        Ok(())
    }

    /// Commits the open action as one change; refused (`action_failed`, and
    /// the action is closed with nothing applied) when one of its edits failed.
    pub fn commit_action(&mut self, at: Timestamp) -> Result<(), Error> {
        let action = self.action.take().ok_or(Error::NoAction)?;
        if action.failed {
            self.doc.rollback();
            return Err(Error::ActionFailed);
        }
        let mut names = action.names;
        names.dedup();
        if names.is_empty() {
            self.doc.rollback();
            return Ok(());
        }
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(names.join(","))
                .with_time(at.as_millis().div_euclid(1000)),
        );
        Ok(())
    }

    /// Drops every edit of the open action (a no-op without one).
    pub fn abort_action(&mut self) {
        if self.action.take().is_some() {
            self.doc.rollback();
        }
    }

    /// Whether an action is open.
    pub fn in_action(&self) -> bool {
        self.action.is_some()
    }

    /// Marks the open action as failed and drops its edits (an edit refused
    /// before it wrote anything still fails the whole action). Bindings call
    /// it when an edit inside an action returned an error that their caller
    /// may catch; [`Document::action`] needs no such call.
    pub fn fail_action(&mut self) {
        if let Some(a) = self.action.as_mut() {
            a.failed = true;
            a.names.clear();
            self.doc.rollback();
        }
    }

    // ----- plumbing -----

    fn write<T>(
        &mut self,
        at: Timestamp,
        name: &'static str,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, AutomergeError>,
    ) -> Result<T, Error> {
        self.write_try(at, name, |doc| f(doc).map_err(Error::from))
    }

    /// Like [`Self::write`] for edits whose checks need the document as the
    /// edit's first operations leave it (after folding conflicts).
    fn write_try<T>(
        &mut self,
        at: Timestamp,
        name: &'static str,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some(action) = self.action.as_mut() {
            // Inside an action: the operations stay pending until the action
            // commits; a failure drops the whole action.
            if action.failed {
                return Err(Error::ActionFailed);
            }
            return match f(&mut self.doc) {
                Ok(v) => {
                    action.names.push(name);
                    Ok(v)
                }
                Err(e) => {
                    action.failed = true;
                    action.names.clear();
                    self.doc.rollback();
                    Err(e)
                }
            };
        }
        // Anything left pending by direct use of the inner document is committed
        // separately, so a rollback below only drops this edit's operations.
        self.doc.commit();
        match f(&mut self.doc) {
            Ok(v) => {
                self.doc.commit_with(
                    CommitOptions::default()
                        .with_message(name)
                        .with_time(at.as_millis().div_euclid(1000)),
                );
                Ok(v)
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    fn root_map(&self, key: &'static str) -> Result<ObjId, Error> {
        match get_map(&self.doc, &ROOT, key) {
            Got::Ok(o) => Ok(o),
            _ => Err(Error::InvalidDocument(match key {
                "observations" => "observations is not a map",
                "notes" => "notes is not a map",
                "participants" => "participants is not a map",
                "staff" => "staff is not a map",
                "categories" => "categories is not a map",
                "partners" => "partners is not a map",
                "severities" => "severities is not a map",
                "teams" => "teams is not a map",
                _ => "wijken is not a map",
            })),
        }
    }

    /// The items map of a walk (`observations`) or spreekuur (`notes`).
    fn items(&self) -> Result<(DocKind, ObjId), Error> {
        match self.kind()? {
            DocKind::Walk => Ok((DocKind::Walk, self.root_map("observations")?)),
            DocKind::Spreekuur => Ok((DocKind::Spreekuur, self.root_map("notes")?)),
            found @ DocKind::Catalog => Err(Error::WrongKind {
                expected: DocKind::Walk,
                found,
            }),
        }
    }

    fn item(&self, id: &ItemId) -> Result<(DocKind, ObjId), Error> {
        let (kind, items) = self.items()?;
        match get_map(&self.doc, &items, id.to_string().as_str()) {
            Got::Ok(o) => Ok((kind, o)),
            _ => Err(Error::ItemNotFound(*id)),
        }
    }

    fn is_deleted(&self, item: &ObjId) -> bool {
        !matches!(get_map(&self.doc, item, "deleted"), Got::Missing)
    }

    /// Whether `what` of the item was erased (`erased.<what>` present).
    fn is_erased(&self, item: &ObjId, what: EraseWhat) -> bool {
        match get_map(&self.doc, item, "erased") {
            Got::Ok(erased) => !matches!(get_map(&self.doc, &erased, what.as_str()), Got::Missing),
            _ => false,
        }
    }

    /// An item that exists, is not deleted and whose content was not erased.
    fn live_item(&self, id: &ItemId) -> Result<(DocKind, ObjId), Error> {
        let (kind, item) = self.item(id)?;
        if self.is_erased(&item, EraseWhat::Item) {
            return Err(Error::ItemErased(*id));
        }
        if self.is_deleted(&item) {
            return Err(Error::ItemDeleted(*id));
        }
        Ok((kind, item))
    }

    fn live_note(&self, id: &ItemId) -> Result<ObjId, Error> {
        self.need(DocKind::Spreekuur)?;
        Ok(self.live_item(id)?.1)
    }

    fn need(&self, expected: DocKind) -> Result<(), Error> {
        expect_kind(&self.doc, expected)
    }

    #[allow(clippy::too_many_arguments)]
    fn splice_checked(
        &mut self,
        at: Timestamp,
        name: &'static str,
        field: &'static str,
        text: Option<ObjId>,
        pos: usize,
        del: usize,
        insert: &str,
        also: impl FnOnce(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Result<(), Error> {
        let text = text.ok_or(Error::NotText(field))?;
        let len = self.doc.length(&text);
        if pos > len || del > len - pos {
            return Err(Error::TextOutOfRange { len });
        }
        let del = isize::try_from(del).map_err(|_| Error::TextOutOfRange { len })?;
        self.write(at, name, |d| {
            d.splice_text(&text, pos, del, insert)?;
            also(d)
        })
    }

    fn new_item(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewItem,
        kind: DocKind,
    ) -> Result<ItemId, Error> {
        self.need(kind)?;
        check_time(at)?;
        catalog.check_category(&init.category)?;
        if let Some(l) = &init.location {
            check_location(l)?;
        }
        let place = init
            .place
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let (_, items) = self.items()?;
        let id = init.id.unwrap_or_else(ItemId::new_v4);
        let key = id.to_string();
        if !matches!(get_map(&self.doc, &items, key.as_str()), Got::Missing) {
            return Err(Error::ItemExists(id));
        }
        let name = if kind == DocKind::Walk {
            "add_observation"
        } else {
            "add_note"
        };
        self.write(at, name, |d| {
            let item = d.put_object(&items, key.as_str(), ObjType::Map)?;
            d.put(&item, "created_at", ts(at))?;
            d.put(&item, "created_by", by.as_str())?;
            d.put(&item, "category", init.category.as_str())?;
            d.put(&item, "severity", init.severity.as_str())?;
            put_text(d, &item, "text", &init.text)?;
            if let Some(p) = place {
                d.put(&item, "place", p)?;
            }
            if let Some(l) = &init.location {
                put_location(d, &item, l)?;
            }
            d.put_object(&item, "photos", ObjType::List)?;
            d.put_object(&item, "follow_up", ObjType::Map)?;
            let fb = d.put_object(&item, "feedback", ObjType::Map)?;
            d.put(&fb, "needed", init.feedback_needed)?;
            Ok(())
        })?;
        Ok(id)
    }

    // ----- walk edits -----

    /// Adds an observation to a walk; returns its id.
    pub fn add_observation(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewItem,
    ) -> Result<ItemId, Error> {
        self.new_item(catalog, by, at, init, DocKind::Walk)
    }

    /// Records the start of a walk (`started_at = at`).
    pub fn start_walk(&mut self, _by: &UserId, at: Timestamp) -> Result<(), Error> {
        self.need(DocKind::Walk)?;
        check_time(at)?;
        if !matches!(get_timestamp(&self.doc, &ROOT, "started_at"), Got::Missing) {
            return Err(Error::WalkAlreadyStarted);
        }
        self.write(at, "start_walk", |d| d.put(ROOT, "started_at", ts(at)))
    }

    /// Records the end of a walk (`ended_at = at`); the walk must have started.
    pub fn end_walk(&mut self, _by: &UserId, at: Timestamp) -> Result<(), Error> {
        self.need(DocKind::Walk)?;
        check_time(at)?;
        if matches!(get_timestamp(&self.doc, &ROOT, "started_at"), Got::Missing) {
            return Err(Error::WalkNotStarted);
        }
        if !matches!(get_timestamp(&self.doc, &ROOT, "ended_at"), Got::Missing) {
            return Err(Error::WalkAlreadyEnded);
        }
        self.write(at, "end_walk", |d| d.put(ROOT, "ended_at", ts(at)))
    }

    /// Reopens an ended walk: removes `ended_at` and records who reopened it
    /// and when (`reopened_by`, `reopened_at`), in one change named
    /// `reopen_walk`. Every end and reopen stays in the change history.
    pub fn reopen_walk(&mut self, by: &UserId, at: Timestamp) -> Result<(), Error> {
        self.need(DocKind::Walk)?;
        check_time(at)?;
        if matches!(get_timestamp(&self.doc, &ROOT, "ended_at"), Got::Missing) {
            return Err(Error::WalkNotEnded);
        }
        self.write(at, "reopen_walk", |d| {
            d.delete(ROOT, "ended_at")?;
            d.put(ROOT, "reopened_at", ts(at))?;
            d.put(ROOT, "reopened_by", by.as_str())
        })
    }

    /// Adds a participant to a walk; returns its id.
    pub fn add_participant(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        init: NewParticipant,
    ) -> Result<ItemId, Error> {
        self.need(DocKind::Walk)?;
        non_empty("name", &init.name)?;
        let map = self.root_map("participants")?;
        let id = init.id.unwrap_or_else(ItemId::new_v4);
        let key = id.to_string();
        if !matches!(get_map(&self.doc, &map, key.as_str()), Got::Missing) {
            return Err(Error::ItemExists(id));
        }
        self.write(at, "add_participant", |d| {
            let p = d.put_object(&map, key.as_str(), ObjType::Map)?;
            d.put(&p, "name", init.name.trim())?;
            d.put(&p, "organisation", init.organisation.trim())?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Splices the walk's title, route or summary: deletes `del` units at `pos`, inserts `text`.
    pub fn splice_walk_text(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        field: WalkText,
        pos: usize,
        del: usize,
        text: &str,
    ) -> Result<(), Error> {
        self.need(DocKind::Walk)?;
        let obj = get_text_obj(&self.doc, &ROOT, field.key());
        self.splice_checked(
            at,
            "splice_walk_text",
            field.key(),
            obj,
            pos,
            del,
            text,
            |_| Ok(()),
        )
    }

    // ----- the walk's agenda (residents' points) -----

    /// The walk's `agenda` map, if it has one (`None`: no point was ever
    /// added); `invalid_document` when `agenda` is not a map.
    fn agenda(&self) -> Result<Option<ObjId>, Error> {
        match get_map(&self.doc, &ROOT, "agenda") {
            Got::Ok(o) => Ok(Some(o)),
            Got::Missing => Ok(None),
            Got::Invalid(_) => Err(Error::InvalidDocument("agenda is not a map")),
        }
    }

    /// The agenda entry of `point`, or `agenda_point_not_found`.
    fn agenda_entry(&self, point: i64) -> Result<ObjId, Error> {
        self.need(DocKind::Walk)?;
        let agenda = self.agenda()?.ok_or(Error::AgendaPointNotFound(point))?;
        match get_map(&self.doc, &agenda, point.to_string().as_str()) {
            Got::Ok(o) => Ok(o),
            _ => Err(Error::AgendaPointNotFound(point)),
        }
    }

    /// Puts a resident's point on the walk's agenda (`agenda.<point>`): its
    /// text (Text), category, place and location, who added it and when.
    /// Refused when the walk has ended (`walk_already_ended`) or the point is
    /// on it already (`agenda_point_exists`). The first point of a walk
    /// creates the `agenda` map in the same change.
    pub fn add_agenda_point(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewAgendaPoint,
    ) -> Result<(), Error> {
        self.need(DocKind::Walk)?;
        check_time(at)?;
        if init.point <= 0 {
            return Err(Error::InvalidPoint);
        }
        non_empty("text", &init.text)?;
        let text = init.text.trim();
        if text.chars().count() > MAX_AGENDA_TEXT_CHARS {
            return Err(Error::FieldTooLong("text"));
        }
        if let Some(c) = &init.category {
            catalog.check_category(c)?;
        }
        let place = init
            .place
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if let Some(p) = place
            && (p.chars().count() > MAX_AGENDA_PLACE_CHARS || p.chars().any(char::is_control))
        {
            return Err(Error::FieldTooLong("place"));
        }
        if let Some(l) = &init.location {
            check_location(l)?;
        }
        if !matches!(get_timestamp(&self.doc, &ROOT, "ended_at"), Got::Missing) {
            return Err(Error::WalkAlreadyEnded);
        }
        let agenda = self.agenda()?;
        let key = init.point.to_string();
        if let Some(a) = &agenda
            && !matches!(get_map(&self.doc, a, key.as_str()), Got::Missing)
        {
            return Err(Error::AgendaPointExists(init.point));
        }
        self.write(at, "add_agenda_point", |d| {
            let agenda = match agenda {
                Some(a) => a,
                None => d.put_object(ROOT, "agenda", ObjType::Map)?,
            };
            let e = d.put_object(&agenda, key.as_str(), ObjType::Map)?;
            put_text(d, &e, "text", text)?;
            if let Some(c) = &init.category {
                d.put(&e, "category", c.as_str())?;
            }
            if let Some(p) = place {
                d.put(&e, "place", p)?;
            }
            if let Some(l) = &init.location {
                put_location(d, &e, l)?;
            }
            d.put(&e, "added_at", ts(at))?;
            d.put(&e, "added_by", by.as_str())?;
            Ok(())
        })
    }

    /// Takes a point off the walk's agenda (it moved to another walk).
    pub fn remove_agenda_point(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        point: i64,
    ) -> Result<(), Error> {
        self.agenda_entry(point)?;
        let agenda = self.agenda()?.ok_or(Error::AgendaPointNotFound(point))?;
        self.write(at, "remove_agenda_point", |d| {
            d.delete(&agenda, point.to_string().as_str())
        })
    }

    /// Marks an agenda point as looked at: `looked_at = { at, by,
    /// observation? }`, written as a whole map (a second mark replaces the
    /// first). `observation` links the observation it led to; it must be an
    /// observation of this walk (`item_not_found`).
    pub fn mark_agenda_looked_at(
        &mut self,
        by: &UserId,
        at: Timestamp,
        point: i64,
        observation: Option<&ItemId>,
    ) -> Result<(), Error> {
        check_time(at)?;
        let entry = self.agenda_entry(point)?;
        if let Some(o) = observation {
            self.item(o)?;
        }
        self.write(at, "mark_agenda_looked_at", |d| {
            let l = d.put_object(&entry, "looked_at", ObjType::Map)?;
            d.put(&l, "at", ts(at))?;
            d.put(&l, "by", by.as_str())?;
            if let Some(o) = observation {
                d.put(&l, "observation", o.to_string().as_str())?;
            }
            Ok(())
        })
    }

    /// Removes the looked-at mark of an agenda point (the "bekeken" toggle
    /// switched off). A point that is not marked is left as it is.
    pub fn unmark_agenda_looked_at(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        point: i64,
    ) -> Result<(), Error> {
        let entry = self.agenda_entry(point)?;
        if matches!(get_map(&self.doc, &entry, "looked_at"), Got::Missing) {
            return Ok(());
        }
        self.write(at, "unmark_agenda_looked_at", |d| {
            d.delete(&entry, "looked_at")
        })
    }

    // ----- spreekuur edits -----

    /// Adds a note to a spreekuur session; returns its id.
    pub fn add_note(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        init: NewItem,
    ) -> Result<ItemId, Error> {
        self.new_item(catalog, by, at, init, DocKind::Spreekuur)
    }

    /// Adds a staff member (keyed by user id) to a spreekuur session.
    pub fn add_staff(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        user: &UserId,
        name: &str,
    ) -> Result<(), Error> {
        self.need(DocKind::Spreekuur)?;
        non_empty("name", name)?;
        let map = self.root_map("staff")?;
        if !matches!(get_map(&self.doc, &map, user.as_str()), Got::Missing) {
            return Err(Error::StaffExists);
        }
        self.write(at, "add_staff", |d| {
            let s = d.put_object(&map, user.as_str(), ObjType::Map)?;
            d.put(&s, "name", name.trim())?;
            Ok(())
        })
    }

    /// Records the resident's contact details on a note, or corrects them
    /// (the given values replace what is there; a field left out or empty is
    /// removed). Refused without consent. `consent_at` is set to `at`. The
    /// phone field is kept as typed and, when the rules of [`crate::contact`]
    /// derive one, its E.164 form is stored in `phone_e164` (removed when
    /// none can be derived).
    pub fn set_resident_contact(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        contact: ResidentContact,
    ) -> Result<(), Error> {
        let note = self.live_note(item)?;
        if self.is_erased(&note, EraseWhat::Contact) {
            return Err(Error::ItemErased(*item));
        }
        if !contact.consent {
            return Err(Error::ConsentRequired);
        }
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (name, phone, email) = (
            clean(&contact.name),
            clean(&contact.phone),
            clean(&contact.email),
        );
        if name.as_deref().is_some_and(|n| {
            n.chars().count() > MAX_CONTACT_CHARS || n.chars().any(char::is_control)
        }) {
            return Err(Error::InvalidName);
        }
        let phone_e164 = match &phone {
            Some(p) => check_phone(p)?.e164,
            None => None,
        };
        if let Some(e) = &email {
            check_email(e)?;
        }
        let existing = get_map(&self.doc, &note, "resident").ok();
        self.write(at, "set_resident_contact", |d| {
            let r = match existing {
                Some(_) => fold_into_winner(d, &note, "resident")?
                    .ok_or(AutomergeError::InvalidOp(ObjType::Map))?,
                None => d.put_object(&note, "resident", ObjType::Map)?,
            };
            // A concurrently created contact that lost keeps its differing
            // values (shown as conflicts); a field left out is removed from all.
            let losers: Vec<ObjId> = all_maps(d, &note, "resident").into_iter().skip(1).collect();
            for (key, value) in [
                ("name", &name),
                ("phone", &phone),
                ("phone_e164", &phone_e164),
                ("email", &email),
            ] {
                match value {
                    Some(v) => d.put(&r, key, v.as_str())?,
                    None => {
                        for o in std::iter::once(&r).chain(losers.iter()) {
                            if d.get(o, key)?.is_some() {
                                d.delete(o, key)?;
                            }
                        }
                    }
                }
            }
            d.put(&r, "consent", true)?;
            d.put(&r, "consent_at", ts(at))?;
            if d.get(&r, "consent_withdrawn_at")?.is_some() {
                d.delete(&r, "consent_withdrawn_at")?;
            }
            Ok(())
        })
    }

    /// Removes the resident's name, phone and e-mail from a note (retention);
    /// the consent record stays. Works on deleted notes too. Note that earlier
    /// values remain in the document history (see docs/data-model.md).
    pub fn clear_resident_contact(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
    ) -> Result<(), Error> {
        self.remove_contact(at, item, "clear_resident_contact", false)
    }

    /// The resident withdraws consent: name, phone and e-mail are removed
    /// from the note (from every concurrently created copy), `consent`
    /// becomes `false` and `consent_withdrawn_at` is `at`. Works on deleted
    /// notes too; a note without contact gets the withdrawal recorded.
    pub fn withdraw_resident_consent(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
    ) -> Result<(), Error> {
        self.remove_contact(at, item, "withdraw_resident_consent", true)
    }

    fn remove_contact(
        &mut self,
        at: Timestamp,
        item: &ItemId,
        name: &'static str,
        withdraw: bool,
    ) -> Result<(), Error> {
        self.need(DocKind::Spreekuur)?;
        let (_, note) = self.item(item)?;
        // Every concurrently created contact object, not only the one shown.
        let objects = all_maps(&self.doc, &note, "resident");
        if objects.is_empty() && !withdraw {
            return Ok(());
        }
        let keys: Vec<Vec<String>> = objects.iter().map(|r| map_keys(&self.doc, r)).collect();
        let exists = !objects.is_empty();
        self.write(at, name, |d| {
            for (r, keys) in objects.iter().zip(&keys) {
                for key in CONTACT_FIELDS {
                    if keys.iter().any(|k| k == key) {
                        d.delete(r, key)?;
                    }
                }
            }
            if withdraw {
                let r = if exists {
                    fold_into_winner(d, &note, "resident")?
                        .ok_or(AutomergeError::InvalidOp(ObjType::Map))?
                } else {
                    d.put_object(&note, "resident", ObjType::Map)?
                };
                d.put(&r, "consent", false)?;
                d.put(&r, "consent_withdrawn_at", ts(at))?;
            }
            Ok(())
        })
    }

    /// Records that the resident asked to be called back: a call-back task
    /// with a due date (given, or the request time plus the note category's
    /// term in working days) and an assignee (given, or the team). On a note
    /// that already has a request only `requested` is set again and the given
    /// due date / assignee are written; a closed task stays closed.
    pub fn request_callback(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        request: CallbackRequest,
    ) -> Result<(), Error> {
        let note = self.live_note(item)?;
        check_time(at)?;
        if let Some(d) = request.due_at {
            check_time(d)?;
        }
        let category = get_str(&self.doc, &note, "category")
            .ok()
            .unwrap_or_default();
        let default_due = add_working_days(at, catalog.callback_days(&category));
        let existing = self.callback_map(&note)?;
        self.write(at, "request_callback", |d| {
            let c = match existing {
                Some(_) => {
                    fold_callback(d, &note)?.ok_or(AutomergeError::InvalidOp(ObjType::Map))?
                }
                None => d.put_object(&note, "callback", ObjType::Map)?,
            };
            d.put(&c, "requested", true)?;
            if d.get(&c, "requested_at")?.is_none() {
                d.put(&c, "requested_at", ts(at))?;
                d.put(&c, "requested_by", by.as_str())?;
            }
            match request.due_at {
                Some(due) => d.put(&c, "due_at", ts(due))?,
                None if d.get(&c, "due_at")?.is_none() => d.put(&c, "due_at", ts(default_due))?,
                None => {}
            }
            if let Some(a) = &request.assignee {
                d.put(&c, "assignee", a.as_str())?;
            }
            if d.get(&c, "attempts")?.is_none() {
                // Created with the request, so that attempts logged later on
                // several devices land in one map (different keys: all kept).
                d.put_object(&c, "attempts", ObjType::Map)?;
            }
            Ok(())
        })
    }

    /// The call-back task of a note, folded, for an edit that needs it open.
    fn open_callback(d: &mut AutoCommit, note: &ObjId) -> Result<ObjId, Error> {
        let c = match fold_callback(d, note)? {
            Some(c) if get_bool(d, &c, "requested") == Got::Ok(true) => c,
            _ => return Err(Error::CallbackNotRequested),
        };
        if !matches!(get_timestamp(d, &c, "done_at"), Got::Missing) {
            return Err(Error::CallbackClosed);
        }
        Ok(c)
    }

    /// Sets the due date of an open call-back task.
    pub fn set_callback_due(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        due_at: Timestamp,
    ) -> Result<(), Error> {
        let note = self.live_note(item)?;
        check_time(due_at)?;
        self.write_try(at, "set_callback_due", |d| {
            let c = Self::open_callback(d, &note)?;
            d.put(&c, "due_at", ts(due_at))?;
            Ok(())
        })
    }

    /// Assigns an open call-back task to a user, or with `None` to the team.
    pub fn assign_callback(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        assignee: Option<&UserId>,
    ) -> Result<(), Error> {
        let note = self.live_note(item)?;
        self.write_try(at, "assign_callback", |d| {
            let c = Self::open_callback(d, &note)?;
            match assignee {
                Some(a) => d.put(&c, "assignee", a.as_str())?,
                None => {
                    if d.get(&c, "assignee")?.is_some() {
                        d.delete(&c, "assignee")?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Logs one attempt to call the resident back (when, by whom, outcome,
    /// an optional remark); returns the attempt's id. Attempts are a map keyed
    /// by id: attempts logged on several devices at once are all kept.
    pub fn log_callback_attempt(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        attempt: NewAttempt,
    ) -> Result<ItemId, Error> {
        let note = self.live_note(item)?;
        check_time(at)?;
        let called_at = attempt.called_at.unwrap_or(at);
        check_time(called_at)?;
        let id = attempt.id.unwrap_or_else(ItemId::new_v4);
        let key = id.to_string();
        let remark = attempt
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        self.write_try(at, "log_callback_attempt", |d| {
            let c = Self::open_callback(d, &note)?;
            let attempts = match get_map(d, &c, "attempts") {
                Got::Ok(m) => fold_attempts(d, &c)?.unwrap_or(m),
                Got::Missing => d.put_object(&c, "attempts", ObjType::Map)?,
                Got::Invalid(_) => {
                    return Err(Error::InvalidDocument("callback.attempts is not a map"));
                }
            };
            if d.get(&attempts, key.as_str())?.is_some() {
                return Err(Error::ItemExists(id));
            }
            let a = d.put_object(&attempts, key.as_str(), ObjType::Map)?;
            d.put(&a, "at", ts(called_at))?;
            d.put(&a, "by", by.as_str())?;
            d.put(&a, "outcome", attempt.outcome.as_str())?;
            if let Some(n) = &remark {
                put_text(d, &a, "note", n)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Closes the call-back task: `done_at = at`, `by`, and the outcome.
    pub fn close_callback(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        outcome: Option<CallbackOutcome>,
    ) -> Result<(), Error> {
        let note = self.live_note(item)?;
        self.write_try(at, "close_callback", |d| {
            // Fold a concurrently created request first: its fields count too.
            let c = match fold_callback(d, &note)? {
                Some(c) if get_bool(d, &c, "requested") == Got::Ok(true) => c,
                _ => return Err(Error::CallbackNotRequested),
            };
            if !matches!(get_timestamp(d, &c, "done_at"), Got::Missing) {
                return Err(Error::CallbackAlreadyDone);
            }
            d.put(&c, "done_at", ts(at))?;
            d.put(&c, "by", by.as_str())?;
            if let Some(o) = outcome {
                d.put(&c, "outcome", o.as_str())?;
            }
            Ok(())
        })
    }

    /// Marks the call back as done by `by` at `at` (a close without outcome).
    pub fn complete_callback(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
    ) -> Result<(), Error> {
        self.close_callback(by, at, item, None)
    }

    fn callback_map(&self, note: &ObjId) -> Result<Option<ObjId>, Error> {
        match get_map(&self.doc, note, "callback") {
            Got::Ok(c) => Ok(Some(c)),
            Got::Missing => Ok(None),
            Got::Invalid(_) => Err(Error::InvalidDocument("callback is not a map")),
        }
    }

    // ----- item edits (observations and notes) -----

    /// Splices an item's text: deletes `del` units at `pos`, inserts `text`.
    pub fn splice_text(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        pos: usize,
        del: usize,
        text: &str,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let t = get_text_obj(&self.doc, &obj, "text");
        self.splice_checked(at, "splice_text", "text", t, pos, del, text, |_| Ok(()))
    }

    /// Sets an item's category (must be active in the catalog).
    pub fn set_category(
        &mut self,
        catalog: &Catalog,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        category: &str,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        catalog.check_category(category)?;
        self.write(at, "set_category", |d| d.put(&obj, "category", category))
    }

    /// Sets an item's severity.
    pub fn set_severity(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        severity: Severity,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        self.write(at, "set_severity", |d| {
            d.put(&obj, "severity", severity.as_str())
        })
    }

    /// Sets (or with `None` removes) an item's GPS location.
    pub fn set_location(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        location: Option<Location>,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        if let Some(l) = &location {
            check_location(l)?;
        }
        self.write(at, "set_location", |d| match &location {
            Some(l) => put_location(d, &obj, l),
            None => d.delete(&obj, "location"),
        })
    }

    /// Sets (or with `None` removes) the nearest address of an item's
    /// position, with the position it was looked up for (see
    /// [`crate::Address`]). The label is trimmed and must be 1 to 200
    /// characters without control characters.
    pub fn set_address(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        address: Option<Address>,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let address = match address {
            Some(a) => Some(check_address(a)?),
            None => None,
        };
        self.write(at, "set_address", |d| match &address {
            Some(a) => {
                let m = d.put_object(&obj, "address", ObjType::Map)?;
                d.put(&m, "label", a.label.as_str())?;
                d.put(&m, "lat", a.lat)?;
                d.put(&m, "lon", a.lon)
            }
            None => d.delete(&obj, "address"),
        })
    }

    /// Sets (or with `None` or an empty string removes) an item's place.
    pub fn set_place(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        place: Option<&str>,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let place = place.map(str::trim).filter(|p| !p.is_empty());
        self.write(at, "set_place", |d| match place {
            Some(p) => d.put(&obj, "place", p),
            None => d.delete(&obj, "place"),
        })
    }

    /// Appends a photo reference (`sha256:<64 hex>`); a reference already present is not added twice.
    pub fn add_photo(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        photo: &str,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        check_photo(photo)?;
        let list = get_map_or_list_photos(&self.doc, &obj)?;
        if let Some(list) = &list {
            let present = (0..self.doc.length(list))
                .any(|i| crate::read::get_str(&self.doc, list, i).ok().as_deref() == Some(photo));
            if present {
                return Ok(());
            }
        }
        self.write(at, "add_photo", |d| {
            let list = match list {
                Some(l) => l,
                None => d.put_object(&obj, "photos", ObjType::List)?,
            };
            let end = d.length(&list);
            d.insert(&list, end, photo)
        })
    }

    /// Erases a resident's contact details (`Contact`, notes only) or an
    /// item's content (`Item`) from the current state, and records the
    /// erasure in the item as `erased.<what>: { at, by, basis }`. Works on
    /// deleted items. Only the current state: the history still holds the
    /// values until it is rewritten ([`crate::erase::rewrite_history`]).
    /// Idempotent: values already gone are not touched again, and a second
    /// erasure of the same kind only writes what is still visible.
    pub fn erase(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        what: EraseWhat,
        basis: EraseBasis,
    ) -> Result<(), Error> {
        check_time(at)?;
        let (kind, obj) = self.item(item)?;
        if what == EraseWhat::Contact && kind != DocKind::Spreekuur {
            return Err(Error::WrongKind {
                expected: DocKind::Spreekuur,
                found: kind,
            });
        }
        let recorded = self.is_erased(&obj, what);
        let name = match what {
            EraseWhat::Contact => "erase_contact",
            EraseWhat::Item => "erase_item",
        };
        self.write(at, name, |d| {
            clean_erased(d, &obj, &mut Vec::new(), what)?;
            if !recorded {
                let erased = match get_map(d, &obj, "erased") {
                    Got::Ok(m) => m,
                    _ => d.put_object(&obj, "erased", ObjType::Map)?,
                };
                let e = d.put_object(&erased, what.as_str(), ObjType::Map)?;
                d.put(&e, "at", ts(at))?;
                d.put(&e, "by", by.as_str())?;
                d.put(&e, "basis", basis.as_str())?;
            }
            Ok(())
        })
    }

    /// Replaces this replica's history by `rewritten` (the `save()` bytes of
    /// the same document after the server rewrote its history to erase
    /// data, see [`crate::erase`]) and carries this replica's changes that
    /// the new history does not have over to it
    /// ([`crate::erase::rebase_changes`]: matched by actor and sequence
    /// number, so changes the server already had are skipped). Values those
    /// changes wrote into erased fields are dropped, and the erasure is run
    /// again (by `by` at `at`) for each item they touched, so nothing erased
    /// shows. The actor id stays. Returns what was carried over; on an
    /// error nothing changed.
    pub fn replace_history(
        &mut self,
        rewritten: &[u8],
        by: &UserId,
        at: Timestamp,
    ) -> Result<HistoryReplaced, Error> {
        if self.action.is_some() {
            return Err(Error::ActionOpen);
        }
        let actor = self.doc.get_actor().clone();
        let mut new = Document::load(self.id, rewritten)?;
        let old = self.doc.document().clone();
        let mine = old.get_changes(&[]);
        let rebased =
            crate::erase::rebase_changes(&old, &mine, new.doc.document()).map_err(|e| match e {
                crate::erase::RewriteError::Apply(e) => Error::InvalidChange(Box::new(e)),
                _ => {
                    Error::InvalidDocument("the rewritten history does not continue this document")
                }
            })?;
        let carried = rebased.changes.len();
        new.doc
            .apply_changes(rebased.changes)
            .map_err(|e| Error::InvalidChange(Box::new(e)))?;
        new.doc.set_actor(actor);
        let targets = crate::erase::targets_of(new.doc.document());
        for t in &targets {
            if !rebased.dropped_on.contains(&t.item) {
                continue;
            }
            let item = ItemId::parse(&t.item)?;
            new.erase(by, at, &item, t.what, EraseBasis::Verzoek)?;
        }
        self.doc = new.doc;
        Ok(HistoryReplaced {
            carried,
            already_there: rebased.already_there,
            dropped_on: rebased.dropped_on,
        })
    }

    /// Deletes an item: writes the tombstone `deleted: {at, by}`; all content stays.
    pub fn delete_item(&mut self, by: &UserId, at: Timestamp, item: &ItemId) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        self.write(at, "delete_item", |d| {
            let t = d.put_object(&obj, "deleted", ObjType::Map)?;
            d.put(&t, "at", ts(at))?;
            d.put(&t, "by", by.as_str())
        })
    }

    /// Removes the tombstone of a deleted item.
    pub fn undelete_item(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
    ) -> Result<(), Error> {
        let (_, obj) = self.item(item)?;
        if !self.is_deleted(&obj) {
            return Err(Error::NotDeleted(*item));
        }
        self.write(at, "undelete_item", |d| d.delete(&obj, "deleted"))
    }

    /// Sets a partner's follow-up status (and, when `note` is given, replaces
    /// its note text by a minimal diff). A new entry needs an active partner;
    /// an existing entry of a since-retired partner can still be updated.
    #[allow(clippy::too_many_arguments)]
    pub fn set_follow_up(
        &mut self,
        catalog: &Catalog,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        partner: &str,
        status: FollowUpStatus,
        note: Option<&str>,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let fu = match get_map(&self.doc, &obj, "follow_up") {
            Got::Ok(fu) => Some(fu),
            Got::Missing => None,
            Got::Invalid(_) => return Err(Error::InvalidDocument("follow_up is not a map")),
        };
        let existing = fu
            .as_ref()
            .and_then(|fu| get_map(&self.doc, fu, partner).ok());
        match &existing {
            Some(_) if catalog.partners.contains_key(partner) => {}
            _ => catalog.check_partner(partner)?,
        }
        self.write(at, "set_follow_up", |d| {
            let fu = match fu {
                Some(fu) => fu,
                None => d.put_object(&obj, "follow_up", ObjType::Map)?,
            };
            let entry = match existing {
                Some(_) => fold_into_winner(d, &fu, partner)?
                    .ok_or(AutomergeError::InvalidOp(ObjType::Map))?,
                None => d.put_object(&fu, partner, ObjType::Map)?,
            };
            let existing_note = get_text_obj(d, &entry, "note");
            d.put(&entry, "status", status.as_str())?;
            match (existing_note, note) {
                (Some(t), Some(n)) => d.update_text(&t, n)?,
                (Some(_), None) => {}
                (None, n) => {
                    put_text(d, &entry, "note", n.unwrap_or(""))?;
                }
            }
            d.put(&entry, "updated_at", ts(at))?;
            d.put(&entry, "updated_by", by.as_str())
        })
    }

    /// Splices the note of an existing follow-up entry (and stamps `updated_at`/`updated_by`).
    #[allow(clippy::too_many_arguments)]
    pub fn splice_follow_up_note(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        partner: &str,
        pos: usize,
        del: usize,
        text: &str,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let entry = get_map(&self.doc, &obj, "follow_up")
            .ok()
            .and_then(|fu| get_map(&self.doc, &fu, partner).ok())
            .ok_or_else(|| Error::NotInCatalog {
                section: CatalogSection::Partner,
                id: partner.to_owned(),
            })?;
        let fu = get_map(&self.doc, &obj, "follow_up").ok();
        self.write_try(at, "splice_follow_up_note", |d| {
            // Positions count in the note as read, which includes the text of a
            // concurrently created entry: fold that in first.
            let entry = match &fu {
                Some(fu) => fold_into_winner(d, fu, partner)?.unwrap_or(entry),
                None => entry,
            };
            let t = get_text_obj(d, &entry, "note").ok_or(Error::NotText("note"))?;
            let len = d.length(&t);
            if pos > len || del > len - pos {
                return Err(Error::TextOutOfRange { len });
            }
            let del = isize::try_from(del).map_err(|_| Error::TextOutOfRange { len })?;
            d.splice_text(&t, pos, del, text)?;
            d.put(&entry, "updated_at", ts(at))?;
            d.put(&entry, "updated_by", by.as_str())?;
            Ok(())
        })
    }

    /// Sets whether the resident must hear back.
    pub fn set_feedback_needed(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        item: &ItemId,
        needed: bool,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        let fb = self.feedback_map(&obj)?;
        self.write(at, "set_feedback_needed", |d| {
            let fb = match fb {
                Some(fb) => fold_into_winner(d, &obj, "feedback")?.unwrap_or(fb),
                None => d.put_object(&obj, "feedback", ObjType::Map)?,
            };
            d.put(&fb, "needed", needed)
        })
    }

    /// Records that the resident was told what happened: when (`given_at`),
    /// how (`channel`) and by whom (`by`). Also sets `needed` to true.
    pub fn record_feedback_given(
        &mut self,
        by: &UserId,
        at: Timestamp,
        item: &ItemId,
        channel: FeedbackChannel,
        given_at: Timestamp,
    ) -> Result<(), Error> {
        let (_, obj) = self.live_item(item)?;
        check_time(given_at)?;
        let fb = self.feedback_map(&obj)?;
        self.write(at, "record_feedback_given", |d| {
            let fb = match fb {
                Some(fb) => fold_into_winner(d, &obj, "feedback")?.unwrap_or(fb),
                None => d.put_object(&obj, "feedback", ObjType::Map)?,
            };
            d.put(&fb, "needed", true)?;
            d.put(&fb, "given_at", ts(given_at))?;
            d.put(&fb, "channel", channel.as_str())?;
            d.put(&fb, "by", by.as_str())
        })
    }

    fn feedback_map(&self, obj: &ObjId) -> Result<Option<ObjId>, Error> {
        match get_map(&self.doc, obj, "feedback") {
            Got::Ok(fb) => Ok(Some(fb)),
            Got::Missing => Ok(None),
            Got::Invalid(_) => Err(Error::InvalidDocument("feedback is not a map")),
        }
    }

    // ----- catalog edits -----

    fn catalog_entry(&self, section: CatalogSection, id: &str) -> Result<ObjId, Error> {
        self.need(DocKind::Catalog)?;
        if section == CatalogSection::Team
            && matches!(get_map(&self.doc, &ROOT, "teams"), Got::Missing)
        {
            return Err(Error::NotInCatalog {
                section,
                id: id.to_owned(),
            });
        }
        let map = self.root_map(section_key(section))?;
        get_map(&self.doc, &map, id)
            .ok()
            .ok_or_else(|| Error::NotInCatalog {
                section,
                id: id.to_owned(),
            })
    }

    fn add_entry(
        &mut self,
        at: Timestamp,
        name: &'static str,
        section: CatalogSection,
        id: &str,
        label: &str,
        fill: impl FnOnce(&mut AutoCommit, &ObjId) -> Result<(), AutomergeError>,
    ) -> Result<(), Error> {
        self.need(DocKind::Catalog)?;
        let valid = if section == CatalogSection::Team {
            is_team_id(id)
        } else {
            is_slug(id)
        };
        if !valid {
            return Err(Error::InvalidSlug);
        }
        non_empty("label", label)?;
        let map = self.root_map(section_key(section))?;
        if !matches!(get_map(&self.doc, &map, id), Got::Missing) {
            return Err(Error::CatalogEntryExists {
                section,
                id: id.to_owned(),
            });
        }
        let order = map_keys(&self.doc, &map)
            .iter()
            .filter_map(|k| get_map(&self.doc, &map, k.as_str()).ok())
            .filter_map(|e| get_int(&self.doc, &e, "order").ok())
            .max()
            .map_or(0, |m| m + 1);
        self.write(at, name, |d| {
            let e = d.put_object(&map, id, ObjType::Map)?;
            d.put(&e, "label", label.trim())?;
            d.put(&e, "order", order)?;
            d.put(&e, "retired", false)?;
            fill(d, &e)
        })
    }

    fn rename_entry(
        &mut self,
        at: Timestamp,
        name: &'static str,
        section: CatalogSection,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        let e = self.catalog_entry(section, id)?;
        non_empty("label", label)?;
        self.write(at, name, |d| d.put(&e, "label", label.trim()))
    }

    fn retire_entry(
        &mut self,
        at: Timestamp,
        name: &'static str,
        section: CatalogSection,
        id: &str,
    ) -> Result<(), Error> {
        let e = self.catalog_entry(section, id)?;
        if get_bool(&self.doc, &e, "retired") == Got::Ok(true) {
            return Err(Error::Retired {
                section,
                id: id.to_owned(),
            });
        }
        self.write(at, name, |d| d.put(&e, "retired", true))
    }

    /// Adds a category (new id, `#rrggbb` colour); it sorts last.
    pub fn add_category(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        category: NewCategory,
    ) -> Result<(), Error> {
        if !is_color(&category.color) {
            return Err(Error::InvalidColor);
        }
        let (color, positive) = (category.color.clone(), category.positive);
        self.add_entry(
            at,
            "add_category",
            CatalogSection::Category,
            &category.id,
            &category.label,
            |d, e| {
                d.put(e, "color", color.as_str())?;
                d.put(e, "positive", positive)
            },
        )
    }

    /// Changes a category's label.
    pub fn rename_category(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.rename_entry(at, "rename_category", CatalogSection::Category, id, label)
    }

    /// Changes a category's colour (`#rrggbb`).
    pub fn set_category_color(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        color: &str,
    ) -> Result<(), Error> {
        let e = self.catalog_entry(CatalogSection::Category, id)?;
        if !is_color(color) {
            return Err(Error::InvalidColor);
        }
        self.write(at, "set_category_color", |d| d.put(&e, "color", color))
    }

    /// Sets a category's call-back term (1..=60 working days).
    pub fn set_category_callback_days(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        days: u32,
    ) -> Result<(), Error> {
        let e = self.catalog_entry(CatalogSection::Category, id)?;
        if !(1..=MAX_CALLBACK_DAYS).contains(&days) {
            return Err(Error::InvalidCallbackDays);
        }
        self.write(at, "set_category_callback_days", |d| {
            d.put(&e, "callback_days", i64::from(days))
        })
    }

    /// Retires a category: existing items keep it, new edits refuse it.
    pub fn retire_category(&mut self, _by: &UserId, at: Timestamp, id: &str) -> Result<(), Error> {
        self.retire_entry(at, "retire_category", CatalogSection::Category, id)
    }

    /// Adds a follow-up partner.
    pub fn add_partner(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.add_entry(
            at,
            "add_partner",
            CatalogSection::Partner,
            id,
            label,
            |_, _| Ok(()),
        )
    }

    /// Changes a partner's label.
    pub fn rename_partner(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.rename_entry(at, "rename_partner", CatalogSection::Partner, id, label)
    }

    /// Retires a partner.
    pub fn retire_partner(&mut self, _by: &UserId, at: Timestamp, id: &str) -> Result<(), Error> {
        self.retire_entry(at, "retire_partner", CatalogSection::Partner, id)
    }

    /// Sets a partner's contact fields (e-mail, phone, contact person); a
    /// field that is absent or blank is removed. The e-mail address follows
    /// the same rule as a resident's; phone and contact person are free text
    /// of at most [`MAX_PARTNER_FIELD_CHARS`] characters.
    pub fn set_partner_contact(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        contact: &PartnerContact,
    ) -> Result<(), Error> {
        let e = self.catalog_entry(CatalogSection::Partner, id)?;
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (email, phone, person) = (
            clean(&contact.email),
            clean(&contact.phone),
            clean(&contact.contact),
        );
        if let Some(m) = &email {
            check_email(m)?;
        }
        for (field, v) in [("phone", &phone), ("contact", &person)] {
            if v.as_ref().is_some_and(|v| {
                v.chars().count() > MAX_PARTNER_FIELD_CHARS || v.chars().any(char::is_control)
            }) {
                return Err(Error::FieldTooLong(field));
            }
        }
        let keys = map_keys(&self.doc, &e);
        self.write(at, "set_partner_contact", |d| {
            for (key, value) in [("email", &email), ("phone", &phone), ("contact", &person)] {
                match value {
                    Some(v) => d.put(&e, key, v.as_str())?,
                    None if keys.iter().any(|k| k == key) => d.delete(&e, key)?,
                    None => {}
                }
            }
            Ok(())
        })
    }

    /// Adds a wijk, with an optional bounding box `[minLon, minLat, maxLon, maxLat]`.
    pub fn add_wijk(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
        bbox: Option<[f64; 4]>,
    ) -> Result<(), Error> {
        if let Some(b) = &bbox {
            check_bbox(b)?;
        }
        self.add_entry(at, "add_wijk", CatalogSection::Wijk, id, label, |d, e| {
            if let Some(b) = bbox {
                let list = d.put_object(e, "bbox", ObjType::List)?;
                for (i, v) in b.into_iter().enumerate() {
                    d.insert(&list, i, v)?;
                }
            }
            Ok(())
        })
    }

    /// Changes a wijk's label.
    pub fn rename_wijk(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.rename_entry(at, "rename_wijk", CatalogSection::Wijk, id, label)
    }

    /// Retires a wijk.
    pub fn retire_wijk(&mut self, _by: &UserId, at: Timestamp, id: &str) -> Result<(), Error> {
        self.retire_entry(at, "retire_wijk", CatalogSection::Wijk, id)
    }

    /// Sets the English label of a category, severity or partner; a blank
    /// label removes it (the app then shows the Dutch one). Other sections
    /// have names rather than words and carry no English label.
    pub fn set_label_en(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        section: CatalogSection,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        if !matches!(
            section,
            CatalogSection::Category | CatalogSection::Severity | CatalogSection::Partner
        ) {
            return Err(Error::InvalidDocument(
                "only categories, severities and partners have English labels",
            ));
        }
        let e = self.catalog_entry(section, id)?;
        let label = label.trim();
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(Error::FieldTooLong("label_en"));
        }
        let has = map_keys(&self.doc, &e).iter().any(|k| k == "label_en");
        self.write(at, "set_label_en", |d| {
            if label.is_empty() {
                if has {
                    d.delete(&e, "label_en")?;
                }
                Ok(())
            } else {
                d.put(&e, "label_en", label)
            }
        })
    }

    /// Adds a team (slug id such as `team-oost`, label `Team Oost`); it sorts
    /// last. A catalog made before teams were kept gets its `teams` map here.
    pub fn add_team(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.need(DocKind::Catalog)?;
        match get_map(&self.doc, &ROOT, "teams") {
            Got::Ok(_) => {}
            Got::Missing => {
                if !is_team_id(id) {
                    return Err(Error::InvalidSlug);
                }
                non_empty("label", label)?;
                let label = label.trim().to_owned();
                return self.write(at, "add_team", |d| {
                    let teams = d.put_object(ROOT, "teams", ObjType::Map)?;
                    let e = d.put_object(&teams, id, ObjType::Map)?;
                    d.put(&e, "label", label.as_str())?;
                    d.put(&e, "order", 0i64)?;
                    d.put(&e, "retired", false)
                });
            }
            Got::Invalid(_) => return Err(Error::InvalidDocument("teams is not a map")),
        }
        self.add_entry(at, "add_team", CatalogSection::Team, id, label, |_, _| {
            Ok(())
        })
    }

    /// Changes a team's label (its id, which accounts and documents hold, stays).
    pub fn rename_team(
        &mut self,
        _by: &UserId,
        at: Timestamp,
        id: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.rename_entry(at, "rename_team", CatalogSection::Team, id, label)
    }

    /// Retires a team: its accounts and documents keep it, it is no longer offered.
    pub fn retire_team(&mut self, _by: &UserId, at: Timestamp, id: &str) -> Result<(), Error> {
        self.retire_entry(at, "retire_team", CatalogSection::Team, id)
    }
}

fn get_map_or_list_photos(doc: &AutoCommit, item: &ObjId) -> Result<Option<ObjId>, Error> {
    match crate::read::get_list(doc, item, "photos") {
        Got::Ok(l) => Ok(Some(l)),
        Got::Missing => Ok(None),
        Got::Invalid(_) => Err(Error::InvalidDocument("photos is not a list")),
    }
}
