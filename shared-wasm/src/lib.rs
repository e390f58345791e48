//! The JavaScript API of the document model (wasm32 only, wasm-bindgen, target web).
//!
//! [`WijkDoc`] wraps a [`Document`]; every typed edit of the native crate has a
//! camelCase method here. Results go out through serde-wasm-bindgen's
//! JSON-compatible serializer as plain JS objects (maps become objects, `None`
//! becomes `null`, timestamps are numbers of ms since the Unix epoch); argument
//! objects come in through serde-wasm-bindgen and `serde_json::Value` (unknown
//! properties refused, `null`/`undefined` properties absent); bytes are
//! `Uint8Array`s. Every error is thrown as a JS `Error` whose `code` property is
//! the crate's stable [`Error::code`] (or one of this module's codes:
//! `invalid_argument`, `invalid_heads`, `no_user`, `invalid_actor`,
//! `text_position_inside_character`, `internal`) and whose message is the
//! error's short English sentence.
//!
//! Who and when: an edit is made by the document's *user* (set by the
//! constructors, by `load(id, bytes, user)` or by `setUser`) at `Date.now()`,
//! unless its last argument, `opts = { by?, at? }`, says otherwise.
//!
//! Text positions (`spliceText`, `spliceWalkText`, `spliceFollowUpNote`) are
//! indices into JavaScript strings: UTF-16 code units. The crate's documents use
//! [`wijklog_shared::TEXT_ENCODING`] (`Utf16CodeUnit` in this build), and this module
//! refuses a position that falls between the two halves of a surrogate pair
//! (`text_position_inside_character`), so an emoji is never cut in half.
//!
//! The TypeScript declarations of the argument and result shapes are in the
//! `typescript_custom_section` below; the generated `wijklog_shared.d.ts`
//! uses them in the method signatures.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wijklog_shared::automerge::sync;
use wijklog_shared::automerge::{ActorId, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};

use wijklog_shared::{
    Address, CallbackOutcome, CallbackRequest, Catalog, CatalogSection, DocId, DocKind, Document,
    Error, FeedbackChannel, FollowUpStatus, ItemId, Location, NewAgendaPoint, NewAttempt,
    NewCategory, NewItem, NewParticipant, NewSpreekuur, NewWalk, PartnerContact, ResidentContact,
    Severity, Timestamp, UserId, WalkText,
};

// The argument and result shapes in the generated `.d.ts` are derived from the
// model's Rust types (tsify, the `ts` feature of wijklog-shared) and from this
// module's own `EditOptions`, `PhoneCheck` and `EmailCheck`; only the error's
// shape is written by hand.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Milliseconds since the Unix epoch, UTC (the model's `Timestamp`). */
export type Millis = Timestamp;

/** Every error thrown by this module is an `Error` with a stable `code`. */
export interface WijklogError extends Error { code: string; }
"#;

// ----- errors -----

/// Builds the JS `Error` with a `code` property.
fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("WijklogError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

fn model_error(e: Error) -> JsValue {
    js_error(e.code(), &e.to_string())
}

type JsResult<T> = Result<T, JsValue>;

fn model<T>(r: Result<T, Error>) -> JsResult<T> {
    r.map_err(model_error)
}

fn invalid_argument(what: &str) -> JsValue {
    js_error(
        "invalid_argument",
        &format!("the argument {what} does not have the expected shape"),
    )
}

// ----- values in and out -----

/// Converts a JS argument. It goes through `serde_json::Value` so that the
/// argument types' `deny_unknown_fields` applies (serde-wasm-bindgen reads only
/// the fields a struct names) and so that an object property that is `null` or
/// `undefined` counts as absent, as JS callers expect.
fn from_js<T: DeserializeOwned>(what: &str, v: JsValue) -> JsResult<T> {
    let mut json: serde_json::Value =
        serde_wasm_bindgen::from_value(v).map_err(|_| invalid_argument(what))?;
    drop_null_properties(&mut json);
    serde_json::from_value(json).map_err(|_| invalid_argument(what))
}

fn drop_null_properties(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(drop_null_properties);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_properties),
        _ => {}
    }
}

fn to_js<T: Serialize + ?Sized>(v: &T) -> JsResult<JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| js_error("internal", "a value could not be converted to JavaScript"))
}

/// Who makes an edit and when; defaults: the document's user and `Date.now()`.
/// The optional last argument of every edit.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
struct EditOptions {
    /// A user id.
    #[serde(default)]
    by: Option<String>,
    /// Milliseconds since the Unix epoch, UTC.
    #[serde(default)]
    at: Option<i64>,
}

fn now() -> Timestamp {
    // Date.now() is a whole number of ms well inside the i64 range.
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

fn parse_heads(heads: Vec<String>) -> JsResult<Vec<ChangeHash>> {
    heads
        .iter()
        .map(|h| {
            h.parse::<ChangeHash>()
                .map_err(|_| js_error("invalid_heads", "a head is not a 64-digit hex change hash"))
        })
        .collect()
}

/// A JS (UTF-16) position must not fall inside a surrogate pair of `text`.
fn check_utf16_boundary(text: &str, pos: usize) -> JsResult<()> {
    let mut units = 0usize;
    for c in text.chars() {
        if units >= pos {
            return Ok(());
        }
        units += c.len_utf16();
        if units > pos {
            return Err(js_error(
                "text_position_inside_character",
                "the text position falls inside a character (between the halves of a UTF-16 surrogate pair)",
            ));
        }
    }
    // At or past the end: the model's own range check reports text_out_of_range.
    Ok(())
}

fn child(doc: &impl ReadDoc, obj: &ObjId, key: &str, want: ObjType) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(t), id))) if t == want => Some(id),
        _ => None,
    }
}

// ----- the contact rules (the same as the edits use) -----

/// What `checkPhone` made of a phone field.
#[derive(Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
struct PhoneCheck {
    valid: bool,
    code: Option<&'static str>,
    numbers: Vec<String>,
    e164: Option<String>,
}

/// What `checkEmail` made of an e-mail field.
#[derive(Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
struct EmailCheck {
    valid: bool,
    code: Option<&'static str>,
}

/// Checks a phone field with the rules of `setResidentContact` (the value is
/// trimmed first; an empty one is valid: it means "no phone").
#[wasm_bindgen(js_name = checkPhone, unchecked_return_type = "PhoneCheck")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn check_phone(value: &str) -> JsResult<JsValue> {
    let v = value.trim();
    let r = if v.is_empty() {
        PhoneCheck {
            valid: true,
            code: None,
            numbers: vec![],
            e164: None,
        }
    } else {
        match wijklog_shared::contact::check_phone(v) {
            Ok(c) => PhoneCheck {
                valid: true,
                code: None,
                numbers: c.numbers,
                e164: c.e164,
            },
            Err(e) => PhoneCheck {
                valid: false,
                code: Some(e.code()),
                numbers: vec![],
                e164: None,
            },
        }
    };
    to_js(&r)
}

/// Checks an e-mail field with the rules of `setResidentContact` (trimmed
/// first; an empty one is valid).
#[wasm_bindgen(js_name = checkEmail, unchecked_return_type = "EmailCheck")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn check_email(value: &str) -> JsResult<JsValue> {
    let v = value.trim();
    let r = match (v.is_empty(), wijklog_shared::contact::check_email(v)) {
        (true, _) | (false, Ok(())) => EmailCheck {
            valid: true,
            code: None,
        },
        (false, Err(e)) => EmailCheck {
            valid: false,
            code: Some(e.code()),
        },
    };
    to_js(&r)
}

// ----- sync state -----

/// The automerge sync state of one document with one peer.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct SyncState {
    inner: sync::State,
}

#[wasm_bindgen]
impl SyncState {
    /// A fresh state (a new connection starts fresh states).
    #[wasm_bindgen(constructor)]
    pub fn new() -> SyncState {
        SyncState {
            inner: sync::State::new(),
        }
    }

    /// The persistent part of the state (the peer's shared heads) as bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.inner.encode()
    }

    /// Restores a state saved with `encode`.
    pub fn decode(bytes: &[u8]) -> JsResult<SyncState> {
        sync::State::decode(bytes)
            .map(|inner| SyncState { inner })
            .map_err(|_| model_error(Error::InvalidSyncMessage))
    }
}

// ----- the document -----

/// One Wijklog document (walk, spreekuur session or catalog).
#[wasm_bindgen]
#[derive(Debug)]
pub struct WijkDoc {
    doc: Document,
    user: Option<UserId>,
    /// The catalog read of this document, kept while it is unchanged (every
    /// method that may change the content goes through [`WijkDoc::doc_mut`],
    /// which drops it).
    catalog_cache: RefCell<Option<Rc<Catalog>>>,
}

impl WijkDoc {
    fn wrap(doc: Document, user: Option<UserId>) -> WijkDoc {
        WijkDoc {
            doc,
            user,
            catalog_cache: RefCell::new(None),
        }
    }

    /// The document, for a method that may change its content.
    fn doc_mut(&mut self) -> &mut Document {
        self.catalog_cache.replace(None);
        &mut self.doc
    }

    /// The document, for a method that needs `&mut` but leaves the content as
    /// it is (saving, heads, sync message generation, the actor id).
    fn doc_same(&mut self) -> &mut Document {
        &mut self.doc
    }

    /// Runs one edit: `f` reads its arguments, who and when, and changes the
    /// document. If it fails while an action is open, nothing of the action
    /// may be committed (and the catalog read is dropped, since earlier
    /// edits of the action are rolled back).
    fn edit<T>(&mut self, f: impl FnOnce(&mut Self) -> JsResult<T>) -> JsResult<T> {
        let r = f(self);
        if r.is_err() {
            self.catalog_cache.replace(None);
            self.doc.fail_action();
        }
        r
    }

    /// Refuses saving, merging and syncing while an action is open: its
    /// edits are pending and must not leave the document half-done.
    fn no_action(&self) -> JsResult<()> {
        if self.doc.in_action() {
            Err(model_error(Error::ActionOpen))
        } else {
            Ok(())
        }
    }

    /// The catalog read model, for edits that validate against it.
    fn catalog_read(&self) -> JsResult<Rc<Catalog>> {
        if let Some(c) = self.catalog_cache.borrow().as_ref() {
            return Ok(Rc::clone(c));
        }
        let c = Rc::new(model(self.doc.catalog())?);
        self.catalog_cache.replace(Some(Rc::clone(&c)));
        Ok(c)
    }

    /// Who and when for one edit.
    fn who_when(&self, opts: Option<JsValue>) -> JsResult<(UserId, Timestamp)> {
        let opts: EditOptions = match opts {
            Some(v) if !v.is_undefined() && !v.is_null() => from_js("opts", v)?,
            _ => EditOptions::default(),
        };
        let by = match opts.by {
            Some(by) => model(UserId::parse(&by))?,
            None => self.user.clone().ok_or_else(|| {
                js_error(
                    "no_user",
                    "no user is set for this document (setUser or opts.by)",
                )
            })?,
        };
        let at = opts.at.map_or_else(now, Timestamp::from_millis);
        Ok((by, at))
    }

    /// The map of an observation or note, for reading its current texts.
    fn item_obj(&self, item: &ItemId) -> Option<ObjId> {
        let d = self.doc.automerge();
        let items_key = match self.doc.kind().ok()? {
            DocKind::Walk => "observations",
            DocKind::Spreekuur => "notes",
            DocKind::Catalog => return None,
        };
        let items = child(d, &ROOT, items_key, ObjType::Map)?;
        child(d, &items, &item.to_string(), ObjType::Map)
    }

    /// The current text of an item's `text` field, for the surrogate-pair check.
    fn item_text(&self, item: &ItemId) -> Option<String> {
        let d = self.doc.automerge();
        let text = child(d, &self.item_obj(item)?, "text", ObjType::Text)?;
        d.text(&text).ok()
    }

    /// The current text of a follow-up note, for the surrogate-pair check.
    fn follow_up_note_text(&self, item: &ItemId, partner: &str) -> Option<String> {
        let d = self.doc.automerge();
        let fu = child(d, &self.item_obj(item)?, "follow_up", ObjType::Map)?;
        let entry = child(d, &fu, partner, ObjType::Map)?;
        let text = child(d, &entry, "note", ObjType::Text)?;
        d.text(&text).ok()
    }

    /// The current text of the walk's title, route or summary, for the surrogate-pair check.
    fn walk_text(&self, field: WalkText) -> Option<String> {
        let key = match field {
            WalkText::Title => "title",
            WalkText::Route => "route",
            WalkText::Summary => "summary",
        };
        let d = self.doc.automerge();
        let text = child(d, &ROOT, key, ObjType::Text)?;
        d.text(&text).ok()
    }
}

/// Checks both ends of a splice range against the current text (when the text
/// cannot be read, the model's own checks report the problem).
fn check_splice(text: Option<String>, pos: usize, del: usize) -> JsResult<()> {
    if let Some(t) = text {
        check_utf16_boundary(&t, pos)?;
        check_utf16_boundary(&t, pos.saturating_add(del))?;
    }
    Ok(())
}

fn parse_item(id: &str) -> JsResult<ItemId> {
    model(ItemId::parse(id))
}

/// A resident point id from JavaScript: a positive whole number.
fn parse_point(point: f64) -> JsResult<i64> {
    if point.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&point) {
        // Exact: a whole number within JavaScript's safe integers.
        #[allow(clippy::cast_possible_truncation)]
        Ok(point as i64)
    } else {
        Err(model_error(Error::InvalidPoint))
    }
}

#[wasm_bindgen]
impl WijkDoc {
    // ----- creating and loading -----

    /// Creates a walk document made by `user`; the wijk must be active in `catalog`.
    #[wasm_bindgen(js_name = newWalk)]
    pub fn new_walk(
        id: &str,
        catalog: &WijkDoc,
        user: &str,
        #[wasm_bindgen(unchecked_param_type = "NewWalk")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Millis")] at: Option<f64>,
    ) -> JsResult<WijkDoc> {
        let id = model(DocId::parse(id))?;
        let user = model(UserId::parse(user))?;
        let init: NewWalk = from_js("init", init)?;
        let at = at
            .map(|ms| millis("at", ms))
            .transpose()?
            .unwrap_or_else(now);
        let doc = model(Document::new_walk(
            id,
            &*catalog.catalog_read()?,
            &user,
            at,
            init,
        ))?;
        Ok(WijkDoc::wrap(doc, Some(user)))
    }

    /// Creates a spreekuur document made by `user`; the wijk must be active in `catalog`.
    #[wasm_bindgen(js_name = newSpreekuur)]
    pub fn new_spreekuur(
        id: &str,
        catalog: &WijkDoc,
        user: &str,
        #[wasm_bindgen(unchecked_param_type = "NewSpreekuur")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Millis")] at: Option<f64>,
    ) -> JsResult<WijkDoc> {
        let id = model(DocId::parse(id))?;
        let user = model(UserId::parse(user))?;
        let init: NewSpreekuur = from_js("init", init)?;
        let at = at
            .map(|ms| millis("at", ms))
            .transpose()?
            .unwrap_or_else(now);
        let doc = model(Document::new_spreekuur(
            id,
            &*catalog.catalog_read()?,
            &user,
            at,
            init,
        ))?;
        Ok(WijkDoc::wrap(doc, Some(user)))
    }

    /// Creates the catalog document with the default categories, severities,
    /// partners and wijken. `user` (optional) becomes the document's user.
    #[wasm_bindgen(js_name = newCatalog)]
    pub fn new_catalog(id: &str, user: Option<String>) -> JsResult<WijkDoc> {
        let id = model(DocId::parse(id))?;
        let user = user.map(|u| model(UserId::parse(&u))).transpose()?;
        Ok(WijkDoc::wrap(
            model(Document::new_catalog_with_defaults(id))?,
            user,
        ))
    }

    /// Loads saved bytes (from `save`, or concatenated changes). `user` (optional)
    /// becomes the document's user. The content is checked by `kind`/`view`/`project`.
    pub fn load(id: &str, bytes: &[u8], user: Option<String>) -> JsResult<WijkDoc> {
        let id = model(DocId::parse(id))?;
        let user = user.map(|u| model(UserId::parse(&u))).transpose()?;
        Ok(WijkDoc::wrap(model(Document::load(id, bytes))?, user))
    }

    // ----- identity, bytes, heads -----

    /// The document id (hyphenated lowercase UUID).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.doc.id().to_string()
    }

    /// The user that edits are made by when `opts.by` is absent (undefined when unset).
    #[wasm_bindgen(getter)]
    pub fn user(&self) -> Option<String> {
        self.user.as_ref().map(|u| u.as_str().to_owned())
    }

    /// Sets the user that edits are made by.
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(&mut self, user: &str) -> JsResult<()> {
        self.user = Some(model(UserId::parse(user))?);
        Ok(())
    }

    /// This replica's automerge actor id (hex). Persist it per device and
    /// restore it with `setActorId` after `load`, so that `pendingChanges`
    /// keeps counting this device's earlier changes.
    #[wasm_bindgen(js_name = actorId)]
    pub fn actor_id(&self) -> String {
        self.doc.automerge().get_actor().to_hex_string()
    }

    /// Sets this replica's actor id (hex, 1 to 32 bytes).
    #[wasm_bindgen(js_name = setActorId)]
    pub fn set_actor_id(&mut self, actor: &str) -> JsResult<()> {
        let bytes = hex::decode(actor)
            .ok()
            .filter(|b| !b.is_empty() && b.len() <= 32)
            .ok_or_else(|| {
                js_error(
                    "invalid_actor",
                    "an actor id is 1 to 32 bytes written as hex",
                )
            })?;
        self.doc_same().set_actor(ActorId::from(bytes));
        Ok(())
    }

    /// `"walk"`, `"spreekuur"` or `"catalog"`; throws `invalid_document` when the
    /// root `kind` is missing or unknown.
    #[wasm_bindgen(unchecked_return_type = "DocKind")]
    pub fn kind(&self) -> JsResult<String> {
        Ok(model(self.doc.kind())?.as_str().to_owned())
    }

    /// The whole document, compressed. Throws `action_open` during an action.
    pub fn save(&mut self) -> JsResult<Vec<u8>> {
        self.no_action()?;
        Ok(self.doc_same().save())
    }

    /// The changes since the last `save` / `saveIncremental` (may be empty).
    /// Throws `action_open` during an action.
    #[wasm_bindgen(js_name = saveIncremental)]
    pub fn save_incremental(&mut self) -> JsResult<Vec<u8>> {
        self.no_action()?;
        Ok(self.doc_same().save_incremental())
    }

    /// Applies changes (from `saveIncremental`, or `save` of a related document);
    /// returns the number of operations applied.
    #[wasm_bindgen(js_name = loadIncremental)]
    pub fn load_incremental(&mut self, bytes: &[u8]) -> JsResult<usize> {
        self.no_action()?;
        model(self.doc_mut().load_incremental(bytes))
    }

    /// Replaces this replica's history by `rewritten` (the server's copy,
    /// `save()` bytes, after it rewrote the history to erase data) and
    /// carries this replica's changes the server does not have over to it;
    /// edits of erased fields are dropped and the items listed in
    /// `droppedOn`. `opts` as for an edit (who runs the erasure again where
    /// an edit was dropped). Nothing changes on an error.
    #[wasm_bindgen(js_name = replaceHistory, unchecked_return_type = "HistoryReplaced")]
    pub fn replace_history(
        &mut self,
        rewritten: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<JsValue> {
        self.no_action()?;
        let (by, at) = self.who_when(opts)?;
        let done = model(self.doc_mut().replace_history(rewritten, &by, at))?;
        to_js(&done)
    }

    /// Merges all changes of `other` into this document.
    pub fn merge(&mut self, other: &mut WijkDoc) -> JsResult<()> {
        self.no_action()?;
        other.no_action()?;
        let other = other.doc_mut();
        model(self.doc_mut().merge(other))
    }

    /// The current heads, as lowercase hex change hashes.
    pub fn heads(&mut self) -> Vec<String> {
        self.doc_same().heads_hex()
    }

    /// How many changes made by this replica's actor are not covered by
    /// `ackedHeads` (heads the server acknowledged). Unknown heads are ignored.
    #[wasm_bindgen(js_name = pendingChanges)]
    pub fn pending_changes(
        &mut self,
        #[wasm_bindgen(js_name = ackedHeads)] acked_heads: Vec<String>,
    ) -> JsResult<usize> {
        let acked = parse_heads(acked_heads)?;
        Ok(self.doc_same().pending_changes(&acked))
    }

    // ----- reading -----

    /// The typed read model (`Walk`, `Spreekuur` or `Catalog`, told apart by `kind`).
    #[wasm_bindgen(unchecked_return_type = "View")]
    pub fn view(&self) -> JsResult<JsValue> {
        to_js(&model(self.doc.view())?)
    }

    /// One row per observation or note (deleted ones included); none for the catalog.
    #[wasm_bindgen(unchecked_return_type = "Row[]")]
    pub fn project(&self) -> JsResult<JsValue> {
        to_js(&model(self.doc.project())?)
    }

    // ----- sync -----

    /// The next sync message for the peer whose state is `state`, or undefined
    /// when there is nothing to send.
    #[wasm_bindgen(js_name = generateSyncMessage)]
    pub fn generate_sync_message(&mut self, state: &mut SyncState) -> JsResult<Option<Vec<u8>>> {
        self.no_action()?;
        Ok(self.doc_same().generate_sync_message(&mut state.inner))
    }

    /// Applies a sync message received from the peer whose state is `state`.
    #[wasm_bindgen(js_name = receiveSyncMessage)]
    pub fn receive_sync_message(&mut self, state: &mut SyncState, message: &[u8]) -> JsResult<()> {
        self.no_action()?;
        model(
            self.doc_mut()
                .receive_sync_message(&mut state.inner, message),
        )
    }

    // ----- actions -----

    /// Opens an action: the edits until `commitAction` become ONE change
    /// (message: their names joined by `,`), or nothing at all. Any edit
    /// that throws while the action is open fails the whole action: its
    /// earlier edits are rolled back at once and `commitAction` throws
    /// `action_failed`. While it is open, `save`, `saveIncremental`,
    /// `loadIncremental`, `merge` and the sync methods throw `action_open`.
    /// Throws `action_open` when one is already open.
    #[wasm_bindgen(js_name = beginAction)]
    pub fn begin_action(&mut self) -> JsResult<()> {
        model(self.doc_mut().begin_action())
    }

    /// Commits the open action as one change made at `opts.at` (default now).
    /// Throws `action_failed` (nothing applied, the action closed) when one
    /// of its edits failed, `no_action` when none is open.
    #[wasm_bindgen(js_name = commitAction)]
    pub fn commit_action(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        let at = match self.who_when(opts) {
            Ok((_, at)) => at,
            // No user set: the time still defaults to now.
            Err(_) => now(),
        };
        let r = model(self.doc_mut().commit_action(at));
        self.catalog_cache.replace(None);
        r
    }

    /// Drops every edit of the open action (a no-op when none is open).
    #[wasm_bindgen(js_name = abortAction)]
    pub fn abort_action(&mut self) {
        self.doc_mut().abort_action();
    }

    /// Whether an action is open.
    #[wasm_bindgen(js_name = inAction)]
    pub fn in_action(&self) -> bool {
        self.doc.in_action()
    }

    // ----- walk edits -----

    /// Adds an observation to a walk (category checked against `catalog`); returns its id.
    #[wasm_bindgen(js_name = addObservation)]
    pub fn add_observation(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(unchecked_param_type = "NewItem")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<String> {
        self.edit(|d| {
            let init: NewItem = from_js("init", init)?;
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            Ok(model(d.doc_mut().add_observation(&cat, &by, at, init))?.to_string())
        })
    }

    /// Records the start of the walk.
    #[wasm_bindgen(js_name = startWalk)]
    pub fn start_walk(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().start_walk(&by, at))
        })
    }

    /// Records the end of the walk (it must have started).
    #[wasm_bindgen(js_name = endWalk)]
    pub fn end_walk(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().end_walk(&by, at))
        })
    }

    /// Reopens an ended walk (`walk_not_ended` if it has not ended).
    #[wasm_bindgen(js_name = reopenWalk)]
    pub fn reopen_walk(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().reopen_walk(&by, at))
        })
    }

    /// Adds a participant to the walk; returns its id.
    #[wasm_bindgen(js_name = addParticipant)]
    pub fn add_participant(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "NewParticipant")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<String> {
        self.edit(|d| {
            let init: NewParticipant = from_js("init", init)?;
            let (by, at) = d.who_when(opts)?;
            Ok(model(d.doc_mut().add_participant(&by, at, init))?.to_string())
        })
    }

    /// Splices the walk's title, route or summary (UTF-16 positions).
    #[wasm_bindgen(js_name = spliceWalkText)]
    pub fn splice_walk_text(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "WalkText")] field: JsValue,
        pos: usize,
        del: usize,
        text: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let field: WalkText = from_js("field", field)?;
            let (by, at) = d.who_when(opts)?;
            check_splice(d.walk_text(field), pos, del)?;
            model(d.doc_mut().splice_walk_text(&by, at, field, pos, del, text))
        })
    }

    // ----- the walk's agenda (residents' points) -----

    /// Puts a resident's point on the walk's agenda (the server does this when
    /// a coordinator accepts a point; category checked against `catalog`).
    #[wasm_bindgen(js_name = addAgendaPoint)]
    pub fn add_agenda_point(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(unchecked_param_type = "NewAgendaPoint")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let init: NewAgendaPoint = from_js("init", init)?;
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            model(d.doc_mut().add_agenda_point(&cat, &by, at, init))
        })
    }

    /// Takes a point off the walk's agenda.
    #[wasm_bindgen(js_name = removeAgendaPoint)]
    pub fn remove_agenda_point(
        &mut self,
        point: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let point = parse_point(point)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().remove_agenda_point(&by, at, point))
        })
    }

    /// Marks an agenda point as looked at, linked to the observation it led to (or none).
    #[wasm_bindgen(js_name = markAgendaLookedAt)]
    pub fn mark_agenda_looked_at(
        &mut self,
        point: f64,
        observation: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let point = parse_point(point)?;
            let observation = observation.as_deref().map(parse_item).transpose()?;
            let (by, at) = d.who_when(opts)?;
            model(
                d.doc_mut()
                    .mark_agenda_looked_at(&by, at, point, observation.as_ref()),
            )
        })
    }

    /// Removes an agenda point's looked-at mark (nothing happens when it has none).
    #[wasm_bindgen(js_name = unmarkAgendaLookedAt)]
    pub fn unmark_agenda_looked_at(
        &mut self,
        point: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let point = parse_point(point)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().unmark_agenda_looked_at(&by, at, point))
        })
    }

    // ----- spreekuur edits -----

    /// Adds a note to a spreekuur session (category checked against `catalog`); returns its id.
    #[wasm_bindgen(js_name = addNote)]
    pub fn add_note(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(unchecked_param_type = "NewItem")] init: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<String> {
        self.edit(|d| {
            let init: NewItem = from_js("init", init)?;
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            Ok(model(d.doc_mut().add_note(&cat, &by, at, init))?.to_string())
        })
    }

    /// Adds a staff member (by user id) to the session.
    #[wasm_bindgen(js_name = addStaff)]
    pub fn add_staff(
        &mut self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        name: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let staff = model(UserId::parse(user_id))?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_staff(&by, at, &staff, name))
        })
    }

    /// Records a resident's contact details on a note; refused (`consent_required`) without consent.
    #[wasm_bindgen(js_name = setResidentContact)]
    pub fn set_resident_contact(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "ResidentContact")] contact: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let contact: ResidentContact = from_js("contact", contact)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_resident_contact(&by, at, &item, contact))
        })
    }

    /// Removes a resident's name, phone and e-mail from a note (the consent record stays).
    #[wasm_bindgen(js_name = clearResidentContact)]
    pub fn clear_resident_contact(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().clear_resident_contact(&by, at, &item))
        })
    }

    /// The resident withdraws consent: name, phone and e-mail are removed, `consent` becomes false.
    #[wasm_bindgen(js_name = withdrawResidentConsent)]
    pub fn withdraw_resident_consent(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().withdraw_resident_consent(&by, at, &item))
        })
    }

    /// Records a call-back request on a note: due date (default: the note
    /// category's term in `catalog`, in working days) and assignee (default: the team).
    #[wasm_bindgen(js_name = requestCallback)]
    pub fn request_callback(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "CallbackRequest")] request: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let request: CallbackRequest = match request {
                Some(v) if !v.is_undefined() && !v.is_null() => from_js("request", v)?,
                _ => CallbackRequest::default(),
            };
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            model(d.doc_mut().request_callback(&cat, &by, at, &item, request))
        })
    }

    /// Sets the due date of an open call back.
    #[wasm_bindgen(js_name = setCallbackDue)]
    pub fn set_callback_due(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(js_name = dueAt, unchecked_param_type = "Millis")] due_at: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let due_at = millis("dueAt", due_at)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_callback_due(&by, at, &item, due_at))
        })
    }

    /// Assigns an open call back to a user id, or with `null` to the team.
    #[wasm_bindgen(js_name = assignCallback)]
    pub fn assign_callback(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        assignee: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let assignee = match assignee {
                Some(a) => Some(model(UserId::parse(&a))?),
                None => None,
            };
            let (by, at) = d.who_when(opts)?;
            model(
                d.doc_mut()
                    .assign_callback(&by, at, &item, assignee.as_ref()),
            )
        })
    }

    /// Logs one attempt to call the resident back; returns the attempt id.
    #[wasm_bindgen(js_name = logCallbackAttempt)]
    pub fn log_callback_attempt(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "NewAttempt")] attempt: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<String> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let attempt: NewAttempt = from_js("attempt", attempt)?;
            let (by, at) = d.who_when(opts)?;
            Ok(model(d.doc_mut().log_callback_attempt(&by, at, &item, attempt))?.to_string())
        })
    }

    /// Closes a call back with an outcome (`null`: no outcome).
    #[wasm_bindgen(js_name = closeCallback)]
    pub fn close_callback(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "CallbackOutcome | null")] outcome: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let outcome = match outcome {
                Some(o) => Some(model(CallbackOutcome::parse(&o))?),
                None => None,
            };
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().close_callback(&by, at, &item, outcome))
        })
    }

    /// Marks the call back as done (a close without outcome).
    #[wasm_bindgen(js_name = completeCallback)]
    pub fn complete_callback(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().complete_callback(&by, at, &item))
        })
    }

    // ----- item edits -----

    /// Splices an item's text: deletes `del` UTF-16 code units at `pos`, inserts `text`.
    #[wasm_bindgen(js_name = spliceText)]
    pub fn splice_text(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        pos: usize,
        del: usize,
        text: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            check_splice(d.item_text(&item), pos, del)?;
            model(d.doc_mut().splice_text(&by, at, &item, pos, del, text))
        })
    }

    /// Sets an item's category (must be active in `catalog`).
    #[wasm_bindgen(js_name = setCategory)]
    pub fn set_category(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        category: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            model(d.doc_mut().set_category(&cat, &by, at, &item, category))
        })
    }

    /// Sets an item's severity.
    #[wasm_bindgen(js_name = setSeverity)]
    pub fn set_severity(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "Severity")] severity: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let severity = model(Severity::parse(severity))?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_severity(&by, at, &item, severity))
        })
    }

    /// Sets an item's GPS location, or removes it with `null`.
    #[wasm_bindgen(js_name = setLocation)]
    pub fn set_location(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "Location | null")] location: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let location: Option<Location> = from_js("location", location)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_location(&by, at, &item, location))
        })
    }

    /// Sets the nearest address of an item's position (`{label, lat, lon}`:
    /// the position it was looked up for), or removes it with `null`.
    #[wasm_bindgen(js_name = setAddress)]
    pub fn set_address(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "Address | null")] address: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let address: Option<Address> = from_js("address", address)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_address(&by, at, &item, address))
        })
    }

    /// Sets an item's place (street, landmark), or removes it with `null` or `""`.
    #[wasm_bindgen(js_name = setPlace)]
    pub fn set_place(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        place: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_place(&by, at, &item, place.as_deref()))
        })
    }

    /// Appends a photo reference (`sha256:<64 hex>`) unless it is already there.
    #[wasm_bindgen(js_name = addPhoto)]
    pub fn add_photo(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        photo: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_photo(&by, at, &item, photo))
        })
    }

    /// Deletes an item (a tombstone `deleted: {at, by}`; the content stays).
    #[wasm_bindgen(js_name = deleteItem)]
    pub fn delete_item(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().delete_item(&by, at, &item))
        })
    }

    /// Removes the tombstone of a deleted item.
    #[wasm_bindgen(js_name = undeleteItem)]
    pub fn undelete_item(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().undelete_item(&by, at, &item))
        })
    }

    /// Sets a partner's follow-up status; `note` (when a string) replaces the
    /// follow-up note by a minimal text diff, `null`/undefined leaves it.
    #[wasm_bindgen(js_name = setFollowUp)]
    pub fn set_follow_up(
        &mut self,
        catalog: &WijkDoc,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        partner: &str,
        #[wasm_bindgen(unchecked_param_type = "FollowUpStatus")] status: &str,
        note: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let status = model(FollowUpStatus::parse(status))?;
            let (by, at) = d.who_when(opts)?;
            let cat = catalog.catalog_read()?;
            model(
                d.doc_mut()
                    .set_follow_up(&cat, &by, at, &item, partner, status, note.as_deref()),
            )
        })
    }

    /// Splices the note of an existing follow-up entry (UTF-16 positions).
    #[wasm_bindgen(js_name = spliceFollowUpNote)]
    pub fn splice_follow_up_note(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        partner: &str,
        pos: usize,
        del: usize,
        text: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            check_splice(d.follow_up_note_text(&item, partner), pos, del)?;
            model(
                d.doc_mut()
                    .splice_follow_up_note(&by, at, &item, partner, pos, del, text),
            )
        })
    }

    /// Sets whether the resident must hear back.
    #[wasm_bindgen(js_name = setFeedbackNeeded)]
    pub fn set_feedback_needed(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        needed: bool,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_feedback_needed(&by, at, &item, needed))
        })
    }

    /// Records that the resident was told what happened (`givenAt`, `channel`, by the editing user).
    #[wasm_bindgen(js_name = recordFeedbackGiven)]
    pub fn record_feedback_given(
        &mut self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        #[wasm_bindgen(unchecked_param_type = "FeedbackChannel")] channel: &str,
        #[wasm_bindgen(js_name = givenAt, unchecked_param_type = "Millis")] given_at: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let item = parse_item(item_id)?;
            let channel = model(FeedbackChannel::parse(channel))?;
            let given_at = millis("givenAt", given_at)?;
            let (by, at) = d.who_when(opts)?;
            model(
                d.doc_mut()
                    .record_feedback_given(&by, at, &item, channel, given_at),
            )
        })
    }

    // ----- catalog edits -----

    /// Adds a category (slug id, `#rrggbb` colour); it sorts last.
    #[wasm_bindgen(js_name = addCategory)]
    pub fn add_category(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "NewCategory")] category: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let category: NewCategory = from_js("category", category)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_category(&by, at, category))
        })
    }

    /// Changes a category's label.
    #[wasm_bindgen(js_name = renameCategory)]
    pub fn rename_category(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().rename_category(&by, at, id, label))
        })
    }

    /// Sets a category's call-back term in working days (1..=60).
    #[wasm_bindgen(js_name = setCategoryCallbackDays)]
    pub fn set_category_callback_days(
        &mut self,
        id: &str,
        days: u32,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_category_callback_days(&by, at, id, days))
        })
    }

    /// Changes a category's colour (`#rrggbb`).
    #[wasm_bindgen(js_name = setCategoryColor)]
    pub fn set_category_color(
        &mut self,
        id: &str,
        color: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_category_color(&by, at, id, color))
        })
    }

    /// Retires a category (existing items keep it; new edits refuse it).
    #[wasm_bindgen(js_name = retireCategory)]
    pub fn retire_category(
        &mut self,
        id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().retire_category(&by, at, id))
        })
    }

    /// Adds a follow-up partner.
    #[wasm_bindgen(js_name = addPartner)]
    pub fn add_partner(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_partner(&by, at, id, label))
        })
    }

    /// Changes a partner's label.
    #[wasm_bindgen(js_name = renamePartner)]
    pub fn rename_partner(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().rename_partner(&by, at, id, label))
        })
    }

    /// Sets a partner's contact fields (e-mail, phone, contact person); blank ones are removed.
    #[wasm_bindgen(js_name = setPartnerContact)]
    pub fn set_partner_contact(
        &mut self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "PartnerContact")] contact: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        let contact: PartnerContact = from_js("contact", contact)?;
        let (by, at) = self.who_when(opts)?;
        model(self.doc_mut().set_partner_contact(&by, at, id, &contact))
    }

    /// Retires a partner.
    #[wasm_bindgen(js_name = retirePartner)]
    pub fn retire_partner(
        &mut self,
        id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().retire_partner(&by, at, id))
        })
    }

    /// Adds a wijk, with an optional bounding box `[minLon, minLat, maxLon, maxLat]`.
    #[wasm_bindgen(js_name = addWijk)]
    pub fn add_wijk(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_param_type = "[number, number, number, number] | null")]
        bbox: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let bbox: Option<[f64; 4]> = from_js("bbox", bbox)?;
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_wijk(&by, at, id, label, bbox))
        })
    }

    /// Changes a wijk's label.
    #[wasm_bindgen(js_name = renameWijk)]
    pub fn rename_wijk(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().rename_wijk(&by, at, id, label))
        })
    }

    /// Retires a wijk.
    #[wasm_bindgen(js_name = retireWijk)]
    pub fn retire_wijk(
        &mut self,
        id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().retire_wijk(&by, at, id))
        })
    }

    /// Sets the English label of a category, severity or partner (`section`:
    /// `"categories"`, `"severities"` or `"partners"`); blank removes it.
    #[wasm_bindgen(js_name = setLabelEn)]
    pub fn set_label_en(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "\"categories\" | \"severities\" | \"partners\"")]
        section: &str,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        let section = match section {
            "categories" => CatalogSection::Category,
            "severities" => CatalogSection::Severity,
            "partners" => CatalogSection::Partner,
            _ => return Err(invalid_argument("section")),
        };
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().set_label_en(&by, at, section, id, label))
        })
    }

    /// Adds a team (slug id, label).
    #[wasm_bindgen(js_name = addTeam)]
    pub fn add_team(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().add_team(&by, at, id, label))
        })
    }

    /// Changes a team's label.
    #[wasm_bindgen(js_name = renameTeam)]
    pub fn rename_team(
        &mut self,
        id: &str,
        label: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().rename_team(&by, at, id, label))
        })
    }

    /// Retires a team.
    #[wasm_bindgen(js_name = retireTeam)]
    pub fn retire_team(
        &mut self,
        id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "EditOptions")] opts: Option<JsValue>,
    ) -> JsResult<()> {
        self.edit(|d| {
            let (by, at) = d.who_when(opts)?;
            model(d.doc_mut().retire_team(&by, at, id))
        })
    }
}

/// A JS number of ms as a timestamp (whole, finite, within ±2^53).
fn millis(what: &str, v: f64) -> JsResult<Timestamp> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_991.0 {
        Ok(Timestamp::from_millis(v as i64))
    } else {
        Err(invalid_argument(what))
    }
}
