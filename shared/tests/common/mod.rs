//! Helpers shared by the integration tests: fixed users, times, ids and documents.
#![allow(dead_code, unreachable_pub)]

use wijklog_shared::automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use wijklog_shared::{
    Catalog, DocId, Document, ItemId, NewItem, NewSpreekuur, NewWalk, Severity, Timestamp, UserId,
};

/// 2026-01-01T00:00:00Z
pub const T0: i64 = 1_767_225_600_000;

pub fn at(offset_s: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_s * 1000)
}

pub fn user(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

pub fn boa() -> UserId {
    user("boa-1")
}

pub fn doc_id(n: u8) -> DocId {
    DocId::from_bytes([n; 16])
}

pub fn item_id(n: u8) -> ItemId {
    ItemId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).expect("valid item id")
}

pub fn new_walk_init() -> NewWalk {
    NewWalk {
        title: "Avondronde".into(),
        wijk: "oostermeent".into(),
        route: "Kostmand - de Roef".into(),
        team: "team-oost".into(),
        planned_at: Some(at(-3600)),
    }
}

pub fn walk() -> Document {
    Document::new_walk(
        doc_id(1),
        &Catalog::defaults(),
        &boa(),
        at(0),
        new_walk_init(),
    )
    .expect("walk created")
}

pub fn spreekuur() -> Document {
    Document::new_spreekuur(
        doc_id(2),
        &Catalog::defaults(),
        &boa(),
        at(0),
        NewSpreekuur {
            location: "Buurthuis de Roef".into(),
            wijk: "bovenmaten".into(),
            held_on: at(0),
            team: "team-oost".into(),
        },
    )
    .expect("spreekuur created")
}

pub fn item(id: u8, category: &str, text: &str) -> NewItem {
    NewItem {
        id: Some(item_id(id)),
        category: category.into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: None,
        location: None,
        feedback_needed: false,
    }
}

/// Follows map keys from the root to an object.
pub fn obj_at(doc: &impl ReadDoc, path: &[&str]) -> ObjId {
    let mut obj = ROOT;
    for key in path {
        match doc.get(&obj, *key).expect("readable") {
            Some((Value::Object(_), id)) => obj = id,
            other => panic!("{key}: expected an object, found {other:?}"),
        }
    }
    obj
}

/// How a value is stored: "str:<s>", "int:<i>", "f64:<f>", "ts:<ms>", "bool:<b>",
/// "text:<content>", "map", "list", or "absent".
pub fn stored(doc: &impl ReadDoc, path: &[&str]) -> String {
    let (last, parents) = path.split_last().expect("non-empty path");
    let obj = obj_at(doc, parents);
    match doc.get(&obj, *last).expect("readable") {
        None => "absent".into(),
        Some((Value::Object(ObjType::Text), id)) => {
            format!("text:{}", doc.text(&id).expect("text"))
        }
        Some((Value::Object(ObjType::Map), _)) => "map".into(),
        Some((Value::Object(ObjType::List), id)) => format!("list:{}", doc.length(&id)),
        Some((Value::Object(ObjType::Table), _)) => "table".into(),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => format!("str:{s}"),
            ScalarValue::Int(i) => format!("int:{i}"),
            ScalarValue::Uint(i) => format!("uint:{i}"),
            ScalarValue::F64(f) => format!("f64:{f}"),
            ScalarValue::Timestamp(t) => format!("ts:{t}"),
            ScalarValue::Boolean(b) => format!("bool:{b}"),
            other => format!("other:{other:?}"),
        },
    }
}
