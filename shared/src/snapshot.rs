//! A bounded snapshot of a document: only the fields the read models know.
//!
//! `ReadDoc::hydrate` copies a whole object tree by recursing once per
//! nesting level, so a document nested a few hundred levels deep overflows
//! the stack, and a document with millions of entries in a field nobody
//! reads costs as much memory as it has entries. The read models need
//! neither: they read a fixed set of fields at a fixed depth (at most six
//! levels: `notes.<id>.callback.attempts.<attempt>.note`).
//!
//! [`read`] builds the same `hydrate` tree the models already use, guided by
//! a static [`Shape`] of those fields. It recurses over the *shape* (a
//! constant, six levels), never over the document: an object where the
//! shape expects a value, or any object below the shape, becomes an empty
//! placeholder of its type (so the models can still say "expected string,
//! found map"), and keys the shape does not name are not read at all.

use automerge::hydrate::{self, MapValue};
use automerge::{ObjId, ObjType, ReadDoc, ValueRef};

/// Which parts of an object to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// A value: scalars and Text are read, other objects become empty placeholders.
    Leaf,
    /// A map with these known keys (others are skipped).
    Fields(&'static [(&'static str, Shape)]),
    /// A map whose every entry has the inner shape (a collection keyed by id).
    Entries(&'static Shape),
    /// A list whose every element has the inner shape.
    Items(&'static Shape),
}

use Shape::{Entries, Fields, Items, Leaf};

/// `follow_up.<partner>`.
pub(crate) const FOLLOW_UP: Shape = Fields(&[
    ("status", Leaf),
    ("note", Leaf),
    ("updated_at", Leaf),
    ("updated_by", Leaf),
]);
/// `feedback`.
pub(crate) const FEEDBACK: Shape = Fields(&[
    ("needed", Leaf),
    ("given_at", Leaf),
    ("channel", Leaf),
    ("by", Leaf),
]);
/// `resident`.
pub(crate) const RESIDENT: Shape = Fields(&[
    ("name", Leaf),
    ("phone", Leaf),
    ("phone_e164", Leaf),
    ("email", Leaf),
    ("consent", Leaf),
    ("consent_at", Leaf),
    ("consent_withdrawn_at", Leaf),
]);
/// `callback.attempts` (attempt id -> attempt).
pub(crate) const ATTEMPTS: Shape = Entries(&Fields(&[
    ("at", Leaf),
    ("by", Leaf),
    ("outcome", Leaf),
    ("note", Leaf),
]));
/// `callback`.
pub(crate) const CALLBACK: Shape = Fields(&[
    ("requested", Leaf),
    ("requested_at", Leaf),
    ("requested_by", Leaf),
    ("due_at", Leaf),
    ("assignee", Leaf),
    ("attempts", ATTEMPTS),
    ("done_at", Leaf),
    ("by", Leaf),
    ("outcome", Leaf),
]);
/// `follow_up` (partner -> follow-up).
pub(crate) const FOLLOW_UPS: Shape = Entries(&FOLLOW_UP);

/// One observation or note.
pub(crate) const ITEM: Shape = Fields(&[
    ("created_at", Leaf),
    ("created_by", Leaf),
    ("category", Leaf),
    ("severity", Leaf),
    ("text", Leaf),
    ("place", Leaf),
    (
        "location",
        Fields(&[("lat", Leaf), ("lon", Leaf), ("accuracy_m", Leaf)]),
    ),
    (
        "address",
        Fields(&[("label", Leaf), ("lat", Leaf), ("lon", Leaf)]),
    ),
    ("photos", Items(&Leaf)),
    ("follow_up", FOLLOW_UPS),
    ("feedback", FEEDBACK),
    ("deleted", Fields(&[("at", Leaf), ("by", Leaf)])),
    ("resident", RESIDENT),
    ("callback", CALLBACK),
    ("erased", ERASED),
]);

/// One erasure record.
const ERASURE: Shape = Fields(&[("at", Leaf), ("by", Leaf), ("basis", Leaf)]);
/// `erased` of an item.
const ERASED: Shape = Fields(&[("contact", ERASURE), ("item", ERASURE)]);

/// A walk document.
pub(crate) const WALK: Shape = Fields(&[
    ("kind", Leaf),
    ("schema", Leaf),
    ("title", Leaf),
    ("wijk", Leaf),
    ("route", Leaf),
    ("planned_at", Leaf),
    ("started_at", Leaf),
    ("ended_at", Leaf),
    ("reopened_at", Leaf),
    ("reopened_by", Leaf),
    ("team", Leaf),
    ("created_by", Leaf),
    ("summary", Leaf),
    (
        "participants",
        Entries(&Fields(&[("name", Leaf), ("organisation", Leaf)])),
    ),
    ("observations", Entries(&ITEM)),
    ("agenda", Entries(&AGENDA_POINT)),
]);

/// `agenda.<point>` of a walk.
const AGENDA_POINT: Shape = Fields(&[
    ("text", Leaf),
    ("category", Leaf),
    ("place", Leaf),
    (
        "location",
        Fields(&[("lat", Leaf), ("lon", Leaf), ("accuracy_m", Leaf)]),
    ),
    ("added_at", Leaf),
    ("added_by", Leaf),
    (
        "looked_at",
        Fields(&[("at", Leaf), ("by", Leaf), ("observation", Leaf)]),
    ),
]);

/// A spreekuur document.
pub(crate) const SPREEKUUR: Shape = Fields(&[
    ("kind", Leaf),
    ("schema", Leaf),
    ("location", Leaf),
    ("wijk", Leaf),
    ("held_on", Leaf),
    ("team", Leaf),
    ("created_by", Leaf),
    ("staff", Entries(&Fields(&[("name", Leaf)]))),
    ("notes", Entries(&ITEM)),
]);

/// The catalog document.
pub(crate) const CATALOG: Shape = Fields(&[
    ("kind", Leaf),
    ("schema", Leaf),
    (
        "categories",
        Entries(&Fields(&[
            ("label", Leaf),
            ("label_en", Leaf),
            ("color", Leaf),
            ("positive", Leaf),
            ("order", Leaf),
            ("retired", Leaf),
            ("callback_days", Leaf),
        ])),
    ),
    (
        "severities",
        Entries(&Fields(&[
            ("label", Leaf),
            ("label_en", Leaf),
            ("order", Leaf),
        ])),
    ),
    (
        "partners",
        Entries(&Fields(&[
            ("label", Leaf),
            ("label_en", Leaf),
            ("order", Leaf),
            ("retired", Leaf),
            ("email", Leaf),
            ("phone", Leaf),
            ("contact", Leaf),
        ])),
    ),
    (
        "wijken",
        Entries(&Fields(&[
            ("label", Leaf),
            ("bbox", Items(&Leaf)),
            ("order", Leaf),
            ("retired", Leaf),
        ])),
    ),
    (
        "teams",
        Entries(&Fields(&[
            ("label", Leaf),
            ("order", Leaf),
            ("retired", Leaf),
        ])),
    ),
]);

/// Reads the map `obj` of `doc` as far as `shape` says. `obj` must be a map
/// (or table); anything else reads as an empty map.
pub(crate) fn read_map(doc: &impl ReadDoc, obj: &ObjId, shape: Shape) -> hydrate::Map {
    let mut out = hydrate::Map::default();
    let wanted: Option<&[(&str, Shape)]> = match shape {
        Fields(fields) => Some(fields),
        Entries(_) => None,
        Leaf | Items(_) => return out,
    };
    for item in doc.map_range(obj, ..) {
        let inner = match (wanted, shape) {
            (Some(fields), _) => match fields.iter().find(|(k, _)| *k == item.key) {
                Some((_, s)) => *s,
                None => continue,
            },
            (None, Entries(inner)) => *inner,
            _ => continue,
        };
        let id = item.id();
        let value = read_value(doc, &id, item.value, inner);
        out.insert(
            item.key.into_owned(),
            MapValue {
                value,
                conflict: item.conflict,
            },
        );
    }
    out
}

fn read_list(doc: &impl ReadDoc, obj: &ObjId, inner: Shape) -> hydrate::List {
    let mut values = Vec::new();
    for item in doc.list_range(obj, ..) {
        let id = item.id();
        values.push(read_value(doc, &id, item.value, inner));
    }
    hydrate::List::from(values)
}

fn read_value(doc: &impl ReadDoc, id: &ObjId, value: ValueRef<'_>, shape: Shape) -> hydrate::Value {
    let ValueRef::Object(obj_type) = value else {
        return match value.into_value() {
            automerge::Value::Scalar(s) => hydrate::Value::Scalar(s.into_owned()),
            automerge::Value::Object(_) => hydrate::Value::map(),
        };
    };
    match obj_type {
        ObjType::Text => {
            let text = match shape {
                Leaf => doc.text(id).unwrap_or_default(),
                _ => String::new(),
            };
            hydrate::Value::text(automerge::TextEncoding::platform_default(), &text)
        }
        ObjType::Map | ObjType::Table => match shape {
            Fields(_) | Entries(_) => hydrate::Value::Map(read_map(doc, id, shape)),
            _ => hydrate::Value::map(),
        },
        ObjType::List => match shape {
            Items(inner) => hydrate::Value::List(read_list(doc, id, *inner)),
            _ => hydrate::Value::list(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    #[test]
    fn a_document_nested_far_deeper_than_the_model_reads_in_constant_stack() {
        // 20,000 levels: recursive hydrate overflows the stack long before.
        let mut d = AutoCommit::new();
        d.put(ROOT, "kind", "walk").unwrap();
        let mut obj = d.put_object(ROOT, "observations", ObjType::Map).unwrap();
        for _ in 0..20_000 {
            obj = d.put_object(&obj, "x", ObjType::Map).unwrap();
        }
        d.commit();
        let root = read_map(&d, &ROOT, WALK);
        let Some(hydrate::Value::Map(obs)) = root.get("observations") else {
            panic!("observations read as a map");
        };
        // The entry below the item level is a placeholder, not the chain.
        let Some(hydrate::Value::Map(item)) = obs.get("x") else {
            panic!("item read");
        };
        assert!(item.is_empty(), "an unknown key of an item is not read");
    }

    #[test]
    fn unknown_keys_are_not_read_and_known_ones_are() {
        let mut d = AutoCommit::new();
        d.put(ROOT, "kind", "walk").unwrap();
        d.put(ROOT, "title", "t").unwrap();
        let junk = d.put_object(ROOT, "junk", ObjType::Map).unwrap();
        for i in 0..100 {
            d.put(&junk, format!("k{i}"), i).unwrap();
        }
        let text = d.put_object(ROOT, "summary", ObjType::Text).unwrap();
        d.splice_text(&text, 0, 0, "hallo").unwrap();
        d.put_object(ROOT, "wijk", ObjType::List).unwrap();
        let root = read_map(&d, &ROOT, WALK);
        assert!(root.get("junk").is_none());
        assert_eq!(
            root.get("summary").map(|v| match v {
                hydrate::Value::Text(t) => String::from(t),
                _ => String::new(),
            }),
            Some("hallo".to_owned())
        );
        assert!(matches!(root.get("wijk"), Some(hydrate::Value::List(l)) if l.is_empty()));
        assert!(matches!(root.get("title"), Some(hydrate::Value::Scalar(_))));
    }
}
