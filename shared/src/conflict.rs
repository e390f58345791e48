//! Concurrently created sub-maps: nothing typed is lost.
//!
//! When two replicas that have not synced both create the same map-valued key
//! of an item (`follow_up`, `follow_up.<partner>`, `resident`, `callback`,
//! `feedback`), automerge keeps both map objects as a conflict on that key and
//! `get` shows only one (the winner, the same on every replica). This module
//! keeps the losers' content in sight:
//!
//! - **Reading** ([`merge_items`]): the read models see one merged map per key:
//!   every field of the winner; fields the winner lacks, taken from the losers
//!   (in automerge's order of the conflicting values, so identical on every
//!   replica); the free-text field (a follow-up `note`) reads as the winner's text
//!   followed by each non-empty loser text that the winner's text does not
//!   already contain, separated by `"\n"`. Any other field of a loser that
//!   differs from the winner's (compared as text, so a JS-written Text `phone`
//!   counts like a `Str`) is listed in the item's `conflicts` (`path ->
//!   values`), except the stamps `updated_at`, `updated_by` and `consent_at`.
//! - **Healing** ([`fold_into_winner`]): edits that write into such a map first
//!   copy the losers' absent fields into the winner and append a loser's `note`
//!   text that the winner's `note` does not contain. The losing objects stay (automerge can
//!   only drop them by overwriting the key, which would hide concurrent edits
//!   of the winner); after folding the reader finds nothing more to add.
//!
//! `location` and `deleted` are not merged: a position mixed from two fixes
//! would be wrong, and a tombstone carries no typed content.

use std::collections::BTreeMap;

use automerge::hydrate::{self, MapValue};

use crate::snapshot;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

/// Free-text fields of the merged maps: a loser's text is appended.
const FREE_TEXT: [&str; 1] = ["note"];

/// Bookkeeping stamps written by every edit, and values derived from another
/// field (`phone_e164` from `phone`): not listed as conflicts.
const STAMPS: [&str; 5] = [
    "updated_at",
    "updated_by",
    "consent_at",
    "consent_withdrawn_at",
    "phone_e164",
];

/// Maps keyed by uuid inside a merged map (a call back's `attempts`): the
/// entries of every copy are kept (union), as for items.
const UNION_MAPS: [&str; 1] = ["attempts"];

/// Adds the loser's entries that the winner lacks.
fn union_hydrated(winner: &mut hydrate::Map, loser: &hydrate::Map) {
    for (k, v) in loser.iter() {
        if !winner.contains_key(k.as_str()) {
            winner.insert(
                k.clone(),
                MapValue {
                    value: v.value.clone(),
                    conflict: false,
                },
            );
        }
    }
}

/// Losing scalar values per field path (relative to the item), in automerge's order.
#[cfg_attr(feature = "ts", tsify::declare)]
pub type Conflicts = BTreeMap<String, Vec<String>>;

/// The item keys whose map values are merged.
const ITEM_SUBMAPS: [&str; 4] = ["follow_up", "feedback", "resident", "callback"];

/// Merges conflicting sub-maps of every item of `root[name]` (a hydrated
/// snapshot of `doc`) in place; returns the losing scalars per item id.
pub(crate) fn merge_items(
    doc: &impl ReadDoc,
    root: &mut hydrate::Map,
    name: &str,
) -> BTreeMap<String, Conflicts> {
    let mut out = BTreeMap::new();
    let Some(hydrate::Value::Map(items)) = root.get_mut(name) else {
        return out;
    };
    let mut items_id: Option<ObjId> = None;
    for (id, item) in items.iter_mut() {
        let hydrate::Value::Map(item) = &mut item.value else {
            continue;
        };
        let follow_up_conflict = matches!(
            item.get("follow_up"),
            Some(hydrate::Value::Map(fu)) if fu.values().any(|v| v.conflict)
        );
        let submap_conflict = ITEM_SUBMAPS
            .iter()
            .any(|k| item.get_key_value(*k).is_some_and(|(_, v)| v.conflict));
        let attempts_conflict = matches!(
            item.get("callback"),
            Some(hydrate::Value::Map(c)) if c.get_key_value("attempts").is_some_and(|(_, v)| v.conflict)
        );
        if !follow_up_conflict && !submap_conflict && !attempts_conflict {
            continue;
        }
        // Only now look up object ids in the live document.
        if items_id.is_none() {
            items_id = map_id(doc, &ROOT, name);
        }
        let Some(parent) = &items_id else {
            return out;
        };
        let Some(item_id) = map_id(doc, parent, id) else {
            continue;
        };
        let mut conflicts = Conflicts::new();
        for key in ITEM_SUBMAPS {
            let shape = match key {
                "follow_up" => snapshot::FOLLOW_UPS,
                "feedback" => snapshot::FEEDBACK,
                "resident" => snapshot::RESIDENT,
                _ => snapshot::CALLBACK,
            };
            merge_key(doc, &item_id, item, key, key, shape, &mut conflicts);
        }
        // Attempts maps created concurrently inside the shown call back: union.
        if let (Some(hydrate::Value::Map(c)), Some(cb_id)) =
            (item.get_mut("callback"), map_id(doc, &item_id, "callback"))
            && c.get_key_value("attempts").is_some_and(|(_, v)| v.conflict)
            && let Some(hydrate::Value::Map(winner)) = c.get_mut("attempts")
        {
            for loser in conflicting_maps(doc, &cb_id, "attempts").iter().skip(1) {
                let l = snapshot::read_map(doc, loser, snapshot::ATTEMPTS);
                union_hydrated(winner, &l);
            }
        }
        if let (Some(hydrate::Value::Map(fu)), Some(fu_id)) = (
            item.get_mut("follow_up"),
            map_id(doc, &item_id, "follow_up"),
        ) {
            let mut partners: Vec<String> = fu
                .iter()
                .filter(|(_, v)| v.conflict)
                .map(|(k, _)| k.clone())
                .collect();
            partners.sort();
            for partner in partners {
                let path = format!("follow_up.{partner}");
                merge_key(
                    doc,
                    &fu_id,
                    fu,
                    &partner,
                    &path,
                    snapshot::FOLLOW_UP,
                    &mut conflicts,
                );
            }
        }
        if !conflicts.is_empty() {
            out.insert(id.clone(), conflicts);
        }
    }
    out
}

/// The map (or table) at `key` of `obj` in the live document.
fn map_id(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map | ObjType::Table), id))) => Some(id),
        _ => None,
    }
}

/// The conflicting map objects at `key`: the winner first, then the losers in
/// automerge's order. Empty when the winner is not a map.
fn conflicting_maps(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> Vec<ObjId> {
    let Some(winner) = map_id(doc, parent, key) else {
        return Vec::new();
    };
    let mut ids = vec![winner.clone()];
    if let Ok(all) = doc.get_all(parent, key) {
        ids.extend(all.into_iter().filter_map(|(v, id)| {
            let is_map = matches!(v, Value::Object(ObjType::Map | ObjType::Table));
            (is_map && id != winner).then_some(id)
        }));
    }
    ids
}

fn merge_key(
    doc: &impl ReadDoc,
    parent_id: &ObjId,
    parent: &mut hydrate::Map,
    key: &str,
    path: &str,
    shape: snapshot::Shape,
    conflicts: &mut Conflicts,
) {
    if !parent.get_key_value(key).is_some_and(|(_, v)| v.conflict) {
        return;
    }
    let ids = conflicting_maps(doc, parent_id, key);
    let Some(hydrate::Value::Map(winner)) = parent.get_mut(key) else {
        return;
    };
    // A loser is read like the winner: only the fields the model knows.
    for loser in ids.iter().skip(1) {
        let l = snapshot::read_map(doc, loser, shape);
        merge_map(winner, &l, path, conflicts);
    }
}

/// A value as text: Text, or a scalar written out (JS clients store plain
/// strings as Text, so any field may be Text).
fn as_string(v: &hydrate::Value) -> Option<String> {
    match v {
        hydrate::Value::Text(t) => Some(String::from(t)),
        hydrate::Value::Scalar(s) => scalar_string(s),
        _ => None,
    }
}

fn scalar_string(s: &ScalarValue) -> Option<String> {
    match s {
        ScalarValue::Str(s) => Some(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Some(i.to_string()),
        ScalarValue::Uint(u) => Some(u.to_string()),
        ScalarValue::F64(f) => Some(f.to_string()),
        ScalarValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Appends `loser` to `winner` unless it is empty or already contained.
fn appended(winner: &str, loser: &str) -> Option<String> {
    if loser.is_empty() || winner.contains(loser) {
        None
    } else if winner.is_empty() {
        Some(loser.to_owned())
    } else {
        Some(format!("{winner}\n{loser}"))
    }
}

/// Folds one loser into the hydrated winner (see the module docs).
fn merge_map(
    winner: &mut hydrate::Map,
    loser: &hydrate::Map,
    path: &str,
    conflicts: &mut Conflicts,
) {
    let mut keys: Vec<&String> = loser.keys().collect();
    keys.sort();
    for k in keys {
        let lv = &loser[k].value;
        let Some(wv) = winner.get_mut(k.as_str()) else {
            winner.insert(
                k.clone(),
                MapValue {
                    value: lv.clone(),
                    conflict: false,
                },
            );
            continue;
        };
        if let (hydrate::Value::Map(wm), hydrate::Value::Map(lm)) = (&mut *wv, lv) {
            if UNION_MAPS.contains(&k.as_str()) {
                union_hydrated(wm, lm);
            }
            continue;
        }
        let (Some(w), Some(l)) = (as_string(wv), as_string(lv)) else {
            continue;
        };
        if FREE_TEXT.contains(&k.as_str()) {
            if let Some(joined) = appended(&w, &l) {
                // A `Str` reads as free text too; the merged text is not a live object.
                *wv = hydrate::Value::Scalar(ScalarValue::Str(joined.into()));
            }
        } else if w != l && !STAMPS.contains(&k.as_str()) {
            let list = conflicts.entry(format!("{path}.{k}")).or_default();
            if !list.contains(&l) {
                list.push(l);
            }
        }
    }
}

/// Copies the losers' fields that the winner at `parent[key]` lacks into it and
/// appends a loser's free text (`note`) the winner's text does not contain. Returns the winner
/// (`None` when `key` holds no map). Nested maps of a loser are not copied.
pub(crate) fn fold_into_winner(
    d: &mut AutoCommit,
    parent: &ObjId,
    key: &str,
) -> Result<Option<ObjId>, AutomergeError> {
    let ids = conflicting_maps(d, parent, key);
    let Some(winner) = ids.first().cloned() else {
        return Ok(None);
    };
    for loser in ids.iter().skip(1) {
        let mut fields: Vec<String> = d.keys(loser).collect();
        fields.sort();
        for k in fields {
            let lv = d.get(loser, k.as_str())?;
            let wv = d.get(&winner, k.as_str())?;
            match (lv, wv) {
                (Some((Value::Scalar(s), _)), None) => {
                    let s = s.into_owned();
                    d.put(&winner, k.as_str(), s)?;
                }
                (Some((Value::Object(ObjType::Text), lt)), None) => {
                    let text = d.text(&lt)?;
                    let t = d.put_object(&winner, k.as_str(), ObjType::Text)?;
                    d.splice_text(&t, 0, 0, &text)?;
                }
                (
                    Some((Value::Object(ObjType::Text), lt)),
                    Some((Value::Object(ObjType::Text), wt)),
                ) if FREE_TEXT.contains(&k.as_str()) => {
                    let (l, w) = (d.text(&lt)?, d.text(&wt)?);
                    if let Some(joined) = appended(&w, &l) {
                        let tail = &joined[w.len()..];
                        let len = d.length(&wt);
                        d.splice_text(&wt, len, 0, tail)?;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Some(winner))
}

/// The conflicting map objects at `parent[key]`, winner first (for edits that
/// must write into every one of them, like removing contact details).
pub(crate) fn all_maps(d: &AutoCommit, parent: &ObjId, key: &str) -> Vec<ObjId> {
    conflicting_maps(d, parent, key)
}

/// [`fold_into_winner`] for a note's `callback`, which also unions the
/// losers' `attempts` (maps keyed by attempt id) into the winner's, and the
/// winner's own concurrently created `attempts` maps ([`fold_attempts`]).
pub(crate) fn fold_callback(
    d: &mut AutoCommit,
    note: &ObjId,
) -> Result<Option<ObjId>, AutomergeError> {
    let ids = conflicting_maps(d, note, "callback");
    let Some(winner) = fold_into_winner(d, note, "callback")? else {
        return Ok(None);
    };
    for loser in ids.iter().skip(1) {
        for from in conflicting_maps(d, loser, "attempts") {
            let to = match map_id(d, &winner, "attempts") {
                Some(to) => to,
                None => d.put_object(&winner, "attempts", ObjType::Map)?,
            };
            union_into(d, &from, &to)?;
        }
    }
    fold_attempts(d, &winner)?;
    Ok(Some(winner))
}

/// Unions concurrently created `attempts` maps of a call back into the
/// winning one; returns it (`None` when there is none).
pub(crate) fn fold_attempts(
    d: &mut AutoCommit,
    callback: &ObjId,
) -> Result<Option<ObjId>, AutomergeError> {
    let ids = conflicting_maps(d, callback, "attempts");
    let Some(winner) = ids.first().cloned() else {
        return Ok(None);
    };
    for loser in ids.iter().skip(1) {
        union_into(d, loser, &winner)?;
    }
    Ok(Some(winner))
}

/// Copies the entries of map `from` that map `to` lacks (entries that are
/// maps are copied with their scalar and Text fields).
fn union_into(d: &mut AutoCommit, from: &ObjId, to: &ObjId) -> Result<(), AutomergeError> {
    let mut keys: Vec<String> = d.keys(from).collect();
    keys.sort();
    for k in keys {
        if d.get(to, k.as_str())?.is_some() {
            continue;
        }
        match d.get(from, k.as_str())? {
            Some((Value::Object(ObjType::Map | ObjType::Table), src)) => {
                let dst = d.put_object(to, k.as_str(), ObjType::Map)?;
                copy_fields(d, &src, &dst)?;
            }
            Some((Value::Scalar(v), _)) => {
                let v = v.into_owned();
                d.put(to, k.as_str(), v)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Copies the scalar and Text fields of `src` into the (new) map `dst`.
fn copy_fields(d: &mut AutoCommit, src: &ObjId, dst: &ObjId) -> Result<(), AutomergeError> {
    let keys: Vec<String> = d.keys(src).collect();
    for k in keys {
        match d.get(src, k.as_str())? {
            Some((Value::Scalar(v), _)) => {
                let v = v.into_owned();
                d.put(dst, k.as_str(), v)?;
            }
            Some((Value::Object(ObjType::Text), t)) => {
                let text = d.text(&t)?;
                let nt = d.put_object(dst, k.as_str(), ObjType::Text)?;
                d.splice_text(&nt, 0, 0, &text)?;
            }
            _ => {}
        }
    }
    Ok(())
}
