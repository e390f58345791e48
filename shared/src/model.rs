//! Typed read models of the three document kinds.
//!
//! Reading never fails on content: every field that is missing (where the
//! contract requires it) or malformed is `None` in the model and recorded in
//! the model's `invalid` map as `path -> reason`. Items whose value is not a map
//! still appear (with every field `None` and `invalid["item"]` set). Unknown
//! extra fields are ignored here and stay untouched in the document.
//! The only errors are about the document as a whole: no root `kind`, or a
//! kind other than the one asked for.

use std::collections::BTreeMap;

use automerge::hydrate;
use automerge::{ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::conflict::{Conflicts, merge_items};
use crate::error::{CatalogSection, Error};
use crate::ids::{
    AttemptOutcome, CallbackOutcome, DocKind, FeedbackChannel, FollowUpStatus, Severity,
};
use crate::read::{Fields, Got, get_str, h};
use crate::snapshot::{self, Shape};

/// The fields of the document that `shape` names, as one hydrated tree (one
/// pass; much faster than a `get` per field when every field is read). Never
/// recurses over the document's own nesting (see [`crate::snapshot`]).
fn hydrate_root(doc: &impl ReadDoc, shape: Shape) -> Result<hydrate::Map, Error> {
    Ok(snapshot::read_map(doc, &ROOT, shape))
}

/// `path -> reason` for every field that could not be read as the contract says.
#[cfg_attr(feature = "ts", tsify::declare)]
pub type InvalidFields = BTreeMap<String, String>;

/// A GPS position. In documents: a map `{ lat: f64, lon: f64, accuracy_m: f64 }`.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Accuracy radius in metres (`null` when the document has none).
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

/// The nearest address of an item's position, as an address service named
/// it. In documents: a map `{ label: str, lat: f64, lon: f64 }`, where
/// `lat`/`lon` are the item's position the address was looked up for; when
/// the position changes since, the address no longer describes it (the
/// projection's `address` is then empty until it is looked up again).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// How people write it: `Stationsplein 1, 3818LE Amersfoort`.
    pub label: String,
    /// Latitude of the position it was looked up for.
    pub lat: f64,
    /// Longitude of the position it was looked up for.
    pub lon: f64,
}

impl Address {
    /// Whether this address was looked up for `location` (the same position
    /// to a millionth of a degree, about 0.1 m).
    pub fn describes(&self, location: &Location) -> bool {
        (self.lat - location.lat).abs() < 1e-6 && (self.lon - location.lon).abs() < 1e-6
    }
}

/// One partner's follow-up of an item (`follow_up.<partner>`).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUp {
    /// Status.
    pub status: Option<FollowUpStatus>,
    /// Free text note.
    pub note: Option<String>,
    /// When the status or note was last set (ms).
    pub updated_at: Option<i64>,
    /// Who last set it (user id).
    pub updated_by: Option<String>,
}

/// Whether the person who raised the item must hear back, and whether they did.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Feedback {
    /// Feedback to the resident is needed (absent in the document reads as `false`).
    pub needed: Option<bool>,
    /// When feedback was given (ms).
    pub given_at: Option<i64>,
    /// How.
    pub channel: Option<FeedbackChannel>,
    /// Who gave it (user id).
    pub by: Option<String>,
}

/// The tombstone of a deleted item.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deleted {
    /// When (ms).
    pub at: Option<i64>,
    /// Who (user id).
    pub by: Option<String>,
}

/// One recorded erasure of an item (`erased.contact` / `erased.item`).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erasure {
    /// When (ms).
    pub at: Option<i64>,
    /// Who (user id).
    pub by: Option<String>,
    /// `verzoek` (on request), `anders` (another reason, in the audit log)
    /// or `bewaartermijn` (retention period passed).
    pub basis: Option<String>,
}

/// What of an item was erased (see `docs/privacy.md`).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Erased {
    /// The resident's contact details were erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Erasure>,
    /// The item's content was erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Erasure>,
}

/// A resident's contact details on a spreekuur note (personal data).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resident {
    /// Name.
    pub name: Option<String>,
    /// Phone number(s), as typed (a second number or a short remark included).
    pub phone: Option<String>,
    /// The E.164 form of each number in `phone` that has one, joined by a
    /// space (`"+31355251234 +31612345678"`); absent in documents written
    /// before it existed and when none can be derived (left out of the JSON
    /// then, so rows of such notes look as before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_e164: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// The resident consented to being contacted (`false` after a withdrawal).
    pub consent: Option<bool>,
    /// When consent was recorded (ms).
    pub consent_at: Option<i64>,
    /// When the resident withdrew consent (ms); absent unless withdrawn
    /// (left out of the JSON then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_withdrawn_at: Option<i64>,
}

/// One attempt to call the resident back (`callback.attempts.<uuid>`).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// When the call was made (ms).
    pub at: Option<i64>,
    /// Who called (user id).
    pub by: Option<String>,
    /// What came of it.
    pub outcome: Option<AttemptOutcome>,
    /// A short remark ("belt na 17 uur terug").
    pub note: Option<String>,
}

/// A call-back task on a spreekuur note: the resident asked to be called back.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback {
    /// A call back was requested.
    pub requested: Option<bool>,
    /// When it was requested (ms).
    pub requested_at: Option<i64>,
    /// Who recorded the request (user id).
    pub requested_by: Option<String>,
    /// When the call back is due (ms).
    pub due_at: Option<i64>,
    /// Who calls back: a user id; `None` means the session's team.
    pub assignee: Option<String>,
    /// The attempts, by attempt id.
    pub attempts: BTreeMap<String, Attempt>,
    /// When the task was closed (ms).
    pub done_at: Option<i64>,
    /// Who closed it (user id).
    pub by: Option<String>,
    /// How it was closed (absent for tasks closed without an outcome).
    pub outcome: Option<CallbackOutcome>,
}

impl Callback {
    /// Requested and not closed.
    pub fn is_open(&self) -> bool {
        self.requested == Some(true) && self.done_at.is_none()
    }
}

/// An observation (walk) or a note (spreekuur).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The item's key in its map (normally a UUID).
    pub id: String,
    /// When it was created (ms).
    pub created_at: Option<i64>,
    /// Who created it (user id).
    pub created_by: Option<String>,
    /// Category id (not checked against the catalog when reading).
    pub category: Option<String>,
    /// Severity.
    pub severity: Option<Severity>,
    /// The free text.
    pub text: Option<String>,
    /// Street or landmark.
    pub place: Option<String>,
    /// GPS position.
    pub location: Option<Location>,
    /// The nearest address of a position (see [`Address`]).
    pub address: Option<Address>,
    /// Photo references (`sha256:<hex>`), in list order.
    pub photos: Vec<String>,
    /// Follow-up per partner id.
    pub follow_up: BTreeMap<String, FollowUp>,
    /// Feedback to the resident.
    pub feedback: Feedback,
    /// Tombstone; `None` when not deleted.
    pub deleted: Option<Deleted>,
    /// Resident contact (spreekuur notes only).
    pub resident: Option<Resident>,
    /// Call back (spreekuur notes only).
    pub callback: Option<Callback>,
    /// What of the item was erased; left out of the JSON when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erased>,
    /// Invalid fields of this item, paths relative to the item.
    pub invalid: InvalidFields,
    /// Values of concurrently created sub-maps that lost to the shown value
    /// (`path -> values`, e.g. `resident.phone`); absent when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", tsify(optional))]
    pub conflicts: Conflicts,
}

impl Item {
    /// The stored address when it was looked up for the item's current
    /// position (see [`Address`]); `None` otherwise.
    pub fn current_address(&self) -> Option<&str> {
        match (&self.address, &self.location) {
            (Some(a), Some(l)) if a.describes(l) => Some(a.label.as_str()),
            _ => None,
        }
    }
}

/// An observation of a walk.
#[cfg_attr(feature = "ts", tsify::declare)]
pub type Observation = Item;
/// A note of a spreekuur session.
#[cfg_attr(feature = "ts", tsify::declare)]
pub type Note = Item;

/// A walk participant.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    /// Name.
    pub name: Option<String>,
    /// Organisation.
    pub organisation: Option<String>,
}

/// A staff member of a spreekuur session.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staff {
    /// Display name.
    pub name: Option<String>,
}

/// A resident's point on a walk's agenda (`agenda.<point>`).
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgendaPoint {
    /// What to look at.
    pub text: Option<String>,
    /// Category id.
    pub category: Option<String>,
    /// Street and number, or a landmark.
    pub place: Option<String>,
    /// Where the resident pointed.
    pub location: Option<Location>,
    /// When it was put on the agenda (ms).
    pub added_at: Option<i64>,
    /// Who put it there (user id).
    pub added_by: Option<String>,
    /// Looked at during the walk (absent: not yet).
    pub looked_at: Option<AgendaLook>,
    /// Fields that could not be read (paths relative to the entry).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", tsify(optional))]
    pub invalid: InvalidFields,
}

/// The looked-at mark of an agenda point.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgendaLook {
    /// When (ms).
    pub at: Option<i64>,
    /// Who (user id).
    pub by: Option<String>,
    /// The observation it led to (item id).
    pub observation: Option<String>,
}

/// The read model of a walk document.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Walk {
    /// Always [`DocKind::Walk`].
    #[cfg_attr(feature = "ts", tsify(type = "\"walk\""))]
    pub kind: DocKind,
    /// Schema version (1).
    pub schema: Option<i64>,
    /// Title.
    pub title: Option<String>,
    /// Wijk id.
    pub wijk: Option<String>,
    /// Route description.
    pub route: Option<String>,
    /// Planned start (ms).
    pub planned_at: Option<i64>,
    /// Actual start (ms).
    pub started_at: Option<i64>,
    /// End (ms).
    pub ended_at: Option<i64>,
    /// When the walk was last reopened after ending (ms).
    pub reopened_at: Option<i64>,
    /// Who last reopened it (user id).
    pub reopened_by: Option<String>,
    /// Team id.
    pub team: Option<String>,
    /// Creator (user id).
    pub created_by: Option<String>,
    /// Participants by id.
    pub participants: BTreeMap<String, Participant>,
    /// Observations by id.
    pub observations: BTreeMap<String, Observation>,
    /// Closing summary.
    pub summary: Option<String>,
    /// Residents' points on the agenda, by point id (left out of the JSON when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", tsify(optional))]
    pub agenda: BTreeMap<String, AgendaPoint>,
    /// Invalid root and participant fields (items carry their own).
    pub invalid: InvalidFields,
}

/// The read model of a spreekuur document.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spreekuur {
    /// Always [`DocKind::Spreekuur`].
    #[cfg_attr(feature = "ts", tsify(type = "\"spreekuur\""))]
    pub kind: DocKind,
    /// Schema version (1).
    pub schema: Option<i64>,
    /// Where it is held (buurthuis).
    pub location: Option<String>,
    /// Wijk id.
    pub wijk: Option<String>,
    /// The day/time it is held (ms).
    pub held_on: Option<i64>,
    /// Team id.
    pub team: Option<String>,
    /// Creator (user id).
    pub created_by: Option<String>,
    /// Staff by user id.
    pub staff: BTreeMap<String, Staff>,
    /// Notes by id.
    pub notes: BTreeMap<String, Note>,
    /// Invalid root and staff fields (items carry their own).
    pub invalid: InvalidFields,
}

/// A category of the catalog.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryEntry {
    /// Display label (Dutch).
    pub label: Option<String>,
    /// English display label; the app falls back to `label` without it.
    pub label_en: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// A positive signal (veerkracht) rather than a problem.
    pub positive: bool,
    /// Sort order.
    pub order: Option<i64>,
    /// Retired: kept for old items, not offered for new ones.
    pub retired: bool,
    /// Working days within which a requested call back is due; `None` when
    /// not set (then [`DEFAULT_CALLBACK_DAYS`] applies).
    pub callback_days: Option<i64>,
}

/// The call-back term when the category sets none: 5 working days.
pub const DEFAULT_CALLBACK_DAYS: u32 = 5;
/// The longest call-back term a category can set.
pub const MAX_CALLBACK_DAYS: u32 = 60;

/// A severity label of the catalog.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeverityEntry {
    /// Display label (Dutch).
    pub label: Option<String>,
    /// English display label; the app falls back to `label` without it.
    pub label_en: Option<String>,
    /// Sort order.
    pub order: Option<i64>,
}

/// A follow-up partner of the catalog.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerEntry {
    /// Display label (Dutch).
    pub label: Option<String>,
    /// English display label; the app falls back to `label` without it.
    pub label_en: Option<String>,
    /// Sort order.
    pub order: Option<i64>,
    /// Retired.
    pub retired: bool,
    /// E-mail address items are forwarded to ("doorsturen").
    pub email: Option<String>,
    /// Phone number of the partner's desk.
    pub phone: Option<String>,
    /// Name of the contact person.
    pub contact: Option<String>,
}

/// A wijk of the catalog.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WijkEntry {
    /// Display label.
    pub label: Option<String>,
    /// `[minLon, minLat, maxLon, maxLat]`.
    pub bbox: Option<[f64; 4]>,
    /// Sort order.
    pub order: Option<i64>,
    /// Retired.
    pub retired: bool,
}

/// A team of the catalog: the teams accounts, walks and spreekuren belong to.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamEntry {
    /// Display label (`Team Oost`); the id (`team-oost`) is what is stored elsewhere.
    pub label: Option<String>,
    /// Sort order.
    pub order: Option<i64>,
    /// Retired: still shown for old data, not offered for new accounts or plans.
    pub retired: bool,
}

/// The read model of the catalog document; edits validate against it.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// Always [`DocKind::Catalog`].
    #[cfg_attr(feature = "ts", tsify(type = "\"catalog\""))]
    pub kind: DocKind,
    /// Schema version (1).
    pub schema: Option<i64>,
    /// Categories by id.
    pub categories: BTreeMap<String, CategoryEntry>,
    /// Severity labels by severity id.
    pub severities: BTreeMap<String, SeverityEntry>,
    /// Partners by id.
    pub partners: BTreeMap<String, PartnerEntry>,
    /// Wijken by id.
    pub wijken: BTreeMap<String, WijkEntry>,
    /// Teams by id (empty in catalogs made before teams were kept here).
    pub teams: BTreeMap<String, TeamEntry>,
    /// Invalid fields (paths like `categories.drugs.color`).
    pub invalid: InvalidFields,
}

/// The typed read of any document, as the UI gets it from `view()`.
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum View {
    /// A walk.
    Walk(Walk),
    /// A spreekuur session.
    Spreekuur(Spreekuur),
    /// The catalog.
    Catalog(Catalog),
}

/// The default categories: `(id, label, English label, colour, positive)`, in order.
pub(crate) const DEFAULT_CATEGORIES: &[(&str, &str, &str, &str, bool)] = &[
    (
        "jeugdoverlast",
        "Jeugdoverlast",
        "Youth nuisance",
        "#e8590c",
        false,
    ),
    ("drugs", "Drugs", "Drugs", "#862e9c", false),
    (
        "vervuiling",
        "Vervuiling / zwerfafval",
        "Litter / pollution",
        "#5c940d",
        false,
    ),
    ("vernieling", "Vernieling", "Vandalism", "#c92a2a", false),
    ("brandjes", "Brandjes", "Small fires", "#f76707", false),
    ("verkeer", "Verkeer", "Traffic", "#1971c2", false),
    (
        "onbegrepen_gedrag",
        "Onbegrepen gedrag",
        "Confused behaviour",
        "#9c36b5",
        false,
    ),
    (
        "woonoverlast",
        "Woonoverlast",
        "Housing nuisance",
        "#a61e4d",
        false,
    ),
    (
        "intimidatie",
        "Intimidatie / bedreiging",
        "Intimidation / threats",
        "#212529",
        false,
    ),
    (
        "discriminatie",
        "Discriminatie / spanningen",
        "Discrimination / tensions",
        "#5f3dc4",
        false,
    ),
    (
        "openbare_ruimte",
        "Openbare ruimte",
        "Public space",
        "#495057",
        false,
    ),
    (
        "positief_signaal",
        "Positief signaal",
        "Positive signal",
        "#2b8a3e",
        true,
    ),
];

/// The severity labels `(id, label, English label)`, in order.
pub(crate) const DEFAULT_SEVERITIES: &[(&str, &str, &str)] = &[
    ("informatief", "Informatief", "Informational"),
    ("aandacht", "Aandacht", "Attention"),
    ("zorgelijk", "Zorgelijk", "Worrying"),
    ("urgent", "Urgent", "Urgent"),
];

/// The default follow-up partners `(id, label, English label)`, in order.
pub(crate) const DEFAULT_PARTNERS: &[(&str, &str, &str)] = &[
    (
        "politie",
        "Politie (wijkagent)",
        "Police (community officer)",
    ),
    (
        "woningcorporatie",
        "Woningcorporatie",
        "Housing association",
    ),
    (
        "jongerenwerk",
        "Jongerenwerk (welzijnsorganisatie)",
        "Youth work (welfare organisation)",
    ),
    ("interventieteam", "Interventieteam", "Intervention team"),
    (
        "ambulant_team",
        "Ambulant team sociaal domein",
        "Outreach team (social care)",
    ),
    ("ggz_fact", "GGZ / FACT-team", "Mental health / FACT team"),
    (
        "gemeente_oov",
        "Gemeente OOV",
        "Municipality (public order and safety)",
    ),
    (
        "gemeente_openbare_ruimte",
        "Gemeente openbare ruimte",
        "Municipality (public space)",
    ),
    (
        "participatiecoach",
        "Participatiecoach",
        "Participation coach",
    ),
    ("school", "School", "School"),
];

/// The default (demo) wijken, in order.
pub(crate) const DEFAULT_WIJKEN: &[(&str, &str)] = &[
    ("stad_en_lande", "Stad en Lande"),
    ("oostermeent", "Oostermeent"),
    ("bovenmaten", "Bovenmaten"),
    ("buitenwijken", "Buitenwijken"),
    ("centrum", "Centrum"),
];

impl Catalog {
    /// The default catalog: 12 categories (incl. `positief_signaal`),
    /// 4 severities, 10 partners (each with an English label), 5 wijken (no
    /// bounding boxes), no teams.
    pub fn defaults() -> Catalog {
        Catalog {
            kind: DocKind::Catalog,
            schema: Some(1),
            categories: DEFAULT_CATEGORIES
                .iter()
                .zip(0i64..)
                .map(|(&(id, label, label_en, color, positive), order)| {
                    (
                        id.to_owned(),
                        CategoryEntry {
                            label: Some(label.to_owned()),
                            label_en: Some(label_en.to_owned()),
                            color: Some(color.to_owned()),
                            positive,
                            order: Some(order),
                            retired: false,
                            callback_days: None,
                        },
                    )
                })
                .collect(),
            severities: DEFAULT_SEVERITIES
                .iter()
                .zip(0i64..)
                .map(|(&(id, label, label_en), order)| {
                    (
                        id.to_owned(),
                        SeverityEntry {
                            label: Some(label.to_owned()),
                            label_en: Some(label_en.to_owned()),
                            order: Some(order),
                        },
                    )
                })
                .collect(),
            partners: DEFAULT_PARTNERS
                .iter()
                .zip(0i64..)
                .map(|(&(id, label, label_en), order)| {
                    (
                        id.to_owned(),
                        PartnerEntry {
                            label: Some(label.to_owned()),
                            label_en: Some(label_en.to_owned()),
                            order: Some(order),
                            retired: false,
                            email: None,
                            phone: None,
                            contact: None,
                        },
                    )
                })
                .collect(),
            wijken: DEFAULT_WIJKEN
                .iter()
                .zip(0i64..)
                .map(|(&(id, label), order)| {
                    (
                        id.to_owned(),
                        WijkEntry {
                            label: Some(label.to_owned()),
                            bbox: None,
                            order: Some(order),
                            retired: false,
                        },
                    )
                })
                .collect(),
            teams: BTreeMap::new(),
            invalid: InvalidFields::new(),
        }
    }

    /// Reads a catalog document.
    pub fn from_doc(doc: &impl ReadDoc) -> Result<Catalog, Error> {
        expect_kind(doc, DocKind::Catalog)?;
        let root_map = hydrate_root(doc, snapshot::CATALOG)?;
        let root = &root_map;
        let mut invalid = InvalidFields::new();
        let mut f = Fields::new(&mut invalid);
        let schema = f.req("schema", h::int(root, "schema"));

        let mut categories = BTreeMap::new();
        for (id, obj) in entries(root, &mut f, "categories") {
            let mut e = f.nested("categories");
            let mut e = e.nested(&id);
            let Some(obj) = entry_map(&mut e, obj) else {
                categories.insert(
                    id,
                    CategoryEntry {
                        label: None,
                        label_en: None,
                        color: None,
                        positive: false,
                        order: None,
                        retired: false,
                        callback_days: None,
                    },
                );
                continue;
            };
            let color = e.req("color", h::str(obj, "color"));
            let color = match color {
                Some(c) if is_color(&c) => Some(c),
                Some(_) => {
                    e.mark("color", "expected #rrggbb");
                    None
                }
                None => None,
            };
            categories.insert(
                id,
                CategoryEntry {
                    label: e.req("label", h::str(obj, "label")),
                    label_en: e.opt("label_en", h::str(obj, "label_en")),
                    color,
                    positive: e.opt("positive", h::bool(obj, "positive")).unwrap_or(false),
                    order: e.opt("order", h::int(obj, "order")),
                    retired: e.opt("retired", h::bool(obj, "retired")).unwrap_or(false),
                    callback_days: match e.opt("callback_days", h::int(obj, "callback_days")) {
                        Some(d) if (1..=i64::from(MAX_CALLBACK_DAYS)).contains(&d) => Some(d),
                        Some(_) => {
                            e.mark("callback_days", "out of range");
                            None
                        }
                        None => None,
                    },
                },
            );
        }

        let mut severities = BTreeMap::new();
        for (id, obj) in entries(root, &mut f, "severities") {
            let mut e = f.nested("severities");
            let mut e = e.nested(&id);
            let Some(obj) = entry_map(&mut e, obj) else {
                severities.insert(
                    id,
                    SeverityEntry {
                        label: None,
                        label_en: None,
                        order: None,
                    },
                );
                continue;
            };
            severities.insert(
                id,
                SeverityEntry {
                    label: e.req("label", h::str(obj, "label")),
                    label_en: e.opt("label_en", h::str(obj, "label_en")),
                    order: e.opt("order", h::int(obj, "order")),
                },
            );
        }

        let mut partners = BTreeMap::new();
        for (id, obj) in entries(root, &mut f, "partners") {
            let mut e = f.nested("partners");
            let mut e = e.nested(&id);
            let Some(obj) = entry_map(&mut e, obj) else {
                partners.insert(
                    id,
                    PartnerEntry {
                        label: None,
                        label_en: None,
                        order: None,
                        retired: false,
                        email: None,
                        phone: None,
                        contact: None,
                    },
                );
                continue;
            };
            partners.insert(
                id,
                PartnerEntry {
                    label: e.req("label", h::str(obj, "label")),
                    label_en: e.opt("label_en", h::str(obj, "label_en")),
                    order: e.opt("order", h::int(obj, "order")),
                    retired: e.opt("retired", h::bool(obj, "retired")).unwrap_or(false),
                    email: e.opt("email", h::str(obj, "email")),
                    phone: e.opt("phone", h::str(obj, "phone")),
                    contact: e.opt("contact", h::str(obj, "contact")),
                },
            );
        }

        let mut wijken = BTreeMap::new();
        for (id, obj) in entries(root, &mut f, "wijken") {
            let mut e = f.nested("wijken");
            let mut e = e.nested(&id);
            let Some(obj) = entry_map(&mut e, obj) else {
                wijken.insert(
                    id,
                    WijkEntry {
                        label: None,
                        bbox: None,
                        order: None,
                        retired: false,
                    },
                );
                continue;
            };
            let bbox = match e.opt("bbox", h::list(obj, "bbox")) {
                Some(list) => read_bbox(list).or_else(|| {
                    e.mark("bbox", "expected [minLon, minLat, maxLon, maxLat]");
                    None
                }),
                None => None,
            };
            wijken.insert(
                id,
                WijkEntry {
                    label: e.req("label", h::str(obj, "label")),
                    bbox,
                    order: e.opt("order", h::int(obj, "order")),
                    retired: e.opt("retired", h::bool(obj, "retired")).unwrap_or(false),
                },
            );
        }

        let mut teams = BTreeMap::new();
        for (id, obj) in entries(root, &mut f, "teams") {
            let mut e = f.nested("teams");
            let mut e = e.nested(&id);
            let Some(obj) = entry_map(&mut e, obj) else {
                teams.insert(
                    id,
                    TeamEntry {
                        label: None,
                        order: None,
                        retired: false,
                    },
                );
                continue;
            };
            teams.insert(
                id,
                TeamEntry {
                    label: e.req("label", h::str(obj, "label")),
                    order: e.opt("order", h::int(obj, "order")),
                    retired: e.opt("retired", h::bool(obj, "retired")).unwrap_or(false),
                },
            );
        }

        Ok(Catalog {
            kind: DocKind::Catalog,
            schema,
            categories,
            severities,
            partners,
            wijken,
            teams,
            invalid,
        })
    }

    /// Ok when `id` is an active (not retired) category.
    pub fn check_category(&self, id: &str) -> Result<(), Error> {
        check(
            CatalogSection::Category,
            id,
            self.categories.get(id).map(|e| e.retired),
        )
    }

    /// The call-back term of a category in working days: its
    /// `callback_days`, or [`DEFAULT_CALLBACK_DAYS`] (also for unknown ids).
    pub fn callback_days(&self, category: &str) -> u32 {
        self.categories
            .get(category)
            .and_then(|c| c.callback_days)
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(DEFAULT_CALLBACK_DAYS)
    }

    /// Ok when `id` is an active partner.
    pub fn check_partner(&self, id: &str) -> Result<(), Error> {
        check(
            CatalogSection::Partner,
            id,
            self.partners.get(id).map(|e| e.retired),
        )
    }

    /// Ok when `id` is an active team.
    pub fn check_team(&self, id: &str) -> Result<(), Error> {
        check(
            CatalogSection::Team,
            id,
            self.teams.get(id).map(|e| e.retired),
        )
    }

    /// Ok when `id` is an active wijk.
    pub fn check_wijk(&self, id: &str) -> Result<(), Error> {
        check(
            CatalogSection::Wijk,
            id,
            self.wijken.get(id).map(|e| e.retired),
        )
    }
}

fn check(section: CatalogSection, id: &str, retired: Option<bool>) -> Result<(), Error> {
    match retired {
        None => Err(Error::NotInCatalog {
            section,
            id: id.to_owned(),
        }),
        Some(true) => Err(Error::Retired {
            section,
            id: id.to_owned(),
        }),
        Some(false) => Ok(()),
    }
}

pub(crate) fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

fn read_bbox(list: &hydrate::List) -> Option<[f64; 4]> {
    if list.len() != 4 {
        return None;
    }
    let mut out = [0.0; 4];
    for (slot, lv) in out.iter_mut().zip(list.iter()) {
        *slot = h::v_f64(Some(&lv.value)).ok()?;
    }
    Some(out)
}

/// The entries of the map at root `name` (missing map: none; not a map: recorded).
fn entries<'a>(
    root: &'a hydrate::Map,
    f: &mut Fields<'_>,
    name: &str,
) -> Vec<(String, Got<&'a hydrate::Map>)> {
    match f.opt(name, h::map(root, name)) {
        Some(m) => h::entries(m)
            .into_iter()
            .map(|(k, v)| (k.clone(), h::v_map(Some(v))))
            .collect(),
        None => Vec::new(),
    }
}

fn entry_map<T>(f: &mut Fields<'_>, got: Got<T>) -> Option<T> {
    match got {
        Got::Ok(obj) => Some(obj),
        Got::Missing => {
            // An explicit null value at the key.
            f.mark("", "expected map, found null");
            None
        }
        Got::Invalid(r) => {
            f.mark("", &r);
            None
        }
    }
}

/// Reads the root `kind` (string or Text) of any document.
///
/// Errors with `invalid_document` when it is absent, not a string, or unknown.
pub fn doc_kind(doc: &impl ReadDoc) -> Result<DocKind, Error> {
    match get_str(doc, &ROOT, "kind") {
        Got::Ok(k) => DocKind::parse(&k).map_err(|_| Error::InvalidDocument("unknown root kind")),
        Got::Missing => Err(Error::InvalidDocument("no root kind")),
        Got::Invalid(_) => Err(Error::InvalidDocument("root kind is not a string")),
    }
}

pub(crate) fn expect_kind(doc: &impl ReadDoc, expected: DocKind) -> Result<(), Error> {
    let found = doc_kind(doc)?;
    if found == expected {
        Ok(())
    } else {
        Err(Error::WrongKind { expected, found })
    }
}

impl Walk {
    /// Reads a walk document.
    pub fn from_doc(doc: &impl ReadDoc) -> Result<Walk, Error> {
        expect_kind(doc, DocKind::Walk)?;
        let mut root_map = hydrate_root(doc, snapshot::WALK)?;
        let conflicts = merge_items(doc, &mut root_map, "observations");
        let root = &root_map;
        let mut invalid = InvalidFields::new();
        let mut f = Fields::new(&mut invalid);
        let schema = f.req("schema", h::int(root, "schema"));
        let title = f.req("title", h::text(root, "title"));
        let wijk = f.req("wijk", h::str(root, "wijk"));
        let route = f.opt("route", h::text(root, "route"));
        let planned_at = f.opt("planned_at", h::timestamp(root, "planned_at"));
        let started_at = f.opt("started_at", h::timestamp(root, "started_at"));
        let ended_at = f.opt("ended_at", h::timestamp(root, "ended_at"));
        let reopened_at = f.opt("reopened_at", h::timestamp(root, "reopened_at"));
        let reopened_by = f.opt("reopened_by", h::str(root, "reopened_by"));
        let team = f.req("team", h::str(root, "team"));
        let created_by = f.req("created_by", h::str(root, "created_by"));
        let summary = f.opt("summary", h::text(root, "summary"));

        let mut participants = BTreeMap::new();
        if let Some(map) = f.opt("participants", h::map(root, "participants")) {
            for (id, value) in h::entries(map) {
                let id = id.clone();
                let mut p = f.nested("participants");
                let mut p = p.nested(&id);
                let participant = match h::v_map(Some(value)) {
                    Got::Ok(obj) => Participant {
                        name: p.req("name", h::str(obj, "name")),
                        organisation: p.opt("organisation", h::str(obj, "organisation")),
                    },
                    other => {
                        entry_map(&mut p, other);
                        Participant {
                            name: None,
                            organisation: None,
                        }
                    }
                };
                participants.insert(id, participant);
            }
        }
        let observations = read_items(root, &mut f, "observations", false, conflicts);
        let mut agenda = BTreeMap::new();
        if let Some(map) = f.opt("agenda", h::map(root, "agenda")) {
            for (id, value) in h::entries(map) {
                agenda.insert(id.clone(), read_agenda_point(h::v_map(Some(value))));
            }
        }
        Ok(Walk {
            kind: DocKind::Walk,
            schema,
            title,
            wijk,
            route,
            planned_at,
            started_at,
            ended_at,
            reopened_at,
            reopened_by,
            team,
            created_by,
            participants,
            observations,
            summary,
            agenda,
            invalid,
        })
    }
}

fn read_location(f: &mut Fields<'_>, got: Got<&hydrate::Map>) -> Option<Location> {
    f.opt("location", got).and_then(|loc| {
        let mut l = f.nested("location");
        let lat = l.req("lat", h::f64(loc, "lat"));
        let lon = l.req("lon", h::f64(loc, "lon"));
        let accuracy_m = l.opt("accuracy_m", h::f64(loc, "accuracy_m"));
        match (lat, lon) {
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Some(Location {
                    lat,
                    lon,
                    accuracy_m,
                })
            }
            (Some(_), Some(_)) => {
                l.mark("lat", "out of range");
                None
            }
            _ => None,
        }
    })
}

fn read_agenda_point(got: Got<&hydrate::Map>) -> AgendaPoint {
    let mut invalid = InvalidFields::new();
    let mut f = Fields::new(&mut invalid);
    let mut p = AgendaPoint {
        text: None,
        category: None,
        place: None,
        location: None,
        added_at: None,
        added_by: None,
        looked_at: None,
        invalid: InvalidFields::new(),
    };
    match got {
        Got::Ok(obj) => {
            p.text = f.req("text", h::text(obj, "text"));
            p.category = f.opt("category", h::str(obj, "category"));
            p.place = f.opt("place", h::str(obj, "place"));
            p.location = read_location(&mut f, h::map(obj, "location"));
            p.added_at = f.opt("added_at", h::timestamp(obj, "added_at"));
            p.added_by = f.opt("added_by", h::str(obj, "added_by"));
            p.looked_at = f.opt("looked_at", h::map(obj, "looked_at")).map(|l| {
                let mut lf = f.nested("looked_at");
                AgendaLook {
                    at: lf.req("at", h::timestamp(l, "at")),
                    by: lf.req("by", h::str(l, "by")),
                    observation: lf.opt("observation", h::str(l, "observation")),
                }
            });
        }
        other => {
            entry_map(&mut f, other);
        }
    }
    p.invalid = invalid;
    p
}

impl Spreekuur {
    /// Reads a spreekuur document.
    pub fn from_doc(doc: &impl ReadDoc) -> Result<Spreekuur, Error> {
        expect_kind(doc, DocKind::Spreekuur)?;
        let mut root_map = hydrate_root(doc, snapshot::SPREEKUUR)?;
        let conflicts = merge_items(doc, &mut root_map, "notes");
        let root = &root_map;
        let mut invalid = InvalidFields::new();
        let mut f = Fields::new(&mut invalid);
        let schema = f.req("schema", h::int(root, "schema"));
        let location = f.req("location", h::str(root, "location"));
        let wijk = f.req("wijk", h::str(root, "wijk"));
        let held_on = f.req("held_on", h::timestamp(root, "held_on"));
        let team = f.req("team", h::str(root, "team"));
        let created_by = f.req("created_by", h::str(root, "created_by"));
        let mut staff = BTreeMap::new();
        if let Some(map) = f.opt("staff", h::map(root, "staff")) {
            for (id, value) in h::entries(map) {
                let id = id.clone();
                let mut s = f.nested("staff");
                let mut s = s.nested(&id);
                let member = match h::v_map(Some(value)) {
                    Got::Ok(obj) => Staff {
                        name: s.req("name", h::str(obj, "name")),
                    },
                    other => {
                        entry_map(&mut s, other);
                        Staff { name: None }
                    }
                };
                staff.insert(id, member);
            }
        }
        let notes = read_items(root, &mut f, "notes", true, conflicts);
        Ok(Spreekuur {
            kind: DocKind::Spreekuur,
            schema,
            location,
            wijk,
            held_on,
            team,
            created_by,
            staff,
            notes,
            invalid,
        })
    }
}

impl View {
    /// Reads any document into its typed view.
    pub fn from_doc(doc: &impl ReadDoc) -> Result<View, Error> {
        Ok(match doc_kind(doc)? {
            DocKind::Walk => View::Walk(Walk::from_doc(doc)?),
            DocKind::Spreekuur => View::Spreekuur(Spreekuur::from_doc(doc)?),
            DocKind::Catalog => View::Catalog(Catalog::from_doc(doc)?),
        })
    }
}

fn read_items(
    root: &hydrate::Map,
    f: &mut Fields<'_>,
    name: &str,
    spreekuur: bool,
    mut conflicts: BTreeMap<String, Conflicts>,
) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    if let Some(map) = f.opt(name, h::map(root, name)) {
        for (id, value) in h::entries(map) {
            let id = id.clone();
            let item = match h::v_map(Some(value)) {
                Got::Ok(obj) => read_item(obj, id.clone(), spreekuur),
                other => {
                    let mut invalid = InvalidFields::new();
                    let reason = match other {
                        Got::Invalid(r) => r,
                        _ => "expected map, found null".to_owned(),
                    };
                    invalid.insert("item".to_owned(), reason);
                    empty_item(id.clone(), invalid)
                }
            };
            let mut item = item;
            item.conflicts = conflicts.remove(&id).unwrap_or_default();
            items.insert(id, item);
        }
    }
    items
}

fn empty_item(id: String, invalid: InvalidFields) -> Item {
    Item {
        id,
        created_at: None,
        created_by: None,
        category: None,
        severity: None,
        text: None,
        place: None,
        location: None,
        address: None,
        photos: Vec::new(),
        follow_up: BTreeMap::new(),
        feedback: Feedback::default(),
        deleted: None,
        resident: None,
        callback: None,
        erased: None,
        invalid,
        conflicts: Conflicts::new(),
    }
}

pub(crate) fn read_item(obj: &hydrate::Map, id: String, spreekuur: bool) -> Item {
    let mut invalid = InvalidFields::new();
    let mut f = Fields::new(&mut invalid);
    let created_at = f.req("created_at", h::timestamp(obj, "created_at"));
    let created_by = f.req("created_by", h::str(obj, "created_by"));
    let category = f.req("category", h::str(obj, "category"));
    let severity = f.req("severity", h::str(obj, "severity"));
    let severity = f.parsed("severity", severity, Severity::parse);
    let text = f.req("text", h::text(obj, "text"));
    let place = f.opt("place", h::str(obj, "place"));
    let location = f.opt("location", h::map(obj, "location")).and_then(|loc| {
        let mut l = f.nested("location");
        let lat = l.req("lat", h::f64(loc, "lat"));
        let lon = l.req("lon", h::f64(loc, "lon"));
        let accuracy_m = l.opt("accuracy_m", h::f64(loc, "accuracy_m"));
        match (lat, lon) {
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Some(Location {
                    lat,
                    lon,
                    accuracy_m,
                })
            }
            (Some(_), Some(_)) => {
                l.mark("lat", "out of range");
                None
            }
            _ => None,
        }
    });
    let address = f.opt("address", h::map(obj, "address")).and_then(|a| {
        let mut n = f.nested("address");
        let label = n.req("label", h::str(a, "label"));
        let lat = n.req("lat", h::f64(a, "lat"));
        let lon = n.req("lon", h::f64(a, "lon"));
        match (label, lat, lon) {
            (Some(label), Some(lat), Some(lon)) => Some(Address { label, lat, lon }),
            _ => None,
        }
    });
    let mut photos = Vec::new();
    if let Some(list) = f.opt("photos", h::list(obj, "photos")) {
        for (i, lv) in list.iter().enumerate() {
            let mut p = f.nested("photos");
            if let Some(s) = p.req(&i.to_string(), h::v_str(Some(&lv.value))) {
                photos.push(s);
            }
        }
    }
    let mut follow_up = BTreeMap::new();
    if let Some(map) = f.opt("follow_up", h::map(obj, "follow_up")) {
        for (partner, value) in h::entries(map) {
            let partner = partner.clone();
            let mut fu = f.nested("follow_up");
            let mut fu = fu.nested(&partner);
            let entry = match h::v_map(Some(value)) {
                Got::Ok(o) => {
                    let status = fu.req("status", h::str(o, "status"));
                    FollowUp {
                        status: fu.parsed("status", status, FollowUpStatus::parse),
                        note: fu.opt("note", h::text(o, "note")),
                        updated_at: fu.req("updated_at", h::timestamp(o, "updated_at")),
                        updated_by: fu.req("updated_by", h::str(o, "updated_by")),
                    }
                }
                other => {
                    entry_map(&mut fu, other);
                    FollowUp {
                        status: None,
                        note: None,
                        updated_at: None,
                        updated_by: None,
                    }
                }
            };
            follow_up.insert(partner, entry);
        }
    }
    let feedback = match h::map(obj, "feedback") {
        Got::Ok(fb) => {
            let mut b = f.nested("feedback");
            let needed = match h::bool(fb, "needed") {
                Got::Missing => Some(false),
                got => b.opt("needed", got),
            };
            let channel = b.opt("channel", h::str(fb, "channel"));
            Feedback {
                needed,
                given_at: b.opt("given_at", h::timestamp(fb, "given_at")),
                channel: b.parsed("channel", channel, FeedbackChannel::parse),
                by: b.opt("by", h::str(fb, "by")),
            }
        }
        // Absent: nobody asked for feedback.
        Got::Missing => Feedback {
            needed: Some(false),
            ..Feedback::default()
        },
        // Unreadable: every part unknown (null), the reason recorded.
        Got::Invalid(r) => {
            f.mark("feedback", &r);
            Feedback::default()
        }
    };
    let deleted = f.opt("deleted", h::map(obj, "deleted")).map(|d| {
        let mut b = f.nested("deleted");
        Deleted {
            at: b.req("at", h::timestamp(d, "at")),
            by: b.req("by", h::str(d, "by")),
        }
    });
    let erased = f.opt("erased", h::map(obj, "erased")).map(|e| {
        let mut b = f.nested("erased");
        let mut one = |what: &str| {
            b.opt(what, h::map(e, what)).map(|m| {
                let mut c = b.nested(what);
                Erasure {
                    at: c.req("at", h::timestamp(m, "at")),
                    by: c.opt("by", h::str(m, "by")),
                    basis: c.opt("basis", h::str(m, "basis")),
                }
            })
        };
        let contact = one("contact");
        let item = one("item");
        Erased { contact, item }
    });
    let (resident, callback) = if spreekuur {
        let resident = f.opt("resident", h::map(obj, "resident")).map(|r| {
            let mut b = f.nested("resident");
            Resident {
                name: b.opt("name", h::str(r, "name")),
                phone: b.opt("phone", h::str(r, "phone")),
                phone_e164: b.opt("phone_e164", h::str(r, "phone_e164")),
                email: b.opt("email", h::str(r, "email")),
                consent: b.req("consent", h::bool(r, "consent")),
                consent_at: b.opt("consent_at", h::timestamp(r, "consent_at")),
                consent_withdrawn_at: b.opt(
                    "consent_withdrawn_at",
                    h::timestamp(r, "consent_withdrawn_at"),
                ),
            }
        });
        let callback = f.opt("callback", h::map(obj, "callback")).map(|c| {
            let mut b = f.nested("callback");
            let mut attempts = BTreeMap::new();
            if let Some(map) = b.opt("attempts", h::map(c, "attempts")) {
                for (id, value) in h::entries(map) {
                    let id = id.clone();
                    let mut a = b.nested("attempts");
                    let mut a = a.nested(&id);
                    let attempt = match h::v_map(Some(value)) {
                        Got::Ok(o) => {
                            let outcome = a.req("outcome", h::str(o, "outcome"));
                            Attempt {
                                at: a.req("at", h::timestamp(o, "at")),
                                by: a.req("by", h::str(o, "by")),
                                outcome: a.parsed("outcome", outcome, AttemptOutcome::parse),
                                note: a.opt("note", h::text(o, "note")),
                            }
                        }
                        other => {
                            entry_map(&mut a, other);
                            Attempt {
                                at: None,
                                by: None,
                                outcome: None,
                                note: None,
                            }
                        }
                    };
                    attempts.insert(id, attempt);
                }
            }
            let outcome = b.opt("outcome", h::str(c, "outcome"));
            Callback {
                requested: b.req("requested", h::bool(c, "requested")),
                requested_at: b.opt("requested_at", h::timestamp(c, "requested_at")),
                requested_by: b.opt("requested_by", h::str(c, "requested_by")),
                due_at: b.opt("due_at", h::timestamp(c, "due_at")),
                assignee: b.opt("assignee", h::str(c, "assignee")),
                attempts,
                done_at: b.opt("done_at", h::timestamp(c, "done_at")),
                by: b.opt("by", h::str(c, "by")),
                outcome: b.parsed("outcome", outcome, CallbackOutcome::parse),
            }
        });
        (resident, callback)
    } else {
        (None, None)
    };
    Item {
        id,
        created_at,
        created_by,
        category,
        severity,
        text,
        place,
        location,
        address,
        photos,
        follow_up,
        feedback,
        deleted,
        resident,
        callback,
        erased,
        invalid,
        conflicts: Conflicts::new(),
    }
}
